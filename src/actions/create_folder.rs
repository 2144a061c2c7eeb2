//! `create_folder`: an empty folder, created in a parent folder that exists.
//!
//! The article's "create an empty folder that is named ExchangeSetupLogs in the root folder of
//! the drive" is exact enough to do, and creating a folder on Windows otherwise takes a shell
//! (`mkdir` is built into cmd.exe), which stepwise never builds from a parameter value. A folder
//! that is already there (restored by the operator, or created by an earlier attempt) is left as
//! it is; the parent is never created; a file or a link in the folder's place is refused.

use std::path::{Path, PathBuf};

use super::{Done, ExecContext, Failure, FailureKind, Finding, Outcome, Place, Severity};
use crate::plan::{Instance, Plan};
use crate::runbook::CreateFolderAction;

/// What is at the folder's path, looked at once (read-only).
enum State {
    /// Not checkable here (a Windows path elsewhere, or a parameter without a value).
    Unchecked(Finding),
    Missing {
        path: PathBuf,
        parent: PathBuf,
    },
    Folder(PathBuf),
    /// A file or a link where the folder should be; `what` says which.
    InTheWay {
        what: &'static str,
    },
    Unreadable(String),
}

fn survey(plan: &Plan, instance: &Instance, a: &CreateFolderAction) -> (State, String) {
    let place = Place::of(plan, &a.path);
    let shown = place.shown().to_string();
    if let Some(f) = place.unchecked(instance, "folder") {
        return (State::Unchecked(f), shown);
    }
    let Place::Local { path, .. } = place else {
        unreachable!("a place that is not local is unchecked")
    };
    let path = super::fsops::locate(&path).unwrap_or(path);
    let state = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => State::InTheWay { what: "a link" },
        Ok(m) if m.is_dir() => State::Folder(path),
        Ok(_) => State::InTheWay { what: "a file" },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => State::Missing {
                parent: parent.to_path_buf(),
                path,
            },
            _ => State::Unreadable("it has no parent folder".into()),
        },
        Err(e) => State::Unreadable(crate::error::describe_io(&e)),
    };
    (state, shown)
}

pub(super) fn check(plan: &Plan, instance: &Instance, a: &CreateFolderAction) -> Vec<Finding> {
    let (state, shown) = survey(plan, instance, a);
    check_state(instance, &state, &shown)
}

fn check_state(instance: &Instance, state: &State, shown: &str) -> Vec<Finding> {
    let checked = format!("folder {shown}");
    let finding = match state {
        State::Unchecked(f) => f.clone(),
        State::Folder(_) => Finding::ok(instance, checked, "already exists; left as it is"),
        State::InTheWay { what } => Finding::blocking(
            instance,
            checked,
            format!("{what} is in its place"),
            format!("Move {what} out of the way, or restore the folder {shown}"),
        ),
        State::Unreadable(why) => Finding::blocking(
            instance,
            checked,
            format!("cannot be looked at: {why}"),
            "Give the account that runs stepwise access to the parent folder",
        ),
        State::Missing { parent, .. } => return parent_findings(instance, parent, &checked),
    };
    vec![finding]
}

/// The folder does not exist: its parent must, and must take a new folder.
fn parent_findings(instance: &Instance, parent: &Path, checked: &str) -> Vec<Finding> {
    let shown = parent.display();
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => match super::fsops::writable(parent) {
            Ok(()) => vec![Finding::ok(
                instance,
                checked.to_string(),
                "does not exist yet; it will be created, empty",
            )],
            Err(why) => vec![Finding::blocking(
                instance,
                checked.to_string(),
                format!("cannot be created: {shown} is not writable: {why}"),
                format!("Give the account that runs stepwise write access to {shown}"),
            )],
        },
        _ => vec![Finding::blocking(
            instance,
            checked.to_string(),
            format!("cannot be created: its parent folder {shown} does not exist"),
            "Check the path: only the last folder of it is created",
        )],
    }
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    _ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let (state, shown) = survey(plan, instance, a);
    let findings = check_state(instance, &state, &shown);
    if findings.iter().any(|f| f.severity != Severity::Ok) {
        return Err(Failure::not_ready(&findings));
    }
    match state {
        State::Folder(path) => Ok(Outcome {
            summary: format!("{shown} already exists; left as it is"),
            done: vec![Done::FolderCreated {
                path,
                existed: true,
            }],
            command: None,
        }),
        State::Missing { path, .. } => {
            match std::fs::create_dir(&path) {
                Ok(()) => {}
                // Created between the look and now (another attempt): it is there, as asked.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => {
                    return Err(Failure::new(
                        FailureKind::Io,
                        format!(
                            "cannot create {}: {}",
                            path.display(),
                            crate::error::describe_io(&e)
                        ),
                    ));
                }
            }
            if let Some(parent) = path.parent() {
                crate::fsutil::sync_dir(parent);
            }
            Ok(Outcome {
                summary: format!("created the empty folder {shown}"),
                done: vec![Done::FolderCreated {
                    path,
                    existed: false,
                }],
                command: None,
            })
        }
        _ => Err(Failure::new(
            FailureKind::Io,
            format!("cannot create {shown}"),
        )),
    }
}
