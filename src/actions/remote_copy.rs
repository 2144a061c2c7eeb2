//! `copy` to a host over SSH: from the package on this machine to a folder on the instance's
//! host, through the host's [`Session`] (SFTP on the connection kept for that host).
//!
//! The source side is the local copy's: the same survey of the package folder and the same
//! findings ([`copy::survey_sources`], [`copy::check_sources`]). The destination is looked at
//! on the host, read-only (the folder exists and is writable, which file each name stands for
//! ignoring case, which already hold the source's content, the free space the server reports
//! through `statvfs@openssh.com`), and judged by the local copy's own rules and words
//! ([`copy::check_destination`], [`copy::needs`], [`copy::room_finding`]), so a copy says the
//! same thing whichever side of the wire its destination is on.
//!
//! Execution, file by file: a file already there with the source's content is skipped (a
//! resumed copy finishes where it stopped); the file it replaces is backed up into the run
//! folder (`backup/<instance key>/<name>`, once, with the replaced file's permissions, as a
//! local copy does); the source is uploaded to `.NAME.stepwise-part` beside the destination,
//! created with SFTP's create-and-exclusive flags after whatever was at that name is removed,
//! so nothing existing is followed or written through; hashed while it is read (once); then the
//! temporary file is **read back over SFTP** and its SHA-256 compared with the source's (and
//! the manifest's, where it gives one) before it is renamed into place
//! (`posix-rename@openssh.com`, or the shell's move where the server lacks it).
//!
//! Why read back rather than run `sha256sum` / `Get-FileHash` on the host: the read-back needs
//! nothing but the SFTP server (no program that may be missing, no shell whose quoting and
//! output format differ between `sh`, `cmd` and PowerShell), so it verifies a Windows host and
//! a POSIX host alike; it costs a second transfer of the file over the connection.
//!
//! Never here: a write on this machine other than the run folder's backups, or a write on the
//! host outside the destination folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::copy::{self, DestFile, DestFound};
use super::fsops::{self, Pick};
use super::remote::{folder, host_path, join_host, move_failure, move_into_place};
use super::{
    Done, ExecContext, Failure, FailureKind, Finding, Outcome, Progress, Severity, instance_dir,
    missing_params, plural, set_hints,
};
use crate::plan::{Instance, Plan};
use crate::runbook::CopyAction;
use crate::target::Shell;
use crate::target::ssh::{Kind, Session, UploadError};

/// The test-only hook: a file name (as the runbook spells it) whose uploaded temporary file is
/// altered on the host before it is read back, so a test can prove the read-back catches it.
const ALTER_UPLOAD: &str = "STEPWISE_TEST_ALTER_UPLOAD";

/// The destination side, looked at on the host.
struct Destination {
    /// The folder on the host, when it can be used.
    dir: Option<String>,
    /// Per file of the copy, in the runbook's order.
    files: Vec<HostFile>,
}

/// What is at one file's name on the host.
struct HostFile {
    dest: DestFile,
    /// The permissions of the file there, when the server gives them.
    mode: Option<u32>,
    /// The SHA-256 of the file there, when it was read to compare it with the source.
    sha256: Option<String>,
}

/// Looks at both sides (read-only): the findings, the source survey and the destination.
fn survey<'r>(
    plan: &Plan<'r>,
    instance: &Instance,
    a: &CopyAction,
    s: &Session,
    backup_dir: Option<&Path>,
) -> (Vec<Finding>, copy::Survey<'r>, Destination) {
    let src = copy::survey_sources(plan, instance, a);
    let mut out = src.from_findings.clone();
    if src.from.is_some() {
        out.extend(copy::check_sources(plan, instance, a, &src));
    }
    let host = &s.target.host;
    let shown_dir = plan.resolved.show(&a.to);
    let to_shown = format!("{shown_dir} on {host}");
    let missing = missing_params(plan, &a.to);
    let mut dest = Destination {
        dir: None,
        files: Vec::new(),
    };
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
        out.push(Finding::warning(
            instance,
            format!("destination folder {to_shown}"),
            format!("not checked: {} has no value", names.join(", ")),
            format!("Give {}", set_hints(&missing)),
        ));
        return (out, src, dest);
    }
    let dir = host_path(s, &plan.resolved.fill(&a.to));
    let f = folder(s, instance, &dir, &shown_dir, "destination folder", true);
    let usable = f.severity != Severity::Blocking;
    out.push(f);
    if !usable {
        return (out, src, dest);
    }
    let names = match s.list(&dir) {
        Ok(n) => n,
        Err(e) => {
            out.push(Finding::blocking(
                instance,
                format!("destination folder {to_shown}"),
                format!("cannot be listed: {e}"),
                format!(
                    "Give {} read access to {shown_dir} on {host}",
                    s.target.user
                ),
            ));
            return (out, src, dest);
        }
    };
    for f in &src.files {
        match look(s, &dir, &names, f, a.backup) {
            Ok(d) => dest.files.push(d),
            Err(e) => {
                out.push(Finding::blocking(
                    instance,
                    format!("{} in {to_shown}", f.name),
                    format!("cannot be looked at: {e}"),
                    format!("Check the connection to {host}"),
                ));
                return (out, src, dest);
            }
        }
    }
    let dests: Vec<DestFile> = dest.files.iter().map(|h| h.dest.clone()).collect();
    out.extend(copy::check_destination(instance, a, &to_shown, &dests));
    out.extend(room(instance, a, s, &dir, &to_shown, &dests, backup_dir));
    dest.dir = Some(dir);
    (out, src, dest)
}

