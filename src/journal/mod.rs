//! The record of a run: its folder, its append-only journal, replay into progress, and the lock
//! that lets one process drive it at a time.
//!
//! # The run folder
//!
//! Runs live under a state folder ([`state_dir`]: `--state-dir`, else `STEPWISE_STATE_DIR`, else
//! `./stepwise-runs`), one folder per run, named by the run id
//! (`20261121-234512-hmc45-ur6-3f9a`: UTC creation time, runbook id, 4 random hex digits; it
//! sorts by creation time). A run folder holds:
//!
//! | file | what | written |
//! | --- | --- | --- |
//! | `run.json` | the [`Header`]: runbook id, source name and SHA-256, parameter values (never secrets), hosts per role, operator, machine, start time, rehearsal or not | once, atomically |
//! | `runbook.yaml` | the runbook's text as it was when the run started | once, atomically |
//! | `journal.jsonl` | the [`Event`]s, one JSON object per line | appended, synced per event |
//! | `output/` | saved command output ([`Recorder::output_path`]) | by the actions |
//! | `backup/` | files backed up before they were replaced ([`Run::backup_dir`]) | by the actions |
//! | `lock`, `lock.json` | the run's lock and who holds it | by [`RunLock`] |
//!
//! A run folder is built under a hidden temporary name and renamed into place complete, so a run
//! folder without its header or first event never exists. A process killed in between leaves
//! the hidden `.RUN_ID.XXXXXX.new` folder; the state folder's creation lock (`.create.lock`)
//! tells such a folder from one being built now, and the next `run` or `resume` removes it
//! (`staging.rs`).
//!
//! # For the engine
//!
//! ```no_run
//! # use stepwise::journal::*;
//! # use stepwise::plan::{Bindings, Plan};
//! # fn demo(source: &stepwise::runbook::Source, runbook: &stepwise::runbook::Runbook)
//! # -> Result<(), Error> {
//! let plan = Plan::new(runbook, &Bindings::default());
//! // A new run: folder, header, runbook copy, the first events; the lock is held from here on.
//! let mut rec = Recorder::create(&state_dir(None), NewRun::new(source, &plan, false))?;
//! for instance in &plan.instances {
//!     rec.record(NewEvent::instance_started(instance))?; // on disk before the action runs
//!     // ... do the step, ask the operator ...
//!     rec.record(NewEvent::instance_done(instance, Completion::Confirmed))?;
//! }
//! rec.record(NewEvent::new(EventKind::RunFinished { outcome: RunOutcome::Completed }))?;
//!
//! // Later, in another process: take the lock, read, repair a torn end, record `resumed`.
//! let run = Run::find(&state_dir(None), "20261121-234512-hmc45-ur6-3f9a")?;
//! let rec = Recorder::resume(run, Identity::current())?;
//! for key in rec.progress().in_doubt() { /* ask whether it completed: in_doubt_resolved */ }
//! # Ok(()) }
//! ```
//!
//! - [`Recorder::record`] returns only once the event is on disk (written whole, flushed,
//!   `sync_data`); record `instance_started` before an action runs, so that a crash leaves that
//!   instance *in doubt* ([`Progress::in_doubt`]) rather than silently pending or done.
//! - [`Recorder::progress`] is kept up to date with every recorded event; [`Progress::next`]
//!   gives the instance to go on with and [`Progress::counts`] the numbers for a progress bar.
//! - Before resuming, compare [`Header::runbook_sha256`] with the runbook at hand
//!   ([`Run::runbook_source`] has the old text to diff against), and record
//!   `runbook_changed_accepted` when the operator accepts the change.
//! - [`Recorder::resume`] refuses with [`Error::InUse`] when another process holds the run.
//!
//! Which event when (constructors on [`NewEvent`] fill in the key and host of an instance):
//!
//! | kind | the engine records it |
//! | --- | --- |
//! | `run_started`, `params_set`, `hosts_set` | never: [`Recorder::create`] does |
//! | `params_set`, `hosts_set` | when the operator changes values or hosts later (the plan follows the last ones) |
//! | `prerequisites_confirmed` | when the operator confirms the prerequisites |
//! | `checks_overridden` | when the operator goes on despite blocking dry-run findings |
//! | `instance_started` | before an automated instance's action runs (each attempt); a manual instance is recorded when the operator decides |
//! | `item_done`, `item_skipped` | per item, as the operator confirms it (a skip needs a reason) |
//! | `instance_done`, `instance_skipped`, `instance_failed` | when the instance ends (retry: `instance_started` again); `instance_done` says `how` (automated, confirmed, by_hand, workaround, rehearsed) |
//! | `instance_partly_done` | a step with items confirmed with some items not done (the ids left) |
//! | `instance_reopened` | the operator reopens a settled instance; it is pending again |
//! | `command_started` | when a command's process has started (its pid and machine), so resume can tell whether it still runs |
//! | `action_output` | after a command ends: the saved output file and the exit code |
//! | `file_copied` | as a copy finishes each file, before the next: its name, path, size and the SHA-256 verified on disk (`in_place` for a file an earlier attempt had copied) |
//! | `note_added`, `known_issue_applied` | on the operator's word, for an instance or the run |
//! | `in_doubt_resolved` | on resume, per [`Progress::in_doubt`] instance (`not_done` makes it pending again; `done` says `how`: automated on the evidence, by_hand on the operator's word) |
//! | `runbook_changed_accepted` | on resume, when the runbook's hash differs and the operator goes on |
//! | `paused`, `interrupted` | on pause (exit 3) and on Ctrl-C (exit 130); a note may say why |
//! | `resumed` | never: [`Recorder::resume`] does |
//! | `run_finished` | at the end: `completed`, or `aborted` after a failure |
//!
//! Readers (`status`, `log`, checklists with `--run`) use [`Run::open`] / [`Run::find`] /
//! [`list_runs`], then [`Run::replay_journal`] (or [`Run::scan_journal`], to see each event as
//! it is replayed), which read the journal a batch of lines at a time and keep no events; they
//! never take the lock ([`Run::lock_state`] only looks).
//!
//! # What this module must never do
//!
//! Rewrite a journal in place (it only appends; a torn last line is closed with a newline and
//! marked by the next `resumed` event), write a secret parameter's value anywhere, or panic on a
//! file it did not write: a foreign or corrupt header or journal is an [`Error::Corrupt`] that
//! names the file and line.

