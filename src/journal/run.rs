//! A run folder: its header (`run.json`), its runbook copy, and finding runs in a state folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::event::ParamValue;
use super::file::{self, JournalRead};
use super::lock::{self, LockState};
use super::progress::Progress;
use super::time::Timestamp;
use super::{Error, EventKind, Identity};
use crate::plan::{Bindings, Plan};
use crate::runbook::{ParamType, Source};
use crate::target::Inventory;

/// The version of the run folder's format that this stepwise writes and reads. Format 2 links
/// the journal's events into a hash chain; format 1 runs (unlinked) are still read and resumed.
pub const FORMAT_VERSION: u32 = 2;

pub(super) const HEADER_FILE: &str = "run.json";
pub(super) const RUNBOOK_FILE: &str = "runbook.yaml";
pub(super) const JOURNAL_FILE: &str = "journal.jsonl";
pub(super) const OUTPUT_DIR: &str = "output";
pub(super) const BACKUP_DIR: &str = "backup";

/// `run.json`: what a run is, written once when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT_VERSION`] of the stepwise that created the run.
    pub stepwise_run_format: u32,
    pub run_id: String,
    pub runbook_id: String,
    pub runbook_title: String,
    /// The name the runbook was given by: `runbooks/ID.yaml` for a bundled one, else its path.
    pub runbook_source: String,
    /// [`Source::content_hash`] of the runbook text (kept beside as `runbook.yaml`).
    pub runbook_sha256: String,
    /// Parameter values in force at the start, defaults included; never a secret's.
    pub params: BTreeMap<String, ParamValue>,
    /// Names of the secret parameters, whose values are asked again on resume.
    #[serde(default)]
    pub secret_params: Vec<String>,
    pub hosts: BTreeMap<String, Vec<String>>,
    pub operator: String,
    pub machine: String,
    pub started: Timestamp,
    pub rehearsal: bool,
    pub stepwise_version: String,
    /// Where files are backed up, when not the run folder's `backup/`: a rehearsal keeps its
    /// backups in its sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<PathBuf>,
    /// How the run's hosts are reached (targets, per-host values, the known-hosts file), as the
    /// inventory gave them when the run started; resume reaches them the same way.
    #[serde(default, skip_serializing_if = "Inventory::is_empty")]
    pub inventory: Inventory,
}

/// One run folder, with its header read.
#[derive(Debug, Clone)]
pub struct Run {
    dir: PathBuf,
    header: Header,
}

impl Run {
    /// Opens the run in `dir`, reading its header.
    pub fn open(dir: &Path) -> Result<Run, Error> {
        let header = read_header(dir)?;
        Ok(Run {
            dir: dir.to_path_buf(),
            header,
        })
    }

    pub(super) fn from_parts(dir: PathBuf, header: Header) -> Run {
        Run { dir, header }
    }

    /// A run named on the command line: a run folder's path, or a run id under `state_dir`.
    pub fn find(state_dir: &Path, arg: &str) -> Result<Run, Error> {
        let path = Path::new(arg);
        if path.is_dir() {
            return Run::open(path);
        }
        let under = state_dir.join(arg);
        if !arg.contains(['/', '\\']) && under.is_dir() {
            return Run::open(&under);
        }
        Err(Error::NotFound(format!(
            "no run `{arg}`: not a run folder, and not a run id under {}",
            state_dir.display()
        )))
    }

    /// The newest run under `state_dir` (`None` when there is none).
    pub fn newest(state_dir: &Path) -> Result<Option<Run>, Error> {
        list_runs(state_dir)?
            .into_iter()
            .next()
            .map(|listed| listed.run)
            .transpose()
    }

    pub fn id(&self) -> &str {
        &self.header.run_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
    }

    pub fn runbook_path(&self) -> PathBuf {
        self.dir.join(RUNBOOK_FILE)
    }

    /// Where command output is saved.
    pub fn output_dir(&self) -> PathBuf {
        self.dir.join(OUTPUT_DIR)
    }

    /// Where files are backed up before being replaced: `backup/` in the run folder, or the
    /// folder the header names (a rehearsal's sandbox).
    pub fn backup_dir(&self) -> PathBuf {
        match &self.header.backup_dir {
            Some(dir) => dir.clone(),
            None => self.dir.join(BACKUP_DIR),
        }
    }

