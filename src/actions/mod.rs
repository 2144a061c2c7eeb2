//! The actions of a step — `manual`, `command`, `copy`, `write_file`, `check` — each of which
//! knows how to check itself without changing anything and how to do its work.
//!
//! # The two entry points
//!
//! - [`check`]`(plan, instance, action, env)` returns [`Finding`]s. It is read-only: it lists
//!   folders, reads metadata and file contents, looks programs up; it never writes a file, never
//!   creates a folder, never runs a command. `stepwise check` calls it for every step instance of
//!   a plan (through [`crate::dryrun`]), and the engine calls it again just before it runs an
//!   automated action, so the operator sees what would stop it before anything changes.
//! - [`execute`]`(plan, instance, action, ctx)` does the work and returns an [`Outcome`] or a
//!   [`Failure`]. It reports progress through [`ExecContext::progress`] (bytes of a copy for a
//!   byte progress bar, lines of a command's output for an output tail) and stops early when
//!   [`ExecContext::cancel`] is set (a copy between chunks, a command by killing it).
//!
//! Both go through the same helpers ([`fsops`], and in each action module the one function that
//! surveys what is on disk), so check and run cannot drift apart: a copy's execution first runs
//! its own check and refuses to start on a blocking finding ([`FailureKind::NotReady`]).
//!
//! # What the engine can rely on
//!
//! - Execution is idempotent and resumable. A copy skips a file that is already at the
//!   destination with the source's content ([`Done::AlreadyInPlace`]), so a copy interrupted by
//!   a crash is finished by running it again; a file it replaces is backed up once, into
//!   `ctx.backup_dir/<instance key>/` under the destination's existing name, and an existing
//!   backup is never overwritten. A `write_file` whose target already holds the content does
//!   nothing. A command is not idempotent: whether to run it again is the operator's call.
//! - Files are replaced atomically: a copy or a `write_file` goes through a temporary file beside
//!   the target (`.NAME.stepwise-part`, the same name every time, so an interrupted attempt leaves
//!   at most one, which the next attempt replaces), synced, verified, then renamed.
//! - A command's output (stdout and stderr, interleaved as they come) is appended to
//!   `ctx.output_dir/<instance key>.log`; the last lines are kept in [`CommandRun::tail`]. The
//!   header line written there shows secrets masked.
//! - Paths in a runbook are Windows paths. On Windows `%VAR%` placeholders are expanded; on any
//!   other system a path that needs Windows (a drive letter, `\\server`, `%VAR%`) cannot be
//!   checked (a warning, never a blocking finding) and backslashes are folder separators. File
//!   names match ignoring case, as on Windows.
//! - An instance whose target is `ssh` is checked and done on its host ([`check_on`],
//!   [`ExecContext::remote`]): `command`, `write_file`, `copy` (from the package on this machine
//!   to the host), `create_folder` and `check`; a `restart` only through the walk, which waits
//!   for it; nothing of such an instance runs on the machine where `stepwise` runs.
//!
//! Nothing here prompts, prints, or writes the journal: that is the engine's job.
//!
//! # How the engine uses it
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//!
//! use stepwise::actions::{self, CheckEnv, ExecContext, FailureKind, Progress, Severity};
//! use stepwise::plan::Plan;
//!
//! fn run_instance(plan: &Plan, key: &str, run_dir: &Path, cancel: Arc<AtomicBool>) {
//!     let instance = plan.instance(key).expect("an instance of the plan");
//!     // The action itself, or a manual step's automation once the operator chose it.
//!     let Some(action) = plan.step_of(instance).step.automated() else {
//!         return; // a manual step: the operator confirms it
//!     };
//!     let env = CheckEnv { backup_dir: Some(run_dir.join("backup")) };
//!     let findings = actions::check(plan, instance, action, &env);
//!     if findings.iter().any(|f| f.severity == Severity::Blocking) {
//!         return; // show them; offer retry, skip, or abort
//!     }
//!     // Journal "started" here, before anything changes.
//!     let (backup, output) = (run_dir.join("backup"), run_dir.join("output"));
//!     let mut progress = |p: Progress<'_>| match p {
//!         Progress::Bytes { done, total, .. } => eprintln!("{done} of {total} bytes"),
//!         Progress::Line(line) => eprintln!("| {line}"),
//!         Progress::Started { pid } => eprintln!("started as process {pid}"),
//!         // Journal "file_copied" with it, at once.
//!         Progress::FileCopied(f) => eprintln!("{} sha256 {}", f.path.display(), f.sha256),
//!     };
//!     let mut ctx = ExecContext {
//!         backup_dir: &backup,
//!         output_dir: &output,
//!         progress: &mut progress,
//!         cancel,
//!         remote: None,
//!     };
//!     match actions::execute(plan, instance, action, &mut ctx) {
//!         Ok(outcome) => println!("{}", outcome.summary), // journal "done" with outcome.done
//!         Err(f) if f.kind == FailureKind::Cancelled => {} // save, exit 130
//!         Err(f) => println!("failed: {f}"), // journal it; offer retry, by hand, skip, abort
//!     }
//! }
//! ```
//!
//! For the whole plan at the start of a run, [`crate::dryrun::check_plan`] adds the findings
//! about parameters, host lists and conditions, and its report calls [`check`] for every
//! instance as its findings are read.

