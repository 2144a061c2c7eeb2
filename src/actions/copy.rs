//! `copy`: files by name from a folder to a folder, backing up what they replace and verifying
//! each against its source and the article's manifest.
//!
//! [`survey`] looks at both folders once (read-only) and is the ground truth for the check and
//! for the execution: the execution runs the check first and refuses to start on a blocking
//! finding, then works file by file from the same survey.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::fsops::{self, Entry, Listing, Lookup};
use super::{
    Done, ExecContext, Failure, FailureKind, Finding, Outcome, Progress, back_up, check_folder,
    copy_failure, or_hint, plural, redirect_hint,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{CopyAction, ManifestFile, TableRows};

/// One file of a copy, as found on disk.
pub(super) struct FileSurvey<'r> {
    /// The name as the runbook spells it.
    pub(super) name: String,
    pub(super) source: Lookup,
    /// The file-table rows that can stand for it.
    rows: TableRows<'r>,
    /// The row its size is checked against: the row that names it, the one row cut short that
    /// it starts with, or among several such rows the one of its size.
    pub(super) manifest: Option<&'r ManifestFile>,
    /// What is at the destination under the same name (ignoring case).
    dest: Lookup,
    /// Whether the destination already holds the source's content.
    in_place: bool,
    /// Whether an interrupted attempt left a temporary file for it at the destination.
    partial: bool,
}

impl FileSurvey<'_> {
    pub(super) fn source_entry(&self) -> Option<&Entry> {
        match &self.source {
            Lookup::Found(e) if e.is_file() => Some(e),
            _ => None,
        }
    }

    fn dest_entry(&self) -> Option<&Entry> {
        match &self.dest {
            Lookup::Found(e) => Some(e),
            _ => None,
        }
    }

    fn same_content(&self) -> bool {
        match (self.source_entry(), self.dest_entry()) {
            (Some(s), Some(d)) => {
                d.is_file()
                    && d.size() == s.size()
                    && fsops::same_content(&s.path, &d.path).unwrap_or(false)
            }
            _ => false,
        }
    }
}

/// Both folders and every file, looked at once.
pub(super) struct Survey<'r> {
    pub(super) from: Option<PathBuf>,
    pub(super) from_shown: String,
    to: Option<PathBuf>,
    to_shown: String,
    pub(super) files: Vec<FileSurvey<'r>>,
    pub(super) from_findings: Vec<Finding>,
    to_findings: Vec<Finding>,
}

fn survey<'r>(plan: &Plan<'r>, instance: &Instance, a: &CopyAction) -> Survey<'r> {
    survey_in(plan, instance, a, true)
}

/// The source side only, on this machine, for a copy to a host over SSH (whose destination
/// is looked at there): every file's destination is left `Missing` and not looked at.
pub(super) fn survey_sources<'r>(
    plan: &Plan<'r>,
    instance: &Instance,
    a: &CopyAction,
) -> Survey<'r> {
    survey_in(plan, instance, a, false)
}

fn survey_in<'r>(
    plan: &Plan<'r>,
    instance: &Instance,
    a: &CopyAction,
    local_dest: bool,
) -> Survey<'r> {
    let (mut from, mut from_findings) =
        check_folder(plan, instance, &a.from, "source folder", false);
    let (mut to, mut to_findings) = match local_dest {
        true => check_folder(plan, instance, &a.to, "destination folder", true),
        false => (None, Vec::new()),
    };
    let from_list = list(plan, instance, &a.from, &mut from, &mut from_findings);
    let to_list = list(plan, instance, &a.to, &mut to, &mut to_findings);
    let runbook = plan.runbook;
    let files = a
        .files
        .iter()
        .map(|f| {
            let mut file = FileSurvey {
                name: f.value.clone(),
                source: from_list
                    .as_ref()
                    .map_or(Lookup::Missing, |l| l.find(&f.value)),
                rows: runbook.table_rows(a.manifest.as_ref().map(|m| m.value.as_str()), &f.value),
                manifest: None,
                dest: to_list
                    .as_ref()
                    .map_or(Lookup::Missing, |l| l.find(&f.value)),
                in_place: false,
                partial: to_list.as_ref().is_some_and(|l| {
                    matches!(
                        l.find(&format!(".{}.stepwise-part", f.value)),
                        Lookup::Found(_)
                    )
                }),
            };
            file.in_place = file.same_content();
            file.manifest = match file.source_entry() {
                Some(e) => file.rows.row_for(e.size()),
                None => match &file.rows {
                    TableRows::Named(r) | TableRows::CutShort(r) => Some(r),
                    _ => None,
                },
            };
            file
        })
        .collect();
    Survey {
        from_shown: plan.resolved.show(&a.from),
        to_shown: plan.resolved.show(&a.to),
        from,
        to,
        files,
        from_findings,
        to_findings,
    }
}