/// What is at one file's name in the host's folder (read-only): the file a name stands for
/// ignoring case, whether it already holds the source's content (sizes first, then the SHA-256
/// of both), whether an interrupted attempt left its temporary file.
fn look(
    s: &Session,
    dir: &str,
    names: &[String],
    f: &copy::FileSurvey,
    backup: bool,
) -> Result<HostFile, String> {
    let source = f.source_entry();
    let partial = matches!(
        fsops::pick(names, &format!(".{}.stepwise-part", f.name)),
        Pick::One(_)
    );
    let mut mode = None;
    let mut in_place = false;
    let mut sha256 = None;
    let found = match fsops::pick(names, &f.name) {
        Pick::Missing => DestFound::Missing,
        Pick::Ambiguous(many) => DestFound::Ambiguous(many),
        Pick::One(name) => {
            let path = join_host(s, dir, name);
            match s.metadata(&path)? {
                None => DestFound::Missing,
                Some(meta) => {
                    mode = meta.mode;
                    let is_file = meta.kind == Kind::File;
                    if is_file && let Some(src) = source.filter(|e| e.size() == meta.size) {
                        let here = fsops::sha256_file(&src.path)
                            .map_err(|e| crate::error::describe_io(&e))?;
                        let never = std::sync::atomic::AtomicBool::new(false);
                        let there = s.sha256(&path, &never)?.0;
                        in_place = there == here;
                        sha256 = Some(there);
                    }
                    DestFound::Found {
                        name: name.to_string(),
                        not_a_file: (!is_file).then(|| meta.kind_words()),
                        size: meta.size,
                        readable: in_place || !backup || readable(s, &path),
                    }
                }
            }
        }
    };
    Ok(HostFile {
        dest: DestFile {
            name: f.name.clone(),
            found,
            in_place,
            partial,
            source_size: source.map(fsops::Entry::size),
        },
        mode,
        sha256,
    })
}

/// Whether the account on the host may read a file (asked of a POSIX shell with `test -r`; a
/// Windows shell cannot be asked without opening it, so it is taken as readable there and a
/// backup that cannot read it fails with the reason).
fn readable(s: &Session, path: &str) -> bool {
    match s.target.shell {
        Shell::Sh => {
            let line = format!("test -r {}", crate::target::shell::sh_word(path));
            !matches!(s.query(&line, super::remote::LOOKUP_TIMEOUT), Ok((code, _)) if code != 0)
        }
        _ => true,
    }
}

/// Room for the new files on the host, and for the backups in the run folder on this machine.
fn room(
    instance: &Instance,
    a: &CopyAction,
    s: &Session,
    dir: &str,
    to_shown: &str,
    dests: &[DestFile],
    backup_dir: Option<&Path>,
) -> Vec<Finding> {
    let (new, backups) = copy::needs(a, dests);
    let mut out = vec![match s.free_space(dir) {
        Ok(Some(free)) => copy::room_finding(instance, to_shown, "the new files", new, free),
        Ok(None) | Err(_) => Finding::warning(
            instance,
            format!("free disk space for {to_shown}"),
            format!(
                "cannot be checked: the SFTP server of {} does not report it",
                s.target.host
            ),
            format!(
                "Make sure {to_shown} has room for {}",
                fsops::human_bytes(new)
            ),
        ),
    }];
    if let Some(b) = backup_dir.filter(|_| backups > 0) {
        out.push(copy::local_room_finding(
            instance,
            b,
            "the backups",
            backups,
        ));
    }
    out
}

/// Checks a copy to a host, read-only on the host and on this machine.
pub(super) fn check(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    s: &Session,
    backup_dir: Option<&Path>,
) -> Vec<Finding> {
    survey(plan, instance, a, s, backup_dir).0
}