    /// Reads the journal and checks that it belongs to this run.
    pub fn read_journal(&self) -> Result<JournalRead, Error> {
        let path = self.journal_path();
        let read = file::read(&path)?;
        if let Some(EventKind::RunStarted {
            run_id,
            runbook_id,
            runbook_sha256,
            ..
        }) = read.events.first().map(|e| &e.kind)
        {
            let h = &self.header;
            let disagreement = if *run_id != h.run_id {
                Some(format!(
                    "this journal belongs to run {run_id}, not to run {} (run.json)",
                    h.run_id
                ))
            } else if *runbook_id != h.runbook_id {
                Some(format!(
                    "the journal's run follows runbook `{runbook_id}`, but run.json says `{}`; one of them was changed",
                    h.runbook_id
                ))
            } else if *runbook_sha256 != h.runbook_sha256 {
                Some(format!(
                    "the journal's run follows the runbook with SHA-256 {runbook_sha256}, but run.json says {}; one of them was changed",
                    h.runbook_sha256
                ))
            } else {
                None
            };
            if let Some(message) = disagreement {
                return Err(Error::Corrupt {
                    path,
                    line: Some(1),
                    message,
                });
            }
        }
        self.check_chain_start(&read)?;
        Ok(read)
    }

    /// The journal's first link must be the run header's SHA-256; a run of format 2 or later
    /// must have a linked journal.
    fn check_chain_start(&self, read: &JournalRead) -> Result<(), Error> {
        let corrupt = |message: String| Error::Corrupt {
            path: self.journal_path(),
            line: Some(1),
            message,
        };
        match &read.chain {
            file::Chain::Unlinked if self.header.stepwise_run_format >= 2 => Err(corrupt(format!(
                "the journal's chain is broken here: run.json says run format {}, whose events are linked, but this one carries no {}; the journal was rewritten",
                self.header.stepwise_run_format,
                file::LINK_FIELD
            ))),
            file::Chain::Unlinked => Ok(()),
            file::Chain::Linked { first, .. } => {
                let path = self.dir.join(HEADER_FILE);
                let bytes = std::fs::read(&path)
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
                if file::sha256_hex(&bytes) == *first {
                    Ok(())
                } else {
                    Err(corrupt(format!(
                        "the journal's chain is broken here: the first event does not follow {HEADER_FILE} (its {} differs); run.json was changed after the run started",
                        file::LINK_FIELD
                    )))
                }
            }
        }
    }

    /// The runbook as it was when the run started (`runbook.yaml`).
    pub fn runbook_source(&self) -> Result<Source, Error> {
        let path = self.runbook_path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Ok(Source {
            name: path.display().to_string(),
            text,
        })
    }

    /// The parameter values and host lists of the run: the header's, overridden by the last
    /// `params_set` and `hosts_set` events. Secrets are not among them.
    pub fn bindings(&self, progress: &Progress) -> Bindings {
        let mut b = Bindings::default();
        for (name, value) in self.header.params.iter().chain(&progress.params) {
            b.values.insert(name.clone(), value.into());
        }
        for (role, hosts) in self.header.hosts.iter().chain(&progress.hosts) {
            b.hosts.insert(role.clone(), hosts.clone());
        }
        b.inventory = self.header.inventory.clone();
        b
    }

    /// Whether a process drives the run now (looks without taking the lock).
    pub fn lock_state(&self) -> LockState {
        lock::probe(&self.dir)
    }
}