/// Lists a folder the copy needs; a folder that cannot be listed is blocking (and not used).
fn list(
    plan: &Plan,
    instance: &Instance,
    t: &crate::runbook::Template,
    dir: &mut Option<PathBuf>,
    findings: &mut Vec<Finding>,
) -> Option<Listing> {
    let path = dir.as_deref()?;
    match Listing::read(path) {
        Ok(l) => Some(l),
        Err(e) => {
            let shown = plan.resolved.show(t);
            findings.clear();
            findings.push(Finding::blocking(
                instance,
                format!("folder {shown}"),
                format!("cannot be listed: {}", crate::error::describe_io(&e)),
                format!("Give the account that runs stepwise read access to {shown}"),
            ));
            *dir = None;
            None
        }
    }
}

/// The manifest id named in findings: `manifest `files``, or `the manifests`.
pub(super) fn manifest_name(a: &CopyAction) -> String {
    match &a.manifest {
        Some(m) => format!("manifest `{}`", m.value),
        None => "the manifest".to_string(),
    }
}

pub(super) fn check(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    backup_dir: Option<&Path>,
) -> Vec<Finding> {
    let s = survey(plan, instance, a);
    check_survey(plan, instance, a, &s, backup_dir)
}

fn check_survey(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    s: &Survey,
    backup_dir: Option<&Path>,
) -> Vec<Finding> {
    let mut out = s.from_findings.clone();
    if s.from.is_some() {
        out.extend(check_sources(plan, instance, a, s));
    }
    out.extend(s.to_findings.iter().cloned());
    if s.to.is_some() {
        let dests = dest_files(s);
        out.extend(check_destination(instance, a, &s.to_shown, &dests));
        out.extend(check_room(instance, a, s, &dests, backup_dir));
    }
    out
}

/// What is at the destination for one file of a copy, wherever the destination is (this
/// machine, or a host over SSH): what the destination findings, the room needed and the
/// execution are decided from.
#[derive(Clone)]
pub(super) struct DestFile {
    /// The name as the runbook spells it.
    pub(super) name: String,
    pub(super) found: DestFound,
    /// The destination already holds the source's content.
    pub(super) in_place: bool,
    /// An interrupted attempt left a temporary file for it.
    pub(super) partial: bool,
    /// The source's size, when the source is there.
    pub(super) source_size: Option<u64>,
}

/// What is at a file's destination name (matched ignoring case).
#[derive(Clone)]
pub(super) enum DestFound {
    Missing,
    /// Several names match ignoring case and none exactly.
    Ambiguous(Vec<String>),
    Found {
        /// The name as it is at the destination.
        name: String,
        /// What it is when it is not a file (`a folder`, `a named pipe (FIFO)`).
        not_a_file: Option<&'static str>,
        size: u64,
        /// Whether it can be read (to back it up).
        readable: bool,
    },
}

fn dest_files(s: &Survey) -> Vec<DestFile> {
    s.files
        .iter()
        .map(|f| DestFile {
            name: f.name.clone(),
            found: match &f.dest {
                Lookup::Missing => DestFound::Missing,
                Lookup::Ambiguous(names) => DestFound::Ambiguous(names.clone()),
                Lookup::Found(d) => DestFound::Found {
                    name: d.name.clone(),
                    not_a_file: (!d.is_file()).then(|| fsops::kind(&d.meta)),
                    size: d.size(),
                    readable: f.in_place || fsops::readable(&d.path),
                },
            },
            in_place: f.in_place,
            partial: f.partial,
            source_size: f.source_entry().map(Entry::size),
        })
        .collect()
}

