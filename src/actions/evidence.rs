//! What an interrupted action left behind, for the question resume asks about an instance that
//! was started and never finished: did it complete?
//!
//! [`survey`] looks (read-only) at the files a `copy` or a `write_file` was replacing and says,
//! file by file, whether each is in place, still the old version, missing, or has a partial
//! temporary file beside it, and which answer the evidence supports; [`folder`] whether the
//! folder of a `create_folder` is there. [`leftovers`] finds the
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

/// Where the folder of an interrupted `create_folder` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderState {
    /// The folder is there.
    Present,
    /// Nothing is there yet.
    Missing,
    /// It cannot be told (something else is in its place, it cannot be looked at).
    Unknown(String),
}

/// The folder an interrupted `create_folder` was making.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEvidence {
    /// The folder as shown (`… on HOST` for a host).
    pub folder: String,
    pub state: FolderState,
}

impl FolderEvidence {
    /// The folder's state in words that never read as done unless it is there.
    pub fn describe(&self) -> String {
        match &self.state {
            FolderState::Present => format!("the folder {} is present", self.folder),
            FolderState::Missing => {
                format!("the folder {} is missing (not created yet)", self.folder)
            }
            FolderState::Unknown(why) => {
                format!(
                    "whether the folder {} was created cannot be told: {why}",
                    self.folder
                )
            }
        }
    }
}

/// What an interrupted `create_folder` left on this machine; `None` for any other action.
pub fn folder(plan: &Plan, instance: &Instance, action: &Action) -> Option<FolderEvidence> {
    match action {
        Action::CreateFolder(a) => Some(super::create_folder::evidence(plan, instance, a)),
        _ => None,
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::Bindings;
    use crate::runbook::{Runbook, Source, Value, load};

    const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
parameters:
  - { name: src, type: path, prompt: Source }
  - { name: dst, type: path, prompt: Destination }
phases:
  - id: main
    title: Main
    steps:
      - id: copy
        title: Copy
        action: { type: copy, from: '{{ src }}', to: '{{ dst }}', files: [One.msi, Two.msi, Three.msi] }
      - id: write
        title: Write
        action: { type: write_file, dir: '{{ dst }}', file: App.config, content: "new\n" }
      - id: cmd
        title: Command
        action: { type: command, program: sh, args: [-c, 'true'] }
"#;

    fn runbook() -> Runbook {
        let source = Source {
            name: "t.yaml".into(),
            text: RUNBOOK.into(),
        };
        load(&source).runbook.unwrap()
    }

    fn bindings(src: &Path, dst: &Path) -> Bindings {
        let mut b = Bindings::default();
        b.values
            .insert("src".into(), Value::Text(src.display().to_string()));
        b.values
            .insert("dst".into(), Value::Text(dst.display().to_string()));
        b
    }

    #[test]
    fn an_interrupted_copy_and_write_are_described_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        for name in ["One.msi", "Two.msi", "Three.msi"] {
            std::fs::write(src.join(name), format!("new {name}")).unwrap();
        }
        std::fs::write(dst.join("one.msi"), "new One.msi").unwrap();
        std::fs::write(dst.join("Two.msi"), "old").unwrap();
        std::fs::write(dst.join(".Three.msi.stepwise-part"), "new Th").unwrap();
        std::fs::write(dst.join("App.config"), "old\n").unwrap();
        let rb = runbook();
        let plan = Plan::new(&rb, &bindings(&src, &dst));
        let copy = plan.instance("copy").unwrap();
        let action = &rb.step("copy").unwrap().action;
        let s = survey(&plan, copy, action).unwrap();
        let states: Vec<(&str, &FileState, bool)> = s
            .files
            .iter()
            .map(|f| (f.name.as_str(), &f.state, f.partial.is_some()))
            .collect();
        assert_eq!(
            states,
            [
                ("One.msi", &FileState::InPlace, false),
                ("Two.msi", &FileState::OldVersion, false),
                ("Three.msi", &FileState::Missing, true),
            ]
        );
        assert!(!s.complete());
        assert_eq!(
            s.headline(),
            format!("1 of 3 files in place in {}", dst.display())
        );
        assert_eq!(
            s.files[2].describe(true),
            "missing (not copied yet); partial temporary file .Three.msi.stepwise-part beside it"
        );
        assert_eq!(
            leftovers(&plan, copy, action),
            [dst.join(".Three.msi.stepwise-part")]
        );

        let write = plan.instance("write").unwrap();
        let action = &rb.step("write").unwrap().action;
        let s = survey(&plan, write, action).unwrap();
        assert_eq!(s.files[0].state, FileState::OldVersion);
        assert_eq!(
            s.files[0].describe(false),
            "old version (does not hold the content: not written yet)"
        );
        std::fs::write(dst.join("App.config"), "new\n").unwrap();
        assert!(survey(&plan, write, action).unwrap().complete());

        let cmd = plan.instance("cmd").unwrap();
        assert!(survey(&plan, cmd, &rb.step("cmd").unwrap().action).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_temporary_name_is_not_a_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(dir.path().join("precious"), "keep").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("precious"),
            dst.join(".App.config.stepwise-part"),
        )
        .unwrap();
        let rb = runbook();
        let plan = Plan::new(&rb, &bindings(&src, &dst));
        let write = plan.instance("write").unwrap();
        assert!(leftovers(&plan, write, &rb.step("write").unwrap().action).is_empty());
    }
}