/// Copies the files to the host (see the module's documentation for the steps).
pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    let (findings, src, dest) = survey(plan, instance, a, s, Some(ctx.backup_dir));
    let (Some(dir), Some(_)) = (dest.dir.as_deref(), src.from.as_ref()) else {
        return Err(Failure::not_ready(&findings));
    };
    if findings.iter().any(|f| f.severity == Severity::Blocking) {
        return Err(Failure::not_ready(&findings));
    }
    let host = &s.target.host;
    let to_shown = format!("{} on {host}", plan.resolved.show(&a.to));
    let total: u64 = dest
        .files
        .iter()
        .filter(|h| !h.dest.in_place)
        .filter_map(|h| h.dest.source_size)
        .sum();
    let manifest = copy::manifest_name(a);
    let mut base = 0u64;
    let mut done = Vec::new();
    let mut copied = 0;
    for (f, h) in src.files.iter().zip(&dest.files) {
        let (d, mode) = (&h.dest, &h.mode);
        if ctx.cancel.load(Ordering::SeqCst) {
            return Err(
                Failure::new(FailureKind::Cancelled, "the copy was cancelled").with_done(done),
            );
        }
        let Some(source) = f.source_entry() else {
            continue;
        };
        let existing = match &d.found {
            DestFound::Found { name, .. } => Some(name.as_str()),
            _ => None,
        };
        let target_name = existing.unwrap_or(&source.name);
        let target = join_host(s, dir, target_name);
        if d.in_place {
            (ctx.progress)(Progress::FileCopied(&super::FileCopied {
                name: f.name.clone(),
                path: target.clone().into(),
                bytes: source.size(),
                sha256: h.sha256.clone().unwrap_or_default(),
                in_place: true,
            }));
            done.push(Done::AlreadyInPlace {
                name: f.name.clone(),
                to: target.into(),
            });
            continue;
        }
        let backup = match existing {
            Some(name) if a.backup => match back_up(s, &target, name, *mode, instance, ctx) {
                Ok(path) => Some(path),
                Err(e) => return Err(e.with_done(done)),
            },
            _ => None,
        };
        let tmp = join_host(s, dir, &format!(".{target_name}.stepwise-part"));
        let mode = match (existing, mode) {
            (Some(_), Some(m)) => *m,
            _ => new_file_mode(&source.meta),
        };
        let total_done = base;
        let file_name = source.name.clone();
        let progress = &mut *ctx.progress;
        let mut report = |n: u64| {
            progress(Progress::Bytes {
                file: &file_name,
                done: total_done + n,
                total,
            })
        };
        let sent = upload(s, &source.path, &tmp, mode, &ctx.cancel, &mut report).and_then(|sent| {
            verify(s, f, &tmp, &sent, &manifest, &ctx.cancel)?;
            move_into_place(s, &tmp, &target).map_err(|e| move_failure(&tmp, &target, host, e))?;
            Ok(sent)
        });
        let (bytes, sha256) = match sent {
            Ok(sent) => sent,
            // A move without an answer may still happen: the temporary file is left for the
            // in-doubt survey to find (and to remove once the instance is settled).
            Err(e) if e.kind == FailureKind::OutcomeUnknown => return Err(e.with_done(done)),
            Err(e) => {
                let _ = s.remove(&tmp);
                let unchanged = format!("; {target} on {host} is unchanged");
                let mut e = e.with_done(done);
                if !e.message.ends_with(&unchanged) && e.kind != FailureKind::Cancelled {
                    e.message.push_str(&unchanged);
                }
                return Err(e);
            }
        };
        // The SHA-256 read back from the host, which `verify` found equal to the source's.
        (ctx.progress)(Progress::FileCopied(&super::FileCopied {
            name: f.name.clone(),
            path: target.clone().into(),
            bytes,
            sha256,
            in_place: false,
        }));
        base += bytes;
        copied += 1;
        done.push(Done::Copied {
            name: f.name.clone(),
            to: target.into(),
            bytes,
            backup,
        });
    }
    let already = done.len() - copied;
    let mut summary = format!("copied {} to {to_shown}", plural(copied, "file", "files"));
    if already > 0 {
        summary.push_str(&format!(" ({already} already in place)"));
    }
    Ok(Outcome {
        summary,
        done,
        command: None,
    })
}

/// The permissions of a new file on the host: the source's without write access for anyone
/// but the owner, as a local copy gives a new file (`0o644` from a system without modes).
fn new_file_mode(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o755
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o644
    }
}

