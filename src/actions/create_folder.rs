//! `create_folder`: an empty folder, with the folders above it that are missing, on this
//! machine or on the instance's host over SSH (through SFTP).
//!
//! The article's "create an empty folder that is named ExchangeSetupLogs in the root folder of
//! the drive" is exact enough to do, and creating a folder on Windows otherwise takes a shell
//! (`mkdir` is built into cmd.exe), which stepwise never builds from a parameter value. A folder
//! that is already there (restored by the operator, or created by an earlier attempt) is left as
//! it is; a file or a link in the folder's place is refused. The folders above it that do not
//! exist are created too, outermost first, and `check` names each of them, so a mistyped path
//! shows before anything is made; a file where one of them should be is refused.
//!
//! Both sides look the same way ([`State`]) and are judged by the same words
//! ([`check_state`]), so a folder says the same thing whichever side of the wire it is on; only
//! looking and making differ (this machine's file system, or SFTP `lstat`, `stat` and `mkdir`
//! on the host, with `test -w` asked of a POSIX shell). Resume's evidence for an interrupted
//! attempt is the same survey: the folder present, or missing ([`evidence`],
//! [`evidence_remote`]).

use std::path::{Path, PathBuf};

use super::evidence::{FolderEvidence, FolderState};
use super::remote::{MayWrite, host_path, may_write};
use super::{Done, ExecContext, Failure, FailureKind, Finding, Outcome, Place, Severity};
use crate::plan::{Instance, Plan};
use crate::runbook::CreateFolderAction;
use crate::target::ssh::{Kind, Session};

/// What is at the folder's path and above it, looked at once (read-only). `P` is a path on
/// this machine or on the host.
enum State<P> {
    /// Not checkable (a Windows path elsewhere, or a parameter without a value).
    Unchecked(Finding),
    Folder(P),
    /// A file or a link where the folder should be; `what` says which.
    InTheWay {
        what: &'static str,
    },
    /// It cannot be looked at: why, and what to do.
    Unreadable {
        why: String,
        to_do: String,
    },
    /// Not there: the folders to create, outermost first and the folder itself last (with how
    /// each missing one above it is shown), and what the nearest existing folder above allows.
    Missing {
        create: Vec<P>,
        above: Vec<String>,
        base: Base,
    },
}

/// The nearest folder above a missing one that exists, judged.
enum Base {
    /// It takes a new folder.
    Ready,
    /// Whether it takes one cannot be asked: a warning, and the run tries.
    Unsure { found: String, to_do: String },
    /// The folder cannot be made there: why, and what to do.
    Refused { why: String, to_do: String },
}

/// The findings of a folder's state; `checked` is `folder SHOWN` (`… on HOST` for a host).
fn check_state<P>(instance: &Instance, state: &State<P>, checked: &str) -> Vec<Finding> {
    let checked = checked.to_string();
    let finding = match state {
        State::Unchecked(f) => f.clone(),
        State::Folder(_) => Finding::ok(instance, checked, "already exists; left as it is"),
        State::InTheWay { what } => Finding::blocking(
            instance,
            checked.clone(),
            format!("{what} is in its place"),
            format!("Move {what} out of the way, or restore the {checked}"),
        ),
        State::Unreadable { why, to_do } => Finding::blocking(
            instance,
            checked,
            format!("cannot be looked at: {why}"),
            to_do.clone(),
        ),
        State::Missing { above, base, .. } => {
            let mut will = "does not exist yet; it will be created, empty".to_string();
            if !above.is_empty() {
                will.push_str(&format!(
                    ", with the folders above it that do not exist yet: {}",
                    above.join(", ")
                ));
            }
            match base {
                Base::Ready => Finding::ok(instance, checked, will),
                Base::Unsure { found, to_do } => {
                    Finding::warning(instance, checked, format!("{will}; {found}"), to_do.clone())
                }
                Base::Refused { why, to_do } => Finding::blocking(
                    instance,
                    checked,
                    format!("cannot be created: {why}"),
                    to_do.clone(),
                ),
            }
        }
    };
    vec![finding]
}

/// The findings stop a run: a blocking one, or a folder that could not be looked at.
fn refuses<P>(state: &State<P>, findings: &[Finding]) -> Option<Failure> {
    let stops = matches!(state, State::Unchecked(_))
        || findings.iter().any(|f| f.severity == Severity::Blocking);
    stops.then(|| Failure::not_ready(findings))
}