mod assert;
mod command;
mod copy;
mod create_folder;
pub mod evidence;
pub mod fsops;
mod remote;
mod remote_copy;
pub mod remote_evidence;
pub mod restart;
pub mod shell;
pub(crate) mod transfer;
mod wait;
mod write_file;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use crate::plan::{Instance, Plan};
use crate::runbook::{Action, Assertion, ParamType, Template};

pub use command::{ProgramLookup, command_line, find_program, still_running};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Checked and fine (or only informational).
    Ok,
    /// Could not be fully checked, or may bite; does not stop a run.
    Warning,
    /// Would make the step fail: fix it before running.
    Blocking,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Blocking => "blocking",
        }
    }
}

/// A finding's text: most are fixed words (a manual step's finding, once per instance of a plan
/// of millions), which are borrowed rather than copied.
pub type Text = std::borrow::Cow<'static, str>;

/// One result of a dry-run check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The step instance key, or `None` for a finding about the whole runbook.
    pub instance: Option<String>,
    /// What was checked: `destination folder /srv/msishare`.
    pub checked: Text,
    /// What was found: `does not exist`.
    pub found: Text,
    /// What to do about it (for warnings and blocking findings).
    pub to_do: Option<Text>,
}

impl Finding {
    pub fn new(
        severity: Severity,
        instance: Option<&Instance>,
        checked: impl Into<Text>,
        found: impl Into<Text>,
    ) -> Finding {
        Finding {
            severity,
            instance: instance.map(|i| i.key.clone()),
            checked: checked.into(),
            found: found.into(),
            to_do: None,
        }
    }

    pub fn ok(instance: &Instance, checked: impl Into<Text>, found: impl Into<Text>) -> Finding {
        Finding::new(Severity::Ok, Some(instance), checked, found)
    }

    pub fn warning(
        instance: &Instance,
        checked: impl Into<Text>,
        found: impl Into<Text>,
        to_do: impl Into<Text>,
    ) -> Finding {
        Finding::new(Severity::Warning, Some(instance), checked, found).to_do(to_do)
    }

    pub fn blocking(
        instance: &Instance,
        checked: impl Into<Text>,
        found: impl Into<Text>,
        to_do: impl Into<Text>,
    ) -> Finding {
        Finding::new(Severity::Blocking, Some(instance), checked, found).to_do(to_do)
    }

    pub fn to_do(mut self, to_do: impl Into<Text>) -> Finding {
        self.to_do = Some(to_do.into());
        self
    }

    /// `checked: found`, for a failure message.
    pub fn sentence(&self) -> String {
        format!("{}: {}", self.checked, self.found)
    }
}

/// What a dry-run check may know about the run it prepares.
#[derive(Debug, Clone, Default)]
pub struct CheckEnv {
    /// Where the run will keep its backups (need not exist yet): the room for backups is
    /// measured on its file system. Without it, the room for backups is not checked.
    pub backup_dir: Option<PathBuf>,
}

/// Checks one action of one step instance on its host, reached over SSH through `remote`, or
/// on this machine when `remote` is `None`.
pub fn check_on(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    env: &CheckEnv,
    remote: Option<&crate::target::ssh::Session>,
) -> Vec<Finding> {
    match (remote, action) {
        (Some(s), Action::Restart(r)) => restart::check_remote(plan, instance, r, env, s),
        (Some(s), _) => {
            let mut findings = remote::check(plan, instance, action, env, s);
            findings.extend(waits(instance, action));
            findings
        }
        (None, _) => check(plan, instance, action, env),
    }
}