mod event;
mod file;
mod lock;
mod progress;
mod recorder;
mod run;
mod staging;
mod time;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use event::{
    Completion, Event, EventKind, NewEvent, ParamValue, Resolution, RestartPhase, RunOutcome,
};
pub use file::{
    Chain, Events as JournalEvents, JournalEnd, JournalRead, JournalScan, JournalWriter,
    LINK_FIELD, parse as parse_journal, read as read_journal, scan as scan_journal,
};
pub use lock::{HOLDER_FILE, Holder, LOCK_FILE, LockState, RunLock, probe as probe_lock};
pub use progress::{
    Counts, FileRecord, InstanceProgress, InstanceState, ItemProgress, ItemState, Lifecycle, Note,
    Progress, RunState, Stamp,
};
pub use recorder::Recorder;
pub use run::{FORMAT_VERSION, Header, ListedRun, NewRun, Run, list_runs};
pub use staging::{
    CREATION_LOCK, abandoned as abandoned_creations, sweep_if_idle as sweep_abandoned_creations,
};
pub use time::{Timestamp, format_duration};

/// The environment variable that names the state folder.
pub const STATE_DIR_ENV: &str = "STEPWISE_STATE_DIR";
/// The state folder when neither `--state-dir` nor the environment names one.
pub const DEFAULT_STATE_DIR: &str = "stepwise-runs";

/// The state folder: `--state-dir DIR`, else `STEPWISE_STATE_DIR`, else `./stepwise-runs`.
pub fn state_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os(STATE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_STATE_DIR),
    }
}

/// Who is recording: the operator, the machine, and the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub operator: String,
    pub machine: String,
    pub pid: u32,
}

impl Identity {
    /// The operator from `USER` or `USERNAME`, the machine's host name, this process's id.
    /// `run` and `resume` replace the operator with the name `engine::operator` resolves, so
    /// "unknown" is never what they record.
    pub fn current() -> Identity {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let operator = env("USER")
            .or_else(|| env("USERNAME"))
            .unwrap_or_else(|| "unknown".into());
        Identity {
            operator,
            machine: machine_name(),
            pid: std::process::id(),
        }
    }
}

/// The host name of this machine: the kernel's on Linux, `COMPUTERNAME` on Windows.
pub fn machine_name() -> String {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    from_proc
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What can go wrong with a run's files.
#[derive(Debug)]
pub enum Error {
    /// A file operation failed: what was being done, and why.
    Io { what: String, error: io::Error },
    /// A file in a run folder is not what stepwise writes: foreign, corrupt, or too new.
    Corrupt {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// Another process drives the run.
    InUse {
        run_id: String,
        holder: Option<Holder>,
    },
    /// No run matches what was asked for.
    NotFound(String),
    /// A request that would break a promise of the journal (recording a secret, say).
    Refused(String),
}

impl Error {
    pub fn io(what: impl Into<String>, error: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, error } => {
                write!(f, "{what}: {}", crate::error::describe_io(error))
            }
            Error::Corrupt {
                path,
                line: Some(line),
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
            Error::Corrupt {
                path,
                line: None,
                message,
            } => write!(f, "{}: {message}", path.display()),
            Error::InUse {
                run_id,
                holder: Some(h),
            } => write!(
                f,
                "run {run_id} is in use by process {} on {} since {}",
                h.pid, h.machine, h.since
            ),
            Error::InUse {
                run_id,
                holder: None,
            } => write!(f, "run {run_id} is in use by another process"),
            Error::NotFound(m) | Error::Refused(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> crate::error::Error {
        match e {
            Error::NotFound(m) => crate::error::Error::Usage(m),
            other => crate::error::Error::Failed(other.to_string()),
        }
    }
}