/// The sentence for the folders above it that were created, if any.
fn and_above(above: &[String]) -> String {
    match above.len() {
        0 => String::new(),
        _ => format!(" (and the folders above it: {})", above.join(", ")),
    }
}

/// What the evidence of an interrupted attempt says of a folder's state.
fn evidence_of<P>(state: &State<P>, folder: String) -> FolderEvidence {
    let state = match state {
        State::Folder(_) => FolderState::Present,
        State::Missing { .. } => FolderState::Missing,
        State::InTheWay { what } => FolderState::Unknown(format!("{what} is in its place")),
        State::Unreadable { why, .. } => {
            FolderState::Unknown(format!("it cannot be looked at: {why}"))
        }
        State::Unchecked(f) => FolderState::Unknown(f.found.to_string()),
    };
    FolderEvidence { folder, state }
}

// On this machine.

fn survey(plan: &Plan, instance: &Instance, a: &CreateFolderAction) -> (State<PathBuf>, String) {
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
        // Missing, or a file above it (`ENOTDIR`): the walk up says which.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            missing_here(&path)
        }
        Err(e) => State::Unreadable {
            why: crate::error::describe_io(&e),
            to_do: "Give the account that runs stepwise access to the parent folder".into(),
        },
    };
    (state, shown)
}

/// A folder that is not there: the nearest existing folder above it (names matched ignoring
/// case), and the folders to create from there.
fn missing_here(path: &Path) -> State<PathBuf> {
    let mut above = path.ancestors().skip(1);
    let found = loop {
        match above.next() {
            Some(p) if p.as_os_str().is_empty() => break None,
            Some(p) => {
                if let Some(at) = super::fsops::locate(p) {
                    break Some((p, at));
                }
            }
            None => break None,
        }
    };
    let Some((written, base)) = found else {
        return State::Missing {
            create: Vec::new(),
            above: Vec::new(),
            base: Base::Refused {
                why: "none of the folders above it exists".into(),
                to_do: "Check the path".into(),
            },
        };
    };
    // Every folder from just below the base down to the folder itself.
    let rest: Vec<_> = path
        .strip_prefix(written)
        .map(|r| r.components().collect())
        .unwrap_or_default();
    let mut create = Vec::new();
    let mut at = base.clone();
    for c in rest {
        at = at.join(c.as_os_str());
        create.push(at.clone());
    }
    let above = create[..create.len().saturating_sub(1)]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let shown = base.display();
    let base = match std::fs::metadata(&base) {
        Ok(m) if m.is_dir() => match super::fsops::writable(&base) {
            Ok(()) => Base::Ready,
            Err(why) => Base::Refused {
                why: format!("{shown} is not writable: {why}"),
                to_do: format!("Give the account that runs stepwise write access to {shown}"),
            },
        },
        Ok(m) => Base::Refused {
            why: format!("{shown} is {}, not a folder", super::fsops::kind(&m)),
            to_do: format!("Check the path, or move {shown} out of the way"),
        },
        Err(e) => Base::Refused {
            why: format!(
                "{shown} cannot be looked at: {}",
                crate::error::describe_io(&e)
            ),
            to_do: "Give the account that runs stepwise access to the parent folder".into(),
        },
    };
    State::Missing {
        create,
        above,
        base,
    }
}

pub(super) fn check(plan: &Plan, instance: &Instance, a: &CreateFolderAction) -> Vec<Finding> {
    let (state, shown) = survey(plan, instance, a);
    check_state(instance, &state, &format!("folder {shown}"))
}