/// For a `check` that waits: the finding that says how long a run would wait.
fn waits(instance: &Instance, action: &Action) -> Option<Finding> {
    match action {
        Action::Check(c) => c.retry.map(|r| wait::finding(instance, r)),
        _ => None,
    }
}

/// Checks one action of one step instance on this machine without changing anything.
pub fn check(plan: &Plan, instance: &Instance, action: &Action, env: &CheckEnv) -> Vec<Finding> {
    match action {
        Action::Manual => vec![Finding::ok(
            instance,
            "manual step",
            "the operator does it and confirms",
        )],
        Action::Command(a) => command::check(plan, instance, a),
        Action::Copy(a) => copy::check(plan, instance, a, env.backup_dir.as_deref()),
        Action::WriteFile(a) => write_file::check(plan, instance, a),
        Action::CreateFolder(a) => create_folder::check(plan, instance, a),
        Action::Check(a) => {
            let mut findings = assert::check(plan, instance, a);
            findings.extend(waits(instance, action));
            findings
        }
        Action::Restart(_) => restart::check_here(instance),
    }
}

/// A step of execution's progress, for the engine's progress bar and output tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// A copy: `done` bytes of `total` for the whole action; `file` is being copied.
    Bytes {
        file: &'a str,
        done: u64,
        total: u64,
    },
    /// One line of a command's output (stdout and stderr as they come), without its newline.
    Line(&'a str),
    /// A command's process started with this id.
    Started { pid: u32 },
    /// A copy put a file in place (or found it there) and verified it on disk: the engine
    /// journals it (`file_copied`) at once, before the next file.
    FileCopied(&'a FileCopied),
}

/// One file a copy put in place, as the journal records it: what the runbook calls it, where it
/// is, its size, and the SHA-256 of its content as read back from the destination after the
/// sync. A remote copy reports the same record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCopied {
    /// The name as the runbook spells it.
    pub name: String,
    /// Where it is now.
    pub path: PathBuf,
    pub bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// It was already there with the source's content (left by an interrupted attempt).
    pub in_place: bool,
}

/// What an execution gets from the engine.
pub struct ExecContext<'a> {
    /// The run's `backup/` folder; created when a first backup is made.
    pub backup_dir: &'a Path,
    /// The run's `output/` folder; created when a first command runs.
    pub output_dir: &'a Path,
    /// Called with progress on the calling thread.
    pub progress: &'a mut dyn FnMut(Progress<'_>),
    /// Set it (from a Ctrl-C handler, say) to stop the action: a copy stops between chunks and
    /// removes its temporary file, a command is killed.
    pub cancel: Arc<AtomicBool>,
    /// The instance's host over SSH, when its target is `ssh`; `None` runs on this machine.
    pub remote: Option<&'a crate::target::ssh::Session>,
}

/// One thing an execution did (or found already done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Done {
    /// A file was copied to `to`; the file it replaced, if any, is at `backup`.
    Copied {
        name: String,
        to: PathBuf,
        bytes: u64,
        backup: Option<PathBuf>,
    },
    /// The file was already at `to` with the source's content (an earlier, interrupted attempt).
    AlreadyInPlace { name: String, to: PathBuf },
    /// A file was written; the file it replaced, if any, is at `backup`.
    Written {
        path: PathBuf,
        bytes: u64,
        backup: Option<PathBuf>,
    },
    /// An assertion of a `check` action held.
    Held { check: String },
    /// The folder at `path` is there: created now, or found `existed` and left as it is;
    /// `above` are the folders above it that were missing and were created first.
    FolderCreated {
        path: PathBuf,
        existed: bool,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        above: Vec<PathBuf>,
    },
}

/// What running a command gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    /// The command line as shown to the operator (secrets masked).
    pub command_line: String,
    /// The exit code, when the command exited by itself.
    pub exit_code: Option<i32>,
    /// Where its output was written.
    pub output_file: Option<PathBuf>,
    /// Its last lines of output.
    pub tail: Vec<String>,
    pub duration: Duration,
}