pub(super) fn check_sources(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    s: &Survey,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut verified = 0;
    let mut unlisted = Vec::new();
    let mut cut_short = Vec::new();
    let from = &s.from_shown;
    let manifest = manifest_name(a);
    for f in &s.files {
        match &f.source {
            Lookup::Missing => out.push(Finding::blocking(
                instance,
                format!("file {} in {from}", f.name),
                "not found (names are matched ignoring case)",
                or_hint(
                    format!("Extract the whole package into {from}"),
                    redirect_hint(plan, &a.from, "the folder that has it"),
                ),
            )),
            Lookup::Ambiguous(names) => out.push(Finding::blocking(
                instance,
                format!("file {} in {from}", f.name),
                format!(
                    "{} files match it ignoring case: {}",
                    names.len(),
                    names.join(", ")
                ),
                "Keep only the file from the package; Windows cannot tell them apart",
            )),
            Lookup::Found(e) if !e.is_file() => out.push(Finding::blocking(
                instance,
                format!("file {} in {from}", f.name),
                format!("{} is {}, not a file", e.name, fsops::kind(&e.meta)),
                format!("Extract the package into {from} again"),
            )),
            Lookup::Found(e) => {
                let mut ok = true;
                if !fsops::readable(&e.path) {
                    ok = false;
                    out.push(Finding::blocking(
                        instance,
                        format!("file {} in {from}", e.name),
                        "cannot be read: permission denied",
                        "Give the account that runs stepwise read access to the package",
                    ));
                }
                match f.manifest {
                    Some(m) => {
                        if let Some(expected) = m.size
                            && expected != e.size()
                        {
                            ok = false;
                            out.push(Finding::blocking(
                                instance,
                                format!("size of {} in {from}", e.name),
                                format!(
                                    "{} bytes; {manifest} says {expected} bytes",
                                    e.size()
                                ),
                                "The file is incomplete or not the one from the package: extract the package again",
                            ));
                        }
                        if ok && let Some(expected) = &m.sha256 {
                            match fsops::sha256_file(&e.path) {
                                Ok(found) if found.eq_ignore_ascii_case(expected) => {}
                                Ok(found) => {
                                    ok = false;
                                    out.push(Finding::blocking(
                                        instance,
                                        format!("SHA-256 of {} in {from}", e.name),
                                        format!("{found}; {manifest} says {expected}"),
                                        "The file is damaged or not the one from the package: extract the package again",
                                    ));
                                }
                                Err(err) => {
                                    ok = false;
                                    out.push(Finding::blocking(
                                        instance,
                                        format!("SHA-256 of {} in {from}", e.name),
                                        format!(
                                            "cannot be read: {}",
                                            crate::error::describe_io(&err)
                                        ),
                                        "Give the account that runs stepwise read access to the package",
                                    ));
                                }
                            }
                        }
                        if ok {
                            verified += 1;
                            match &f.rows {
                                TableRows::CutShort(r) => {
                                    cut_short.push(format!("{} (as `{}`)", e.name, r.name));
                                }
                                TableRows::Ambiguous(rows) => cut_short.push(format!(
                                    "{} (as `{}`, one of {} such rows, told apart by size)",
                                    e.name,
                                    m.name,
                                    rows.len()
                                )),
                                _ => {}
                            }
                        }
                    }
                    None => match &f.rows {
                        TableRows::Ambiguous(rows) => {
                            let sizes: Vec<String> = rows
                                .iter()
                                .map(|r| r.size.map_or("no size".into(), |s| s.to_string()))
                                .collect();
                            out.push(Finding::blocking(
                                instance,
                                format!("size of {} in {from}", e.name),
                                format!(
                                    "{} bytes; {manifest} cuts its name short as `{}` in {} rows, of {} bytes",
                                    e.size(),
                                    rows[0].name,
                                    rows.len(),
                                    sizes.join(" or ")
                                ),
                                "The file is incomplete or not the one from the package: extract the package again",
                            ));
                        }
                        _ => unlisted.push(f.name.clone()),
                    },
                }
            }
        }
    }
    let present = s
        .files
        .iter()
        .filter(|f| f.source_entry().is_some())
        .count();
    if present == s.files.len() && out.is_empty() {
        let mut found = format!("all {} present", plural(s.files.len(), "file", "files"));
        if verified > 0 {
            found.push_str(&format!("; {verified} with the size given by {manifest}"));
        }
        if !cut_short.is_empty() {
            found.push_str(&format!(
                " ({} by a row whose name the table cuts short: {})",
                cut_short.len(),
                cut_short.join(", ")
            ));
        }
        if !unlisted.is_empty() {
            found.push_str(&format!(
                "; {} not listed by {manifest}, so not size-checked: {}",
                unlisted.len(),
                unlisted.join(", ")
            ));
        }
        out.push(Finding::ok(
            instance,
            format!("package files in {from}"),
            found,
        ));
    }
    out
}

