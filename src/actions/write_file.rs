//! `write_file`: a text file written atomically into a folder, backing up the file it replaces.
//!
//! [`survey`] looks at the folder and the file once (read-only); the check reports from it and
//! the execution runs the check first, then writes.

use std::path::PathBuf;

use super::fsops::{self, Entry, Listing, Lookup};
use super::{
    Done, ExecContext, Failure, FailureKind, Finding, Outcome, Severity, back_up, check_folder,
    join_shown, missing_params,
};
use crate::plan::{Instance, Plan};
use crate::runbook::WriteFileAction;

struct Survey {
    dir: Option<PathBuf>,
    /// The target as shown: folder and file name.
    shown: String,
    existing: Lookup,
    findings: Vec<Finding>,
}

fn survey(plan: &Plan, instance: &Instance, a: &WriteFileAction) -> Survey {
    let (dir, findings) = check_folder(plan, instance, &a.dir, "folder", true);
    let existing = dir
        .as_deref()
        .and_then(|d| Listing::read(d).ok())
        .map_or(Lookup::Missing, |l| l.find(&a.file));
    Survey {
        shown: join_shown(&plan.resolved.show(&a.dir), &a.file),
        dir,
        existing,
        findings,
    }
}

/// Whether the file already holds the content (only asked when the content is known).
fn already_written(existing: &Entry, content: Option<&str>) -> bool {
    content.is_some_and(|c| {
        existing.is_file() && fsops::has_content(&existing.path, c.as_bytes()).unwrap_or(false)
    })
}

fn content(plan: &Plan, a: &WriteFileAction) -> Option<String> {
    missing_params(plan, &a.content)
        .is_empty()
        .then(|| plan.resolved.fill(&a.content))
}

pub(super) fn check(plan: &Plan, instance: &Instance, a: &WriteFileAction) -> Vec<Finding> {
    let s = survey(plan, instance, a);
    check_survey(plan, instance, a, &s)
}

fn check_survey(plan: &Plan, instance: &Instance, a: &WriteFileAction, s: &Survey) -> Vec<Finding> {
    let mut out = s.findings.clone();
    let missing = missing_params(plan, &a.content);
    if !missing.is_empty() {
        out.push(Finding::warning(
            instance,
            format!("content of {}", s.shown),
            format!(
                "not known yet: {} has no value",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("Give {}", super::set_hints(&missing)),
        ));
    }
    if s.dir.is_none() {
        return out;
    }
    let checked = format!("file {}", s.shown);
    match &s.existing {
        Lookup::Missing => out.push(Finding::ok(
            instance,
            checked,
            "does not exist yet; it will be created",
        )),
        Lookup::Found(e) if !e.is_file() => out.push(Finding::blocking(
            instance,
            checked,
            format!(
                "{} is {}; a file cannot replace it",
                e.name,
                fsops::kind(&e.meta)
            ),
            format!("Move {} out of the way", e.name),
        )),
        Lookup::Found(e) if already_written(e, content(plan, a).as_deref()) => {
            out.push(Finding::ok(
                instance,
                checked,
                format!("{} already has this content; left as it is", e.name),
            ))
        }
        Lookup::Found(e) => {
            if a.backup && !fsops::readable(&e.path) {
                out.push(Finding::blocking(
                    instance,
                    format!("backup of {}", s.shown),
                    "cannot be read: permission denied",
                    "Give the account that runs stepwise read access to the file",
                ));
            }
            let how = if a.backup {
                "backed up first"
            } else {
                "no backup: `backup: false`"
            };
            out.push(Finding::ok(
                instance,
                checked,
                format!("{} exists and will be replaced ({how})", e.name),
            ));
        }
        Lookup::Ambiguous(names) => out.push(Finding::blocking(
            instance,
            checked,
            format!(
                "{} files match it ignoring case: {}",
                names.len(),
                names.join(", ")
            ),
            "Keep only one of them; Windows cannot tell them apart",
        )),
    }
    out
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &WriteFileAction,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let s = survey(plan, instance, a);
    let findings = check_survey(plan, instance, a, &s);
    let (Some(dir), Some(content)) = (&s.dir, content(plan, a)) else {
        return Err(Failure::not_ready(&findings));
    };
    if findings.iter().any(|f| f.severity == Severity::Blocking) {
        return Err(Failure::not_ready(&findings));
    }
    let existing = match &s.existing {
        Lookup::Found(e) => Some(e),
        _ => None,
    };
    let target = existing.map_or_else(|| dir.join(&a.file), |e| e.path.clone());
    if let Some(e) = existing
        && already_written(e, Some(&content))
    {
        return Ok(Outcome {
            summary: format!("{} already has this content", s.shown),
            done: vec![Done::AlreadyInPlace {
                name: a.file.clone(),
                to: target,
            }],
            command: None,
        });
    }
    let backup = match existing {
        Some(e) if a.backup => Some(back_up(e, instance, ctx)?),
        _ => None,
    };
    let tmp = fsops::temp_path(&target);
    crate::fsutil::write_atomic_via(&target, &tmp, content.as_bytes()).map_err(|e| {
        Failure::new(
            FailureKind::Io,
            format!(
                "cannot write {}: {}",
                target.display(),
                crate::error::describe_io(&e)
            ),
        )
    })?;
    match fsops::has_content(&target, content.as_bytes()) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Failure::new(
                FailureKind::Verify,
                format!(
                    "{}: does not hold the {} bytes just written",
                    target.display(),
                    content.len()
                ),
            ));
        }
        Err(e) => {
            return Err(Failure::new(
                FailureKind::Verify,
                format!(
                    "{}: cannot be read back: {}",
                    target.display(),
                    crate::error::describe_io(&e)
                ),
            ));
        }
    }
    let summary = match &backup {
        Some(b) => format!("wrote {} (the old file is in {})", s.shown, b.display()),
        None => format!("wrote {}", s.shown),
    };
    Ok(Outcome {
        summary,
        done: vec![Done::Written {
            path: target,
            bytes: content.len() as u64,
            backup,
        }],
        command: None,
    })
}

/// What an interrupted `write_file` left: the file in place, the old version, or nothing.
pub(super) fn evidence(
    plan: &Plan,
    instance: &Instance,
    a: &WriteFileAction,
) -> super::evidence::Survey {
    use super::evidence::{FileEvidence, FileState};
    let s = survey(plan, instance, a);
    let partial = super::evidence::partials(plan, instance, &a.dir, std::slice::from_ref(&a.file))
        .pop()
        .flatten();
    let state = match &s.existing {
        _ if s.dir.is_none() => {
            FileState::Unknown(format!("the folder of {} cannot be read", s.shown))
        }
        Lookup::Found(e) if already_written(e, content(plan, a).as_deref()) => FileState::InPlace,
        Lookup::Found(_) => FileState::OldVersion,
        Lookup::Missing => FileState::Missing,
        Lookup::Ambiguous(names) => {
            FileState::Unknown(format!("{} files match it ignoring case", names.len()))
        }
    };
    super::evidence::Survey {
        dest: plan.resolved.show(&a.dir),
        files: vec![FileEvidence {
            name: a.file.clone(),
            state,
            partial: partial.and_then(|p| p.file_name().map(|n| n.to_string_lossy().into())),
        }],
        copy: false,
    }
}