/// A successful execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One line for the operator and the journal: `copied 9 files (2 already in place)`.
    pub summary: String,
    pub done: Vec<Done>,
    /// For a command (and a `check` action's command assertions, the last one run).
    pub command: Option<CommandRun>,
}

/// Why an execution failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The action cannot start: its check has a blocking finding (a parameter without a value, a
    /// missing file, a wrong size, a folder that is not writable).
    NotReady,
    /// Reading, writing or renaming a file failed.
    Io,
    /// A copied or written file is not what was expected.
    Verify,
    /// The command could not be started.
    CannotStart,
    /// The command exited with a code that is not among its success codes.
    ExitCode(i32),
    /// The command was ended by a signal it was not sent by us (Unix).
    Killed,
    /// The command ran past its timeout and was killed.
    TimedOut,
    /// The cancellation flag was set.
    Cancelled,
    /// An assertion of a `check` action does not hold.
    AssertionFailed,
    /// The connection to the host dropped while the action ran: its outcome is unknown (it may
    /// have finished on the host), so it is neither done nor failed.
    ConnectionLost,
    /// The connection is still open, but a request that changes the host (the move of a
    /// written file into place) got no answer in time: the host may carry it out yet, so the
    /// outcome is unknown, neither done nor failed.
    OutcomeUnknown,
}

impl FailureKind {
    /// Whether the action's outcome is unknown: it may have done its work on the host, so it
    /// must be recorded neither as done nor as failed, and is answered from evidence.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            FailureKind::ConnectionLost | FailureKind::OutcomeUnknown
        )
    }
}

