//! What an interrupted action left behind, for the question resume asks about an instance that
//! was started and never finished: did it complete?
//!
//! [`survey`] looks (read-only) at the files a `copy` or a `write_file` was replacing and says,
//! file by file, whether each is in place, still the old version, missing, or has a partial
//! temporary file beside it, and which answer the evidence supports. [`leftovers`] finds the
//! partial temporary files (`.NAME.stepwise-part`) an interrupted attempt left, so the engine can
//! remove them once the instance is settled. Neither ever writes.

use std::path::PathBuf;

use super::fsops::{Listing, Lookup};
use super::{check_folder, copy, write_file};
use crate::plan::{Instance, Plan};
use crate::runbook::Action;

/// Where one file of an interrupted action stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// The destination holds the source's content (a copy) or the content to write.
    InPlace,
    /// A file is there, but not the new content: the old version.
    OldVersion,
    /// Nothing is there yet.
    Missing,
    /// It cannot be told (the source is missing, the folder cannot be read, two names match).
    Unknown(String),
}

/// One file an interrupted action was putting in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvidence {
    pub name: String,
    pub state: FileState,
    /// A partial temporary file left beside it, by name.
    pub partial: Option<String>,
}

impl FileEvidence {
    /// The file's state in words that never read as done unless it is in place.
    pub fn describe(&self, copy: bool) -> String {
        let state = match (&self.state, copy) {
            (FileState::InPlace, true) => "in place (content matches the source)".to_string(),
            (FileState::InPlace, false) => "in place (holds the content to write)".to_string(),
            (FileState::OldVersion, true) => {
                "old version (differs from the source: not copied yet)".to_string()
            }
            (FileState::OldVersion, false) => {
                "old version (does not hold the content: not written yet)".to_string()
            }
            (FileState::Missing, true) => "missing (not copied yet)".to_string(),
            (FileState::Missing, false) => "missing (not written yet)".to_string(),
            (FileState::Unknown(why), _) => format!("cannot be told: {why}"),
        };
        match &self.partial {
            Some(p) => format!("{state}; partial temporary file {p} beside it"),
            None => state,
        }
    }
}

/// What the files of an interrupted `copy` or `write_file` look like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// The destination folder (or the file's folder) as shown.
    pub dest: String,
    pub files: Vec<FileEvidence>,
    /// Whether it is a copy (else a `write_file`).
    pub copy: bool,
}

impl Survey {
    pub fn in_place(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.state == FileState::InPlace)
            .count()
    }

    /// Whether every file is in place: the evidence says the action completed.
    pub fn complete(&self) -> bool {
        !self.files.is_empty() && self.in_place() == self.files.len()
    }

    /// `2 of 4 files in place`.
    pub fn headline(&self) -> String {
        let n = self.files.len();
        format!(
            "{} of {n} file{} in place in {}",
            self.in_place(),
            if n == 1 { "" } else { "s" },
            self.dest
        )
    }
}

/// Surveys what an interrupted action left: `None` for an action that leaves no files to look
/// at (a command, a check, a manual step).
pub fn survey(plan: &Plan, instance: &Instance, action: &Action) -> Option<Survey> {
    match action {
        Action::Copy(a) => Some(copy::evidence(plan, instance, a)),
        Action::WriteFile(a) => Some(write_file::evidence(plan, instance, a)),
        _ => None,
    }
}

/// The partial temporary files (`.NAME.stepwise-part`) an interrupted attempt of this action
/// left beside its targets: plain files only (a link or a folder of that name is not ours).
pub fn leftovers(plan: &Plan, instance: &Instance, action: &Action) -> Vec<PathBuf> {
    let (dir, names) = match action {
        Action::Copy(a) => (&a.to, a.files.iter().map(|f| f.value.clone()).collect()),
        Action::WriteFile(a) => (&a.dir, vec![a.file.clone()]),
        _ => return Vec::new(),
    };
    let names: Vec<String> = names;
    partials(plan, instance, dir, &names)
        .into_iter()
        .flatten()
        .collect()
}

/// Per name, the partial temporary file beside it, if there is one.
pub(super) fn partials(
    plan: &Plan,
    instance: &Instance,
    dir: &crate::runbook::Template,
    names: &[String],
) -> Vec<Option<PathBuf>> {
    let listing = check_folder(plan, instance, dir, "folder", false)
        .0
        .and_then(|d| Listing::read(&d).ok());
    names
        .iter()
        .map(
            |name| match listing.as_ref()?.find(&format!(".{name}.stepwise-part")) {
                Lookup::Found(e) => {
                    let plain = std::fs::symlink_metadata(&e.path).is_ok_and(|m| m.is_file());
                    plain.then_some(e.path)
                }
                _ => None,
            },
        )
        .collect()
}