/// The findings about the files a copy replaces or finds in place at its destination `to`
/// (as the operator reads it: `/srv/share`, `/srv/share on WEB02`).
pub(super) fn check_destination(
    instance: &Instance,
    a: &CopyAction,
    to: &str,
    dests: &[DestFile],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut replaced = Vec::new();
    let mut in_place = Vec::new();
    for f in dests {
        match &f.found {
            DestFound::Found {
                name,
                not_a_file: Some(kind),
                ..
            } => out.push(Finding::blocking(
                instance,
                format!("{} in {to}", f.name),
                format!("{name} is {kind}; a file cannot replace it"),
                format!("Move {name} out of {to}"),
            )),
            DestFound::Found { name, .. } if f.in_place => in_place.push(name.clone()),
            DestFound::Found { name, readable, .. } => {
                if a.backup && !readable {
                    out.push(Finding::blocking(
                        instance,
                        format!("backup of {name} in {to}"),
                        "cannot be read: permission denied",
                        format!("Give the account that runs stepwise read access to {to}"),
                    ));
                }
                replaced.push(name.clone());
            }
            DestFound::Ambiguous(names) => out.push(Finding::blocking(
                instance,
                format!("{} in {to}", f.name),
                format!(
                    "{} files match it ignoring case: {}",
                    names.len(),
                    names.join(", ")
                ),
                "Keep only one of them; Windows cannot tell them apart",
            )),
            DestFound::Missing => {}
        }
    }
    let checked = format!("files replaced in {to}");
    let found = if replaced.is_empty() {
        "none".to_string()
    } else if a.backup {
        format!("{} (each backed up first)", replaced.join(", "))
    } else {
        format!("{} (no backup: `backup: false`)", replaced.join(", "))
    };
    if replaced.is_empty() || a.backup {
        out.push(Finding::ok(instance, checked, found));
    } else {
        out.push(Finding::warning(
            instance,
            checked,
            found,
            "Back these files up by hand if you may need them again",
        ));
    }
    let partial: Vec<&str> = dests
        .iter()
        .filter(|f| f.partial)
        .map(|f| f.name.as_str())
        .collect();
    if !partial.is_empty() {
        out.push(Finding::ok(
            instance,
            format!("partial copies in {to}"),
            format!(
                "{} (left by an interrupted attempt; replaced when the copy runs)",
                partial.join(", ")
            ),
        ));
    }
    if !in_place.is_empty() {
        out.push(Finding::ok(
            instance,
            format!("files already copied to {to}"),
            format!(
                "{} (same content as the package; left as they are)",
                in_place.join(", ")
            ),
        ));
    }
    out
}

/// Bytes the copy still has to write at the destination, and to back up.
pub(super) fn needs(a: &CopyAction, dests: &[DestFile]) -> (u64, u64) {
    let mut new = 0;
    let mut backups = 0;
    for f in dests {
        if f.in_place {
            continue;
        }
        new += f.source_size.unwrap_or(0);
        if a.backup
            && let DestFound::Found {
                not_a_file: None,
                size,
                ..
            } = f.found
        {
            backups += size;
        }
    }
    (new, backups)
}