/// What an interrupted attempt left on this machine: the folder present or missing.
pub(super) fn evidence(plan: &Plan, instance: &Instance, a: &CreateFolderAction) -> FolderEvidence {
    let (state, shown) = survey(plan, instance, a);
    evidence_of(&state, shown)
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    _ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let (state, shown) = survey(plan, instance, a);
    let findings = check_state(instance, &state, &format!("folder {shown}"));
    if let Some(f) = refuses(&state, &findings) {
        return Err(f);
    }
    match state {
        State::Folder(path) => Ok(Outcome {
            summary: format!("{shown} already exists; left as it is"),
            done: vec![Done::FolderCreated {
                path,
                existed: true,
                above: Vec::new(),
            }],
            command: None,
        }),
        State::Missing { create, above, .. } => {
            for dir in &create {
                match std::fs::create_dir(dir) {
                    Ok(()) => {}
                    // Created between the look and now (another attempt): there, as asked.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                    Err(e) => {
                        return Err(Failure::new(
                            FailureKind::Io,
                            format!(
                                "cannot create {}: {}",
                                dir.display(),
                                crate::error::describe_io(&e)
                            ),
                        ));
                    }
                }
                if let Some(parent) = dir.parent() {
                    crate::fsutil::sync_dir(parent);
                }
            }
            let Some(path) = create.last().cloned() else {
                return Err(Failure::new(
                    FailureKind::Io,
                    format!("cannot create {shown}"),
                ));
            };
            Ok(Outcome {
                summary: format!("created the empty folder {shown}{}", and_above(&above)),
                done: vec![Done::FolderCreated {
                    path,
                    existed: false,
                    above: create[..create.len() - 1].to_vec(),
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

// On a host over SSH.

/// The folder on the host, looked at through SFTP; the state and the folder as shown
/// (`SHOWN on HOST`).
fn survey_remote(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    s: &Session,
) -> (State<String>, String) {
    let host = &s.target.host;
    let shown = format!("{} on {host}", plan.resolved.show(&a.path));
    let missing = super::missing_params(plan, &a.path);
    if !missing.is_empty() {
        let unresolved = super::Place::Unresolved {
            shown: shown.clone(),
            missing,
        };
        if let Some(f) = unresolved.unchecked(instance, "folder") {
            return (State::Unchecked(f), shown);
        }
    }
    let path = host_path(s, &plan.resolved.fill(&a.path));
    let path = trim_separators(&path).to_string();
    let state = match s.link_metadata(&path) {
        Err(e) => State::Unreadable {
            why: e,
            to_do: format!(
                "Give {} access to the parent folder on {host}, or check the connection to {host}",
                s.target.user
            ),
        },
        Ok(Some(m)) if m.kind == Kind::Folder => State::Folder(path),
        Ok(Some(m)) if m.kind == Kind::Other("a link") => State::InTheWay { what: "a link" },
        Ok(Some(_)) => State::InTheWay { what: "a file" },
        Ok(None) => missing_on_host(s, &path),
    };
    (state, shown)
}

/// A path without the separators it ends with (but a root stays a root).
fn trim_separators(path: &str) -> &str {
    let t = path.trim_end_matches(['/', '\\']);
    if t.is_empty() || t.ends_with(':') {
        &path[..(t.len() + 1).min(path.len())]
    } else {
        t
    }
}

/// The folder above a path on the host: `/a/b` → `/a`, `/a` → `/`, `C:\a` → `C:\`; `None`
/// for a root or a bare name.
fn host_parent(path: &str) -> Option<String> {
    let i = path.rfind(['/', '\\'])?;
    if i + 1 == path.len() {
        return None; // a root: `/`, `C:\`
    }
    let parent = &path[..i];
    Some(if parent.is_empty() || parent.ends_with(':') {
        path[..=i].to_string()
    } else {
        parent.to_string()
    })
}

/// A folder that is not on the host: the nearest existing folder above it, and the folders to
/// create from there.
fn missing_on_host(s: &Session, path: &str) -> State<String> {
    let host = &s.target.host;
    let mut create = vec![path.to_string()];
    let mut at = host_parent(path);
    let base = loop {
        let Some(dir) = at else {
            break Base::Refused {
                why: "none of the folders above it exists".into(),
                to_do: "Check the path".into(),
            };
        };
        match s.metadata(&dir) {
            Ok(None) => {
                at = host_parent(&dir);
                create.insert(0, dir);
            }
            Ok(Some(m)) if m.kind == Kind::Folder => break base_on_host(s, &dir),
            Ok(Some(m)) => {
                break Base::Refused {
                    why: format!("{dir} is {}, not a folder", m.kind_words()),
                    to_do: format!("Check the path, or move {dir} out of the way on {host}"),
                };
            }
            Err(e) => {
                break Base::Refused {
                    why: format!("{dir} cannot be looked at: {e}"),
                    to_do: format!("Check the connection to {host}"),
                };
            }
        }
    };
    let above = create[..create.len() - 1].to_vec();
    State::Missing {
        create,
        above,
        base,
    }
}

/// Whether a new folder can be made in an existing folder on the host.
fn base_on_host(s: &Session, dir: &str) -> Base {
    let host = &s.target.host;
    match may_write(s, dir) {
        MayWrite::Yes => Base::Ready,
        MayWrite::No => Base::Refused {
            why: format!("{dir} is not writable: permission denied"),
            to_do: format!("Give {} write access to {dir} on {host}", s.target.user),
        },
        MayWrite::Unasked => Base::Unsure {
            found: format!("whether {dir} is writable cannot be asked of a Windows shell"),
            to_do: format!("Make sure {} can write to {dir}", s.target.user),
        },
        MayWrite::Unknown(e) => Base::Refused {
            why: format!("{dir} cannot be looked at: {e}"),
            to_do: format!("Check the connection to {host}"),
        },
    }
}

/// Checks a `create_folder` on its host, read-only.
pub(super) fn check_remote(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    s: &Session,
) -> Vec<Finding> {
    let (state, shown) = survey_remote(plan, instance, a, s);
    check_state(instance, &state, &format!("folder {shown}"))
}

/// What an interrupted attempt left on the host: the folder present or missing.
pub(super) fn evidence_remote(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    s: &Session,
) -> FolderEvidence {
    let (state, shown) = survey_remote(plan, instance, a, s);
    evidence_of(&state, shown)
}

/// Creates the folder on its host, with the folders above it that are missing.
pub(super) fn execute_remote(
    plan: &Plan,
    instance: &Instance,
    a: &CreateFolderAction,
    s: &Session,
) -> Result<Outcome, Failure> {
    let (state, shown) = survey_remote(plan, instance, a, s);
    let findings = check_state(instance, &state, &format!("folder {shown}"));
    if let Some(f) = refuses(&state, &findings) {
        return Err(f);
    }
    let host = &s.target.host;
    match state {
        State::Folder(path) => Ok(Outcome {
            summary: format!("{shown} already exists; left as it is"),
            done: vec![Done::FolderCreated {
                path: path.into(),
                existed: true,
                above: Vec::new(),
            }],
            command: None,
        }),
        State::Missing { create, above, .. } => {
            for dir in &create {
                if let Err(e) = s.create_dir(dir) {
                    // Asked and not answered: the host may make it yet.
                    if let crate::target::ssh::ChangeError::Unknown(why) = &e {
                        return Err(Failure::new(
                            FailureKind::OutcomeUnknown,
                            format!(
                                "the creation of {dir} was sent to {host} and got no answer ({why}): whether it was made is unknown"
                            ),
                        ));
                    }
                    // Created between the look and now (another attempt): there, as asked.
                    let there = matches!(s.metadata(dir), Ok(Some(m)) if m.kind == Kind::Folder);
                    if !there {
                        return Err(Failure::new(
                            FailureKind::Io,
                            format!("cannot create {dir} on {host}: {e}"),
                        ));
                    }
                }
            }
            let path = create.last().cloned().unwrap_or_default();
            Ok(Outcome {
                summary: format!("created the empty folder {shown}{}", and_above(&above)),
                done: vec![Done::FolderCreated {
                    path: path.into(),
                    existed: false,
                    above: create[..create.len() - 1]
                        .iter()
                        .map(PathBuf::from)
                        .collect(),
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

#[cfg(test)]
mod tests {
    use super::{host_parent, trim_separators};

    #[test]
    fn a_host_path_goes_up_to_its_root_and_no_further() {
        assert_eq!(host_parent("/a/b").as_deref(), Some("/a"));
        assert_eq!(host_parent("/a").as_deref(), Some("/"));
        assert_eq!(host_parent("/"), None);
        assert_eq!(host_parent(r"C:\a\b").as_deref(), Some(r"C:\a"));
        assert_eq!(host_parent(r"C:\a").as_deref(), Some(r"C:\"));
        assert_eq!(host_parent(r"C:\"), None);
        assert_eq!(host_parent("logs"), None);
        assert_eq!(trim_separators("/a/b/"), "/a/b");
        assert_eq!(trim_separators("/"), "/");
        assert_eq!(trim_separators(r"C:\"), r"C:\");
    }
}
