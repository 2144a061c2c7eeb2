//! What an interrupted action left on a host reached over SSH: the remote counterpart of
//! [`super::evidence::survey`], for the question resume (or a walk whose connection dropped)
//! asks about an instance whose outcome is unknown.
//!
//! It only reads, over the host's [`Session`] (SFTP: the folder's listing, metadata, and the
//! content streamed through SHA-256 on this side): for a `write_file`, is the target file there
//! with the content to write, the old content, or missing, and is a temporary file
//! (`.NAME.stepwise-part`) left beside it; for a `copy`, the same for every file, the content
//! compared with the source's on this machine (the package lives on the jump host). Names are
//! matched ignoring case where no name matches exactly, as the copy itself matches them. For a
//! `create_folder`, [`folder`]: is the folder there (looked at without following a link). A
//! command leaves nothing a survey can look at: the engine says what the journal knows of its
//! exit instead.

use std::sync::atomic::AtomicBool;

use super::evidence::{FileEvidence, FileState, Survey};
use super::fsops::{self, Lookup, Pick};
use super::remote::{host_path, join_host, sha256};
use super::{check_folder, missing_params};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, CopyAction, WriteFileAction};
use crate::target::ssh::{Kind, Session};

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

/// What an interrupted `create_folder` left on its host; `None` for any other action.
pub fn folder(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    s: &Session,
) -> Option<super::evidence::FolderEvidence> {
    match action {
        Action::CreateFolder(a) => {
            Some(super::create_folder::evidence_remote(plan, instance, a, s))
        }
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
    let listing = s.list(&dir);
    Survey {
        dest,
        files: vec![file(s, &dir, &listing, &a.file, expected)],
        copy: false,
    }
}

fn copy(plan: &Plan, instance: &Instance, a: &CopyAction, s: &Session) -> Survey {
    let dest = format!("{} on {}", plan.resolved.show(&a.to), s.target.host);
    let from_shown = plan.resolved.show(&a.from);
    let source = check_folder(plan, instance, &a.from, "source folder", false)
        .0
        .and_then(|d| fsops::Listing::read(&d).ok());
    let dir = host_path(s, &plan.resolved.fill(&a.to));
    let listing = s.list(&dir);
    let files = a
        .files
        .iter()
        .map(|f| {
            let name = &f.value;
            let expected = match source.as_ref().map(|l| l.find(name)) {
                Some(Lookup::Found(e)) => fsops::sha256_file(&e.path)
                    .map(|h| (e.size(), h))
                    .map_err(|e| {
                        format!(
                            "the source cannot be read: {}",
                            crate::error::describe_io(&e)
                        )
                    }),
                _ => Err(format!("the source is not in {from_shown}")),
            };
            file(s, &dir, &listing, name, expected)
        })
        .collect();
    Survey {
        dest,
        files,
        copy: true,
    }
}

/// One file on the host: its state against what it should hold, and a temporary file beside it.
fn file(
    s: &Session,
    dir: &str,
    listing: &Result<Vec<String>, String>,
    name: &str,
    expected: Expected,
) -> FileEvidence {
    let host = &s.target.host;
    let names = match listing {
        Ok(names) => names,
        Err(e) => {
            return FileEvidence {
                name: name.to_string(),
                state: FileState::Unknown(format!("its folder cannot be listed on {host}: {e}")),
                partial: None,
            };
        }
    };
    let partial = match fsops::pick(names, &format!(".{name}.stepwise-part")) {
        Pick::One(p) => matches!(
            s.metadata(&join_host(s, dir, p)),
            Ok(Some(m)) if m.kind == Kind::File
        )
        .then(|| p.to_string()),
        _ => None,
    };
    let state = match fsops::pick(names, name) {
        Pick::Missing => FileState::Missing,
        Pick::Ambiguous(many) => {
            FileState::Unknown(format!("{} files match it ignoring case", many.len()))
        }
        Pick::One(found) => {
            let path = join_host(s, dir, found);
            match s.metadata(&path) {
                Err(e) => FileState::Unknown(format!("it cannot be looked at on {host}: {e}")),
                Ok(None) => FileState::Missing,
                Ok(Some(m)) if m.kind != Kind::File => {
                    FileState::Unknown(format!("{}, not a file", m.kind_words()))
                }
                Ok(Some(m)) => match expected {
                    Err(why) => FileState::Unknown(why),
                    // Another size is another content: no need to read it.
                    Ok((size, _)) if size != m.size => FileState::OldVersion,
                    Ok((_, want)) => match s.sha256(&path, &AtomicBool::new(false)) {
                        Err(e) => FileState::Unknown(format!("it cannot be read on {host}: {e}")),
                        Ok((got, _)) if got == want => FileState::InPlace,
                        Ok(_) => FileState::OldVersion,
                    },
                },
            }
        }
    };
    FileEvidence {
        name: name.to_string(),
        state,
        partial,
    }
}

/// The temporary files (`.NAME.stepwise-part`, plain files only) an interrupted attempt of this
/// action left beside its targets on the host, as paths on the host.
pub fn leftovers(plan: &Plan, action: &Action, s: &Session) -> Vec<String> {
    let (dir, names): (_, Vec<String>) = match action {
        Action::Copy(a) => (&a.to, a.files.iter().map(|f| f.value.clone()).collect()),
        Action::WriteFile(a) => (&a.dir, vec![a.file.clone()]),
        _ => return Vec::new(),
    };
    if !missing_params(plan, dir).is_empty() {
        return Vec::new();
    }
    let dir = host_path(s, &plan.resolved.fill(dir));
    let Ok(listing) = s.list(&dir) else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(
            |name| match fsops::pick(&listing, &format!(".{name}.stepwise-part")) {
                Pick::One(p) => {
                    let path = join_host(s, &dir, p);
                    matches!(s.metadata(&path), Ok(Some(m)) if m.kind == Kind::File).then_some(path)
                }
                _ => None,
            },
        )
        .collect()
}