/// A failed execution: what went wrong, and what had been done before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// Names the file or command and what was expected.
    pub message: String,
    /// What was done before the failure (a copy's files already copied, with their backups).
    pub done: Vec<Done>,
    /// For a command: what it gave before it failed (boxed: a failure stays small).
    pub command: Option<Box<CommandRun>>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            done: Vec::new(),
            command: None,
        }
    }

    fn with_done(mut self, done: Vec<Done>) -> Failure {
        self.done = done;
        self
    }

    /// A failure from the blocking findings of the action's own check.
    /// The action cannot start: its blocking findings say why, or, when none blocks, the
    /// findings that are not ok.
    fn not_ready(findings: &[Finding]) -> Failure {
        let said = |pick: fn(&Finding) -> bool| {
            findings
                .iter()
                .filter(|f| pick(f))
                .map(Finding::sentence)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut message = said(|f| f.severity == Severity::Blocking);
        if message.is_empty() {
            message = said(|f| f.severity != Severity::Ok);
        }
        Failure::new(FailureKind::NotReady, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// Does the work of one action of one step instance.
pub fn execute(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    if let Action::Restart(_) = action {
        // Only the walk runs a restart: it waits for the host to come back.
        return Err(restart::not_here(instance));
    }
    if let Action::Check(c) = action
        && let Some(retry) = c.retry
    {
        return wait::retrying(retry, ctx, |ctx| execute_once(plan, instance, action, ctx));
    }
    execute_once(plan, instance, action, ctx)
}

/// One execution of an action (a `check` that waits is made of several).
fn execute_once(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    if let Some(s) = ctx.remote {
        return remote::execute(plan, instance, action, ctx, s);
    }
    match action {
        Action::Manual => Ok(Outcome {
            summary: "manual step: nothing to run".into(),
            done: Vec::new(),
            command: None,
        }),
        Action::Command(a) => command::execute(plan, instance, a, ctx),
        Action::Copy(a) => copy::execute(plan, instance, a, ctx),
        Action::WriteFile(a) => write_file::execute(plan, instance, a, ctx),
        Action::CreateFolder(a) => create_folder::execute(plan, instance, a, ctx),
        Action::Check(a) => assert::execute(plan, instance, a, ctx),
        Action::Restart(_) => Err(restart::not_here(instance)),
    }
}

/// What an action will do, with parameters filled in (secrets masked): for the plan shown by
/// `stepwise check` and for the engine to say before it asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionView {
    Manual,
    Command {
        /// The exact command line, arguments quoted where they need it.
        command_line: String,
        program: String,
        args: Vec<String>,
        cwd: Option<String>,
        timeout_secs: u64,
        success_codes: Vec<i32>,
        shell: bool,
    },
    Copy {
        from: String,
        to: String,
        files: Vec<String>,
        backup: bool,
        manifest: Option<String>,
    },
    WriteFile {
        /// The file written: `dir` and `file` joined.
        path: String,
        dir: String,
        file: String,
        backup: bool,
    },
    CreateFolder {
        path: String,
    },
    Check {
        /// Each assertion in words: `exists C:\x (1024 bytes)`.
        checks: Vec<String>,
        /// For a check that waits: `up to 5m, looking every 10s`.
        #[serde(skip_serializing_if = "Option::is_none")]
        waits: Option<String>,
    },
    Restart {
        /// The restart command line, arguments quoted where they need it.
        command_line: String,
        wait_secs: u64,
        /// What must hold once the host is back, in words.
        checks: Vec<String>,
    },
}

/// Describes an action for the operator.
pub fn describe(plan: &Plan, action: &Action) -> ActionView {
    let show = |t: &Template| plan.resolved.show(t);
    match action {
        Action::Manual => ActionView::Manual,
        Action::Command(a) => {
            let program = show(&a.program);
            let args: Vec<String> = a.args.iter().map(show).collect();
            let line = match a.shell {
                true => shell::line(plan, shell::Shell::local(), &a.program, &a.args, true).ok(),
                false => None,
            };
            ActionView::Command {
                command_line: line.unwrap_or_else(|| command_line(&program, &args)),
                program,
                args,
                cwd: a.cwd.as_ref().map(show),
                timeout_secs: a.timeout_secs,
                success_codes: a.success_codes.clone(),
                shell: a.shell,
            }
        }
        Action::Copy(a) => ActionView::Copy {
            from: show(&a.from),
            to: show(&a.to),
            files: a.files.iter().map(|f| f.value.clone()).collect(),
            backup: a.backup,
            manifest: a.manifest.as_ref().map(|m| m.value.clone()),
        },
        Action::WriteFile(a) => {
            let dir = show(&a.dir);
            ActionView::WriteFile {
                path: join_shown(&dir, &a.file),
                dir,
                file: a.file.clone(),
                backup: a.backup,
            }
        }
        Action::CreateFolder(a) => ActionView::CreateFolder {
            path: show(&a.path),
        },
        Action::Check(a) => ActionView::Check {
            checks: a.checks.iter().map(|c| assertion_words(plan, c)).collect(),
            waits: a.retry.map(|r| {
                format!(
                    "up to {}, looking every {}",
                    crate::runbook::model::written_duration(r.for_secs),
                    crate::runbook::model::written_duration(r.every_secs)
                )
            }),
        },
        Action::Restart(r) => {
            let args: Vec<String> = r.args.iter().map(show).collect();
            ActionView::Restart {
                command_line: command_line(&show(&r.program), &args),
                wait_secs: r.wait_secs,
                checks: r.checks.iter().map(|c| assertion_words(plan, c)).collect(),
            }
        }
    }
}

/// An assertion in words: `exists C:\x (1024 bytes)`.
fn assertion_words(plan: &Plan, c: &Assertion) -> String {
    let show = |t: &Template| plan.resolved.show(t);
    match c {
        Assertion::Exists { path, size: None } => format!("exists {}", show(path)),
        Assertion::Exists {
            path,
            size: Some(n),
        } => format!("exists {} ({n} bytes)", show(path)),
        Assertion::Writable { dir } => format!("writable {}", show(dir)),
        Assertion::Command { program, args } => {
            let args: Vec<String> = args.iter().map(show).collect();
            format!("command exits 0: {}", command_line(&show(program), &args))
        }
    }
}

/// Joins a folder and a file name as the runbook writes paths: with `\` when the folder is
/// written that way, `/` otherwise.
pub fn join_shown(dir: &str, file: &str) -> String {
    if dir.ends_with(['\\', '/']) {
        format!("{dir}{file}")
    } else if dir.contains('\\') && !dir.contains('/') {
        format!("{dir}\\{file}")
    } else {
        format!("{dir}/{file}")
    }
}

/// A path field of an action, resolved for checking or for doing the work.
pub(crate) enum Place {
    /// A path on this machine; `shown` is what the operator reads (secrets masked).
    Local { path: PathBuf, shown: String },
    /// A path only Windows can resolve (checked on Windows only).
    Foreign { shown: String },
    /// Parameters it needs have no value.
    Unresolved { shown: String, missing: Vec<String> },
}

impl Place {
    pub(crate) fn of(plan: &Plan, t: &Template) -> Place {
        let shown = plan.resolved.show(t);
        let missing = missing_params(plan, t);
        if !missing.is_empty() {
            return Place::Unresolved { shown, missing };
        }
        match fsops::local_path(&plan.resolved.fill(t)) {
            Ok(path) => Place::Local { path, shown },
            Err(_) => Place::Foreign { shown },
        }
    }

    pub(crate) fn shown(&self) -> &str {
        match self {
            Place::Local { shown, .. }
            | Place::Foreign { shown }
            | Place::Unresolved { shown, .. } => shown,
        }
    }

    /// The finding for a place that cannot be checked here (`None` for a local one).
    pub(crate) fn unchecked(&self, instance: &Instance, what: &str) -> Option<Finding> {
        match self {
            Place::Local { .. } => None,
            Place::Foreign { shown } => Some(windows_only(instance, &format!("{what} {shown}"))),
            Place::Unresolved { shown, missing } => Some(Finding::warning(
                instance,
                format!("{what} {shown}"),
                format!("not checked: {} has no value", names(missing)),
                format!("Give {}", set_hints(missing)),
            )),
        }
    }
}

/// The warning for something only Windows can check.
pub(crate) fn windows_only(instance: &Instance, checked: &str) -> Finding {
    Finding::warning(
        instance,
        checked.to_string(),
        "can only be checked on Windows",
        "Run `stepwise check` on the Windows server to check it",
    )
}

/// The parameters a template uses that have no value.
pub(crate) fn missing_params(plan: &Plan, t: &Template) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in t.params() {
        if plan.resolved.get(name).is_none() && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

fn names(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// `--set NAME=VALUE` hints for parameters, with the kind of value each expects.
pub fn set_hints(list: &[String]) -> String {
    let hints: Vec<String> = list.iter().map(|n| format!("--set {n}=VALUE")).collect();
    hints.join(" ")
}

/// How to point a path field somewhere else: `point package_dir at it (--set package_dir=FOLDER)`,
/// when the field comes from `path` parameters; `None` when it is written in the runbook.
pub(crate) fn redirect_hint(plan: &Plan, t: &Template, what: &str) -> Option<String> {
    let params: Vec<&str> = t
        .params()
        .map(|(n, _)| n)
        .filter(|n| {
            plan.runbook
                .parameter(n)
                .is_some_and(|p| p.kind == ParamType::Path)
        })
        .collect();
    match params.as_slice() {
        [] => None,
        [one, ..] => Some(format!("point `{one}` at {what} (--set {one}=FOLDER)")),
    }
}

/// Appends `, or HINT` to a sentence when there is a hint.
pub(crate) fn or_hint(sentence: String, hint: Option<String>) -> String {
    match hint {
        Some(h) => format!("{sentence}, or {h}"),
        None => sentence,
    }
}

/// The folder under `root` that holds an instance's files (backups, output).
pub(crate) fn instance_dir(root: &Path, instance: &Instance) -> PathBuf {
    root.join(fsops::key_file_name(&instance.key))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Checks a folder an action needs: it is known, exists, is a folder, and (when `writable`) can
/// be written to. Returns its local path when it can be used, and the findings.
pub(crate) fn check_folder(
    plan: &Plan,
    instance: &Instance,
    t: &Template,
    what: &str,
    writable: bool,
) -> (Option<PathBuf>, Vec<Finding>) {
    let place = Place::of(plan, t);
    if let Some(f) = place.unchecked(instance, what) {
        return (None, vec![f]);
    }
    let Place::Local { path, shown } = place else {
        return (None, Vec::new());
    };
    let checked = format!("{what} {shown}");
    let path = fsops::locate(&path).unwrap_or(path);
    match std::fs::metadata(&path) {
        Err(e) => {
            let found = if e.kind() == std::io::ErrorKind::NotFound {
                "does not exist".to_string()
            } else {
                format!("cannot be read: {}", crate::error::describe_io(&e))
            };
            let first = if what == "source folder" {
                format!("Extract the package into {shown}")
            } else {
                format!("Create the folder {shown}")
            };
            let to_do = or_hint(first, redirect_hint(plan, t, "the right folder"));
            (
                None,
                vec![Finding::blocking(instance, checked, found, to_do)],
            )
        }
        Ok(meta) if !meta.is_dir() => (
            None,
            vec![Finding::blocking(
                instance,
                checked,
                format!("is {}, not a folder", fsops::kind(&meta)),
                or_hint(
                    "Move the file out of the way".to_string(),
                    redirect_hint(plan, t, "the right folder"),
                ),
            )],
        ),
        Ok(_) if writable => match fsops::writable(&path) {
            Ok(()) => (
                Some(path),
                vec![Finding::ok(instance, checked, "exists and is writable")],
            ),
            Err(why) => (
                None,
                vec![Finding::blocking(
                    instance,
                    checked,
                    format!("is not writable: {why}"),
                    format!(
                        "Give the account that runs stepwise write access to {shown}, or run stepwise as a user who has it"
                    ),
                )],
            ),
        },
        Ok(_) => (Some(path), vec![Finding::ok(instance, checked, "exists")]),
    }
}

/// Backs up `file` into the instance's backup folder under its own name, unless a backup of it
/// is already there (an earlier attempt made it: it holds the original, keep it). Returns the
/// backup's path.
pub(crate) fn back_up(
    file: &fsops::Entry,
    instance: &Instance,
    ctx: &ExecContext<'_>,
) -> Result<PathBuf, Failure> {
    let dir = instance_dir(ctx.backup_dir, instance);
    let backup = dir.join(&file.name);
    // A backup made by an earlier attempt is kept; anything else at its name (a link) is not
    // trusted, and the copy below replaces it without following it.
    if std::fs::symlink_metadata(&backup).is_ok_and(|m| m.is_file()) {
        return Ok(backup);
    }
    crate::fsutil::create_private_dir_all(&dir).map_err(|e| {
        Failure::new(
            FailureKind::Io,
            format!(
                "cannot create the backup folder {}: {}",
                dir.display(),
                crate::error::describe_io(&e)
            ),
        )
    })?;
    fsops::copy_atomic(&file.path, &backup, &ctx.cancel, &mut |_| {}).map_err(|e| {
        let what = format!(
            "cannot back up {} to {}",
            file.path.display(),
            backup.display()
        );
        copy_failure(&what, e)
    })?;
    Ok(backup)
}

/// A failure from a copy error.
pub(crate) fn copy_failure(what: &str, e: fsops::CopyError) -> Failure {
    use fsops::CopyError;
    match e {
        CopyError::Cancelled => Failure::new(FailureKind::Cancelled, format!("{what}: cancelled")),
        CopyError::Read(e) | CopyError::Write(e) => Failure::new(
            FailureKind::Io,
            format!("{what}: {}", crate::error::describe_io(&e)),
        ),
        CopyError::Size { expected, found } => Failure::new(
            FailureKind::Verify,
            format!("{what}: the copy has {found} bytes, expected {expected}"),
        ),
        CopyError::Mismatch { source, on_disk } => Failure::new(
            FailureKind::Verify,
            format!(
                "{what}: the copy read back from the disk has SHA-256 {on_disk}, the source has \
                 SHA-256 {source}; the copy was removed and the destination left as it was"
            ),
        ),
    }
}

/// Every template of an action (paths, program, arguments, content), to know which parameters
/// it needs.
pub fn templates(action: &Action) -> Vec<&Template> {
    match action {
        Action::Manual => Vec::new(),
        Action::Command(a) => std::iter::once(&a.program)
            .chain(&a.args)
            .chain(&a.cwd)
            .collect(),
        Action::Copy(a) => vec![&a.from, &a.to],
        Action::WriteFile(a) => vec![&a.dir, &a.content],
        Action::CreateFolder(a) => vec![&a.path],
        Action::Check(a) => assertion_templates(&a.checks),
        Action::Restart(r) => std::iter::once(&r.program)
            .chain(&r.args)
            .chain(assertion_templates(&r.checks))
            .collect(),
    }
}

/// Every template of a list of assertions.
fn assertion_templates(checks: &[Assertion]) -> Vec<&Template> {
    checks
        .iter()
        .flat_map(|c| match c {
            Assertion::Exists { path, .. } => vec![path],
            Assertion::Writable { dir } => vec![dir],
            Assertion::Command { program, args } => std::iter::once(program).chain(args).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