fn check_room(
    instance: &Instance,
    a: &CopyAction,
    s: &Survey,
    dests: &[DestFile],
    backup_dir: Option<&Path>,
) -> Vec<Finding> {
    let Some(to) = &s.to else {
        return Vec::new();
    };
    let (new, backups) = needs(a, dests);
    let to_shown = &s.to_shown;
    let Some(free) = fsops::free_space(to) else {
        return vec![room_unknown(instance, to_shown, new + backups)];
    };
    let mut out = Vec::new();
    let backup_fs = backup_dir.filter(|_| backups > 0);
    let same_fs = backup_fs.is_some_and(|b| {
        let (x, y) = (fsops::file_system_id(to), fsops::file_system_id(b));
        x.is_some() && x == y
    });
    let need_here = if same_fs { new + backups } else { new };
    let what = if same_fs {
        "the new files and their backups"
    } else {
        "the new files"
    };
    out.push(room_finding(instance, to_shown, what, need_here, free));
    if let Some(b) = backup_fs
        && !same_fs
    {
        out.push(local_room_finding(instance, b, "the backups", backups));
    }
    out
}

/// Whether the folder `dir` on this machine has room for `need` bytes of `what`, or a warning
/// where this system cannot tell its free space.
pub(super) fn local_room_finding(
    instance: &Instance,
    dir: &Path,
    what: &str,
    need: u64,
) -> Finding {
    let shown = dir.display().to_string();
    match fsops::free_space(dir) {
        Some(free) => room_finding(instance, &shown, what, need, free),
        None => room_unknown(instance, &shown, need),
    }
}

/// The warning for a folder (as shown) whose free space this system cannot tell.
fn room_unknown(instance: &Instance, dir: &str, need: u64) -> Finding {
    Finding::warning(
        instance,
        format!("free disk space for {dir}"),
        "cannot be checked on this system",
        format!("Make sure {dir} has room for {}", fsops::human_bytes(need)),
    )
}

pub(super) fn room_finding(
    instance: &Instance,
    dir: &str,
    what: &str,
    need: u64,
    free: u64,
) -> Finding {
    let checked = format!("room in {dir} for {what}");
    let found = format!(
        "{} needed, {} free",
        fsops::human_bytes(need),
        fsops::human_bytes(free)
    );
    if need <= free {
        Finding::ok(instance, checked, found)
    } else {
        Finding::blocking(
            instance,
            checked,
            found,
            format!(
                "Free at least {} on the disk that holds {dir}",
                fsops::human_bytes(need - free)
            ),
        )
    }
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let s = survey(plan, instance, a);
    let findings = check_survey(plan, instance, a, &s, Some(ctx.backup_dir));
    if findings
        .iter()
        .any(|f| f.severity == super::Severity::Blocking)
        || s.from.is_none()
        || s.to.is_none()
    {
        return Err(Failure::not_ready(&findings));
    }
    let to_dir = s.to.clone().unwrap_or_default();
    let total: u64 = s
        .files
        .iter()
        .filter(|f| !f.in_place)
        .filter_map(|f| f.source_entry().map(Entry::size))
        .sum();
    let mut base = 0u64;
    let mut done = Vec::new();
    let mut copied = 0;
    for f in &s.files {
        if ctx.cancel.load(Ordering::SeqCst) {
            return Err(
                Failure::new(FailureKind::Cancelled, "the copy was cancelled").with_done(done),
            );
        }
        let Some(src) = f.source_entry() else {
            continue;
        };
        let dest = f.dest_entry();
        let target = dest.map_or_else(|| to_dir.join(&src.name), |d| d.path.clone());
        if f.in_place {
            // Recorded with the hash of what is there, which the survey found to be the
            // source's bytes.
            let sha256 = match fsops::sha256_file(&target) {
                Ok(h) => h,
                Err(e) => {
                    let what = format!("cannot read {} to record it", target.display());
                    return Err(copy_failure(&what, fsops::CopyError::Read(e)).with_done(done));
                }
            };
            (ctx.progress)(Progress::FileCopied(&super::FileCopied {
                name: f.name.clone(),
                path: target.clone(),
                bytes: src.size(),
                sha256,
                in_place: true,
            }));
            done.push(Done::AlreadyInPlace {
                name: f.name.clone(),
                to: target,
            });
            continue;
        }
        let backup = match dest {
            Some(d) if a.backup => match back_up(d, instance, ctx) {
                Ok(path) => Some(path),
                Err(e) => return Err(e.with_done(done)),
            },
            _ => None,
        };
        let total_done = base;
        let file_name = src.name.clone();
        let progress = &mut *ctx.progress;
        let mut report = |n: u64| {
            progress(Progress::Bytes {
                file: &file_name,
                done: total_done + n,
                total,
            })
        };
        let what = format!("cannot copy {} to {}", src.name, target.display());
        let result = fsops::copy_atomic(&src.path, &target, &ctx.cancel, &mut report);
        let written = match result {
            Ok(c) => c,
            Err(e) => return Err(copy_failure(&what, e).with_done(done)),
        };
        if let Err(message) = verify(&target, src, f.manifest, &written, &manifest_name(a)) {
            return Err(Failure::new(FailureKind::Verify, message).with_done(done));
        }
        (ctx.progress)(Progress::FileCopied(&super::FileCopied {
            name: f.name.clone(),
            path: target.clone(),
            bytes: written.bytes,
            sha256: written.sha256.clone(),
            in_place: false,
        }));
        base += written.bytes;
        copied += 1;
        done.push(Done::Copied {
            name: f.name.clone(),
            to: target,
            bytes: written.bytes,
            backup,
        });
    }
    let already = done.len() - copied;
    let mut summary = format!(
        "copied {} to {}",
        plural(copied, "file", "files"),
        s.to_shown
    );
    if already > 0 {
        summary.push_str(&format!(" ({already} already in place)"));
    }
    Ok(Outcome {
        summary,
        done,
        command: None,
    })
}