/// Uploads the source to the temporary name on the host, created anew; gives the bytes sent
/// and their SHA-256.
fn upload(
    s: &Session,
    from: &Path,
    tmp: &str,
    mode: u32,
    cancel: &std::sync::atomic::AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, String), Failure> {
    let host = &s.target.host;
    let what = format!("cannot copy {} to {tmp} on {host}", from.display());
    crate::target::ssh::hold("write");
    s.remove(tmp)
        .map_err(|e| Failure::new(FailureKind::Io, format!("{what}: {e}")))?;
    let mut file = std::fs::File::open(from).map_err(|e| {
        Failure::new(
            FailureKind::Io,
            format!("{what}: {}", crate::error::describe_io(&e)),
        )
    })?;
    s.upload_new(&mut file, tmp, mode, cancel, progress)
        .map_err(|e| match e {
            UploadError::Cancelled => {
                Failure::new(FailureKind::Cancelled, format!("{what}: cancelled"))
            }
            UploadError::Read(e) => Failure::new(
                FailureKind::Io,
                format!("{what}: {}", crate::error::describe_io(&e)),
            ),
            UploadError::Write(e) => Failure::new(FailureKind::Io, format!("{what}: {e}")),
        })
}

/// Reads the uploaded file back from the host and compares it with what was sent (size and
/// SHA-256) and with the manifest's size and SHA-256 where it gives them.
fn verify(
    s: &Session,
    f: &copy::FileSurvey,
    tmp: &str,
    (bytes, sent): &(u64, String),
    manifest: &str,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(), Failure> {
    let host = &s.target.host;
    if let Ok(name) = std::env::var(ALTER_UPLOAD)
        && name == f.name
    {
        let _ = s.overwrite_start(tmp, b"altered by STEPWISE_TEST_ALTER_UPLOAD");
    }
    let (got, size) = s.sha256(tmp, cancel).map_err(|e| {
        Failure::new(
            FailureKind::Io,
            format!("{tmp} on {host}: cannot be read back after copying: {e}"),
        )
    })?;
    let wrong = |message: String| Err(Failure::new(FailureKind::Verify, message));
    if size != *bytes {
        return wrong(format!(
            "{tmp} on {host}: {size} bytes read back after copying, expected {bytes} (the size of {})",
            f.name
        ));
    }
    if got != *sent {
        return wrong(format!(
            "{tmp} on {host}: SHA-256 {got} read back after copying, expected {sent} (the SHA-256 of {})",
            f.name
        ));
    }
    if let Some(m) = f.manifest {
        if let Some(expected) = m.size
            && expected != size
        {
            return wrong(format!(
                "{tmp} on {host}: {size} bytes after copying, expected {expected} ({manifest})"
            ));
        }
        if let Some(expected) = &m.sha256
            && !expected.eq_ignore_ascii_case(&got)
        {
            return wrong(format!(
                "{tmp} on {host}: SHA-256 {got} after copying, expected {expected} ({manifest})"
            ));
        }
    }
    Ok(())
}

/// Backs up a file of the host into the instance's backup folder on this machine, under its
/// name on the host, unless an earlier attempt already did (that backup holds the original:
/// it is kept). Written through a temporary file created anew, with the replaced file's
/// permissions, synced, then renamed into place: the same rules as a local backup.
fn back_up(
    s: &Session,
    target: &str,
    name: &str,
    mode: Option<u32>,
    instance: &Instance,
    ctx: &ExecContext<'_>,
) -> Result<PathBuf, Failure> {
    let dir = instance_dir(ctx.backup_dir, instance);
    let backup = dir.join(name);
    if std::fs::symlink_metadata(&backup).is_ok_and(|m| m.is_file()) {
        return Ok(backup);
    }
    let host = &s.target.host;
    let what = format!("cannot back up {target} of {host} to {}", backup.display());
    let io = |e: std::io::Error| {
        Failure::new(
            FailureKind::Io,
            format!("{what}: {}", crate::error::describe_io(&e)),
        )
    };
    crate::fsutil::create_private_dir_all(&dir).map_err(io)?;
    let tmp = fsops::temp_path(&backup);
    let result = (|| {
        use std::io::Write;
        let mut file = crate::fsutil::create_fresh(&tmp).map_err(io)?;
        s.read_through(target, &ctx.cancel, &mut |b| file.write_all(b))
            .map_err(|e| Failure::new(FailureKind::Io, format!("{what}: {e}")))?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        file.sync_all().map_err(io)?;
        crate::fsutil::replace(&tmp, &backup).map_err(io)?;
        crate::fsutil::sync_dir(&dir);
        Ok(())
    })();
    if let Err(e) = result {
        fsops::remove_quietly(&tmp);
        if ctx.cancel.load(Ordering::SeqCst) {
            return Err(Failure::new(
                FailureKind::Cancelled,
                format!("{what}: cancelled"),
            ));
        }
        return Err(e);
    }
    Ok(backup)
}