fn read_header(dir: &Path) -> Result<Header, Error> {
    let path = dir.join(HEADER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() => {
            return Err(Error::Corrupt {
                path: dir.to_path_buf(),
                line: None,
                message: format!("not a stepwise run folder (it has no {HEADER_FILE})"),
            });
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let corrupt = |e: serde_json::Error, what: &str| Error::Corrupt {
        path: path.clone(),
        line: Some(e.line()).filter(|l| *l > 0),
        message: format!("{what}: {}", strip_position(&e.to_string())),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(e, "not a stepwise run header"))?;
    match value.get("stepwise_run_format").and_then(|v| v.as_u64()) {
        None => {
            return Err(Error::Corrupt {
                path,
                line: None,
                message: "not a stepwise run header (it has no stepwise_run_format)".into(),
            });
        }
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(Error::Corrupt {
                path,
                line: None,
                message: format!(
                    "the run was recorded by a newer stepwise (run format {v}; this one reads {FORMAT_VERSION})"
                ),
            });
        }
        Some(_) => {}
    }
    serde_json::from_str(&text).map_err(|e| corrupt(e, "invalid run header"))
}

/// serde_json ends its messages with " at line L column C"; the line is reported first.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A run folder found in a state folder: the run, or why it cannot be read.
#[derive(Debug)]
pub struct ListedRun {
    pub dir: PathBuf,
    pub run: Result<Run, Error>,
}

/// Every run under `state_dir`, newest first. Hidden folders (runs being created) and folders
/// with neither header nor journal are not runs.
pub fn list_runs(state_dir: &Path) -> Result<Vec<ListedRun>, Error> {
    let entries = std::fs::read_dir(state_dir).map_err(|e| {
        // Windows (and Wine) answer for a file in several ways; say the same everywhere.
        let e = if std::fs::metadata(state_dir).is_ok_and(|m| !m.is_dir()) {
            std::io::Error::from(std::io::ErrorKind::NotADirectory)
        } else {
            e
        };
        Error::io(
            format!("cannot read the state folder {}", state_dir.display()),
            e,
        )
    })?;
    let mut runs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::io(
                format!("cannot read the state folder {}", state_dir.display()),
                e,
            )
        })?;
        let dir = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !dir.is_dir() {
            continue;
        }
        if !dir.join(HEADER_FILE).exists() && !dir.join(JOURNAL_FILE).exists() {
            continue;
        }
        let run = Run::open(&dir);
        runs.push(ListedRun { dir, run });
    }
    runs.sort_by(|a, b| {
        let key = |r: &ListedRun| r.run.as_ref().ok().map(|r| r.header.started);
        key(b).cmp(&key(a)).then_with(|| b.dir.cmp(&a.dir))
    });
    Ok(runs)
}

/// What a new run needs. [`NewRun::new`] fills in the operator, the machine, the time and a
/// fresh run id; tests and imports may set them.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub source: &'a Source,
    /// The plan the run follows: its runbook, parameter values and host lists.
    pub plan: &'a Plan<'a>,
    pub rehearsal: bool,
    pub identity: Identity,
    pub started: Timestamp,
    /// `None`: generated from the time, the runbook id and random digits.
    pub run_id: Option<String>,
    /// Back files up here instead of the run folder's `backup/` (a rehearsal's sandbox).
    pub backup_dir: Option<PathBuf>,
}

impl<'a> NewRun<'a> {
    pub fn new(source: &'a Source, plan: &'a Plan<'a>, rehearsal: bool) -> NewRun<'a> {
        NewRun {
            source,
            plan,
            rehearsal,
            identity: Identity::current(),
            started: Timestamp::now(),
            run_id: None,
            backup_dir: None,
        }
    }

    pub(super) fn header(&self, run_id: &str) -> Header {
        let runbook = self.plan.runbook;
        let secret_params: Vec<String> = runbook
            .parameters
            .iter()
            .filter(|p| p.kind == ParamType::Secret)
            .map(|p| p.name.clone())
            .collect();
        let params = self
            .plan
            .resolved
            .values()
            .iter()
            .filter(|(name, _)| !secret_params.contains(name))
            .map(|(name, value)| (name.clone(), value.into()))
            .collect();
        Header {
            stepwise_run_format: FORMAT_VERSION,
            run_id: run_id.to_string(),
            runbook_id: runbook.id.clone(),
            runbook_title: runbook.title.clone(),
            runbook_source: self.source.name.clone(),
            runbook_sha256: self.source.content_hash(),
            params,
            secret_params,
            hosts: (*self.plan.hosts).clone(),
            operator: self.identity.operator.clone(),
            machine: self.identity.machine.clone(),
            started: self.started,
            rehearsal: self.rehearsal,
            stepwise_version: env!("CARGO_PKG_VERSION").to_string(),
            backup_dir: self.backup_dir.clone(),
            inventory: (*self.plan.inventory).clone(),
        }
    }
}

/// A fresh run id: `YYYYMMDD-HHMMSS-RUNBOOK-XXXX` (UTC, 4 random hex digits).
pub(super) fn new_run_id(runbook_id: &str, started: Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(Timestamp::now().unix_millis());
    h.write_u32(std::process::id());
    let name: String = runbook_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{name}-{:04x}", started.compact(), h.finish() & 0xffff)
}
