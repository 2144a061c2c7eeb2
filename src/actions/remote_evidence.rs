//! What an interrupted action left on a host reached over SSH: the remote counterpart of
//! [`super::evidence::survey`], for the question resume (or a walk whose connection dropped)
//! asks about an instance whose outcome is unknown.
//!
//! It only reads, over the host's [`Session`] (SFTP `stat` and `read`): for a `write_file`, is
//! the target file there with the content to write (compared by SHA-256), the old content, or
//! missing, and is a temporary file (`.NAME.stepwise-part`) left beside it; for a `copy`, the
//! same for every file, the content compared with the source's on this machine (the package
//! lives on the jump host). A command leaves nothing a survey can look at: the engine says what
//! the journal knows of its exit instead.

use super::evidence::{FileEvidence, FileState, Survey};
use super::fsops::{Listing, Lookup};
use super::remote::{host_path, join_host};
use super::{check_folder, missing_params};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, CopyAction, WriteFileAction};
use crate::target::ssh::{Session, Stat};

/// What a file should hold: its size and SHA-256, or why that cannot be known.
type Expected = Result<(u64, String), String>;

/// Surveys what an interrupted action left on its host: `None` for an action that leaves no
/// files to look at (a command, a check, a manual step).
pub fn survey(plan: &Plan, instance: &Instance, action: &Action, s: &Session) -> Option<Survey> {
    match action {
        Action::WriteFile(a) => Some(write_file(plan, a, s)),
        Action::Copy(a) => Some(copy(plan, instance, a, s)),
        _ => None,
    }
}

fn write_file(plan: &Plan, a: &WriteFileAction, s: &Session) -> Survey {
    let dest = format!("{} on {}", plan.resolved.show(&a.dir), s.target.host);
    let mut missing = missing_params(plan, &a.dir);
    missing.extend(missing_params(plan, &a.content));
    let expected = if missing.is_empty() {
        let content = plan.resolved.fill(&a.content);
        Ok((content.len() as u64, sha256(content.as_bytes())))
    } else {
        Err("a parameter it needs has no value".to_string())
    };
    let dir = host_path(s, &plan.resolved.fill(&a.dir));
    Survey {
        dest,
        files: vec![file(s, &dir, &a.file, expected)],
        copy: false,
    }
}

fn copy(plan: &Plan, instance: &Instance, a: &CopyAction, s: &Session) -> Survey {
    let dest = format!("{} on {}", plan.resolved.show(&a.to), s.target.host);
    let from_shown = plan.resolved.show(&a.from);
    let source = check_folder(plan, instance, &a.from, "source folder", false)
        .0
        .and_then(|d| Listing::read(&d).ok());
    let dir = host_path(s, &plan.resolved.fill(&a.to));
    let files = a
        .files
        .iter()
        .map(|f| {
            let name = &f.value;
            let expected = match source.as_ref().map(|l| l.find(name)) {
                Some(Lookup::Found(e)) => local_sha256(&e.path).map_err(|e| {
                    format!(
                        "the source cannot be read: {}",
                        crate::error::describe_io(&e)
                    )
                }),
                _ => Err(format!("the source is not in {from_shown}")),
            };
            file(s, &dir, name, expected)
        })
        .collect();
    Survey {
        dest,
        files,
        copy: true,
    }
}

/// One file on the host: its state against what it should hold, and a temporary file beside it.
fn file(s: &Session, dir: &str, name: &str, expected: Expected) -> FileEvidence {
    let path = join_host(s, dir, name);
    let part_name = format!(".{name}.stepwise-part");
    let partial = matches!(
        s.stat(&join_host(s, dir, &part_name)),
        Ok(Stat::File { .. })
    )
    .then_some(part_name);
    let state = match s.stat(&path) {
        Err(e) => FileState::Unknown(format!("it cannot be looked at on {}: {e}", s.target.host)),
        Ok(Stat::Missing) => FileState::Missing,
        Ok(Stat::Folder) => FileState::Unknown("a folder is there".to_string()),
        Ok(Stat::File { size }) => match expected {
            Err(why) => FileState::Unknown(why),
            // Another size is another content: no need to read it.
            Ok((want_size, _)) if want_size != size => FileState::OldVersion,
            Ok((_, want)) => match s.read(&path) {
                Err(e) => {
                    FileState::Unknown(format!("it cannot be read on {}: {e}", s.target.host))
                }
                Ok(bytes) if sha256(&bytes) == want => FileState::InPlace,
                Ok(_) => FileState::OldVersion,
            },
        },
    };
    FileEvidence {
        name: name.to_string(),
        state,
        partial,
    }
}

/// The size and SHA-256 of a file on this machine, read in pieces.
fn local_sha256(path: &std::path::Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, hex))
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