/// Verifies a copied file against its source and the manifest; the message names the file and
/// what was expected.
fn verify(
    target: &Path,
    src: &Entry,
    manifest: Option<&ManifestFile>,
    written: &fsops::Copied,
    manifest_name: &str,
) -> Result<(), String> {
    let size = std::fs::metadata(target)
        .map_err(|e| {
            format!(
                "{}: cannot be read after copying: {}",
                target.display(),
                crate::error::describe_io(&e)
            )
        })?
        .len();
    if size != src.size() {
        return Err(format!(
            "{}: {size} bytes after copying, expected {} (the size of {})",
            target.display(),
            src.size(),
            src.path.display()
        ));
    }
    if let Some(m) = manifest {
        if let Some(expected) = m.size
            && expected != size
        {
            return Err(format!(
                "{}: {size} bytes after copying, expected {expected} ({manifest_name})",
                target.display()
            ));
        }
        if let Some(expected) = &m.sha256
            && !expected.eq_ignore_ascii_case(&written.sha256)
        {
            return Err(format!(
                "{}: SHA-256 {} after copying, expected {expected} ({manifest_name})",
                target.display(),
                written.sha256
            ));
        }
    }
    Ok(())
}

/// File by file, what an interrupted copy left at the destination.
pub(super) fn evidence(
    plan: &Plan,
    instance: &Instance,
    a: &CopyAction,
) -> super::evidence::Survey {
    use super::evidence::{FileEvidence, FileState};
    let s = survey(plan, instance, a);
    let names: Vec<String> = s.files.iter().map(|f| f.name.clone()).collect();
    let partials = super::evidence::partials(plan, instance, &a.to, &names);
    let files = s
        .files
        .iter()
        .zip(partials)
        .map(|(f, partial)| {
            let state = match (&f.dest, f.source_entry()) {
                (Lookup::Found(_), _) if f.in_place => FileState::InPlace,
                (Lookup::Found(_), Some(_)) => FileState::OldVersion,
                (Lookup::Found(_), None) => {
                    FileState::Unknown(format!("the source is not in {}", s.from_shown))
                }
                (Lookup::Missing, _) if s.to.is_some() => FileState::Missing,
                (Lookup::Missing, _) => {
                    FileState::Unknown(format!("{} cannot be read", s.to_shown))
                }
                (Lookup::Ambiguous(names), _) => {
                    FileState::Unknown(format!("{} files match it ignoring case", names.len()))
                }
            };
            FileEvidence {
                name: f.name.clone(),
                state,
                partial: partial.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into())),
            }
        })
        .collect();
    super::evidence::Survey {
        dest: s.to_shown.clone(),
        files,
        copy: true,
    }
}
