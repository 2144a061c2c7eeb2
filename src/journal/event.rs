//! The events of a journal: what happened in a run, one JSON object per line.
//!
//! Every event has a sequence number, a time, the operator, a kind with the fields of that kind,
//! and optionally the host it concerns and a free note. The set of kinds is closed: a line whose
//! `kind` is not one of [`EventKind`] is not an event. This module only describes events; writing
//! and reading them is in `file.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use crate::plan::Instance;
use crate::runbook::Value;

/// One line of `journal.jsonl`.
///
/// ```json
/// {"seq":7,"time":"2026-11-21T23:47:30.120Z","operator":"alice","kind":"instance_done","key":"restart-iis@WEB01","how":"confirmed","host":"WEB01"}
/// ```
///
/// Written with serde's derive; read through a flat form, `Wire` in this file, which is
/// faster than a derived reader (see there for why).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// 1 for the first event of a run, then one more for each event.
    pub seq: u64,
    pub time: Timestamp,
    /// Who was driving the run: the name the process that wrote it was given (`--operator`,
    /// `STEPWISE_OPERATOR`, the answers file, `USER` or `USERNAME`, or asked at the terminal).
    pub operator: String,
    #[serde(flatten)]
    pub kind: EventKind,
    /// The server the event concerns, for a step instance that runs on a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Free text from the operator; for `note_added`, the note itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What happened. The `key` of an instance event is a step instance key of the plan
/// (`step`, `step@HOST`); `item` is an item id of that step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Always the first event: the run was created (its header is `run.json`).
    RunStarted {
        run_id: String,
        runbook_id: String,
        runbook_sha256: String,
        rehearsal: bool,
        machine: String,
        pid: u32,
    },
    /// Parameter values in force from here on (secrets are never recorded).
    ParamsSet {
        params: BTreeMap<String, ParamValue>,
    },
    /// Host lists per role in force from here on.
    HostsSet {
        hosts: BTreeMap<String, Vec<String>>,
    },
    /// The operator confirmed the runbook's prerequisites before the first step.
    PrerequisitesConfirmed,
    /// A step instance is about to be done: written before its action runs.
    InstanceStarted {
        key: String,
        /// Where its action was dispatched, for an instance on a host: `local`, `ssh ADDRESS:PORT`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    InstanceDone {
        key: String,
        #[serde(default)]
        how: Completion,
    },
    InstanceSkipped {
        key: String,
        reason: String,
    },
    InstanceFailed {
        key: String,
        error: String,
    },
    /// A step with items was confirmed with some items not done (`left`, in the step's order):
    /// it is *partly done*, not done.
    InstancePartlyDone {
        key: String,
        left: Vec<String>,
    },
    /// The operator reopened an instance settled earlier in the run (declined, skipped, done by
    /// hand, partly done): it is pending again and is walked at once. Its items start over.
    InstanceReopened {
        key: String,
    },
    ItemDone {
        key: String,
        item: String,
    },
    ItemSkipped {
        key: String,
        item: String,
        reason: String,
    },
    /// A note (in the event's `note`) on an instance, or on the run when there is no key.
    NoteAdded {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// An action's output was saved; `path` is relative to the run folder (`output/...`).
    ActionOutput {
        key: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    /// A command started, as process `pid` on `machine`: if stepwise dies while it runs, resume
    /// can tell the operator it may still be running.
    CommandStarted {
        key: String,
        pid: u32,
        machine: String,
    },
    /// The operator applied a known issue's workaround (to an instance, or to the run).
    KnownIssueApplied {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        issue: String,
    },
    /// The operator paused; the run can be resumed.
    Paused,
    /// A process took the run up again. `repaired_torn_line` says that the journal ended with a
    /// torn line when it was reopened, which is therefore the line just before this one.
    Resumed {
        machine: String,
        pid: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        repaired_torn_line: bool,
    },
    /// Stopped by Ctrl-C; progress is saved.
    Interrupted,
    /// The operator went on despite blocking dry-run findings.
    ChecksOverridden {
        findings: Vec<String>,
    },
    RunFinished {
        outcome: RunOutcome,
    },
    /// The operator said whether an instance that was in doubt had completed. `how` says on
    /// what the word *done* rests (journals written before it was recorded have none).
    InDoubtResolved {
        key: String,
        resolution: Resolution,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        how: Option<Completion>,
    },
    /// The runbook changed since the run started, and the operator accepted the new one.
    RunbookChangedAccepted {
        previous_sha256: String,
        sha256: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changed_steps: Vec<String>,
    },
    /// In a host-major phase, the operator went on to batch `batch` of `of` (2 or more): one
    /// confirmation per batch, never carried over to the next.
    BatchConfirmed {
        phase: String,
        batch: u32,
        of: u32,
    },
    /// In a host-major phase, a host failed: its instance `key` failed and was not recovered
    /// (the host was skipped). The rest of the phase is not done on it.
    HostFailed {
        phase: String,
        key: String,
    },
    /// More hosts of a host-major phase failed than its `max_failures`, and the operator went
    /// on with `failed` hosts failed; one more failing host asks again.
    FailuresAccepted {
        phase: String,
        failed: u32,
    },
    /// A copy put one file in place: `file` as the runbook names it, at `path`, `bytes` long,
    /// with the SHA-256 its content was verified to have on disk after the sync. `in_place`:
    /// the file was already there with the source's content (an interrupted attempt copied it),
    /// and `sha256` is of what is there. Written as each file is done, so a run cut short still
    /// records the files it installed.
    FileCopied {
        key: String,
        file: String,
        path: String,
        bytes: u64,
        sha256: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        in_place: bool,
    },
    /// Where a `restart` action stands on the instance's host: its boot identity was read
    /// (before the restart is sent), the restart was sent, the walk waits for the host, it went
    /// down, it is back, or it did not come back in time. Resume takes an instance whose restart
    /// was sent up again at the wait, never at the restart. `boot` is the host's boot identity
    /// (`boot_read`: before the restart, absent when none could be read; `back`: after it).
    Restart {
        key: String,
        phase: RestartPhase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boot: Option<String>,
    },
}

/// The phases of a restart, as journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPhase {
    /// The host's boot identity was read before the restart was sent (`boot`; without it none
    /// could be read). Not a sign that the restart was sent.
    BootRead,
    /// The restart command was sent to the host.
    Sent,
    /// The walk waits for the host to answer again (after sending, or again on resume).
    Waiting,
    /// The host was seen down (its connection dropped, or it refused a new one).
    Down,
    /// The host answers over SSH again, with its pinned key.
    Back,
    /// The host did not come back within the restart's `wait`.
    TimedOut,
}

impl RestartPhase {
    /// From its name in the journal (`sent`, `timed_out`).
    fn from_name(name: &str) -> Result<RestartPhase, String> {
        serde_json::from_value(serde_json::Value::String(name.to_string()))
            .map_err(|_| format!("unknown restart phase `{name}`"))
    }

    /// In the operator's words.
    pub fn word(self) -> &'static str {
        match self {
            RestartPhase::BootRead => "boot identity read before the restart",
            RestartPhase::Sent => "restart sent",
            RestartPhase::Waiting => "waiting for the host to answer again",
            RestartPhase::Down => "the host went down",
            RestartPhase::Back => "the host is back",
            RestartPhase::TimedOut => "the host did not come back in time",
        }
    }
}

impl EventKind {
    /// The `kind` as written in the journal.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::ParamsSet { .. } => "params_set",
            EventKind::HostsSet { .. } => "hosts_set",
            EventKind::PrerequisitesConfirmed => "prerequisites_confirmed",
            EventKind::InstanceStarted { .. } => "instance_started",
            EventKind::InstanceDone { .. } => "instance_done",
            EventKind::InstanceSkipped { .. } => "instance_skipped",
            EventKind::InstanceFailed { .. } => "instance_failed",
            EventKind::InstancePartlyDone { .. } => "instance_partly_done",
            EventKind::InstanceReopened { .. } => "instance_reopened",
            EventKind::ItemDone { .. } => "item_done",
            EventKind::ItemSkipped { .. } => "item_skipped",
            EventKind::NoteAdded { .. } => "note_added",
            EventKind::ActionOutput { .. } => "action_output",
            EventKind::CommandStarted { .. } => "command_started",
            EventKind::KnownIssueApplied { .. } => "known_issue_applied",
            EventKind::Paused => "paused",
            EventKind::Resumed { .. } => "resumed",
            EventKind::Interrupted => "interrupted",
            EventKind::ChecksOverridden { .. } => "checks_overridden",
            EventKind::RunFinished { .. } => "run_finished",
            EventKind::InDoubtResolved { .. } => "in_doubt_resolved",
            EventKind::RunbookChangedAccepted { .. } => "runbook_changed_accepted",
            EventKind::Restart { .. } => "restart",
            EventKind::BatchConfirmed { .. } => "batch_confirmed",
            EventKind::HostFailed { .. } => "host_failed",
            EventKind::FailuresAccepted { .. } => "failures_accepted",
            EventKind::FileCopied { .. } => "file_copied",
        }
    }

    /// The step instance the event concerns, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            EventKind::InstanceStarted { key, .. }
            | EventKind::InstanceDone { key, .. }
            | EventKind::InstanceSkipped { key, .. }
            | EventKind::InstanceFailed { key, .. }
            | EventKind::InstancePartlyDone { key, .. }
            | EventKind::InstanceReopened { key }
            | EventKind::ItemDone { key, .. }
            | EventKind::ItemSkipped { key, .. }
            | EventKind::ActionOutput { key, .. }
            | EventKind::CommandStarted { key, .. }
            | EventKind::InDoubtResolved { key, .. }
            | EventKind::HostFailed { key, .. }
            | EventKind::FileCopied { key, .. }
            | EventKind::Restart { key, .. } => Some(key),
            EventKind::NoteAdded { key } | EventKind::KnownIssueApplied { key, .. } => {
                key.as_deref()
            }
            _ => None,
        }
    }
}

/// The flat form an event is read through: every field any kind may have, then a check that the
/// kind's own fields are there. It reads the same lines as a derived `Deserialize` for [`Event`]
/// would, but about four times faster, because serde's `flatten` buffers every field of every
/// line before it can look at `kind`; a journal of 100,000 events must replay well under 200 ms.
/// The tests round-trip every kind, so the two forms cannot drift apart.
#[derive(Deserialize)]
struct Wire {
    seq: u64,
    time: Timestamp,
    operator: String,
    kind: Kind,
    host: Option<String>,
    note: Option<String>,
    key: Option<String>,
    item: Option<String>,
    reason: Option<String>,
    error: Option<String>,
    how: Option<Completion>,
    target: Option<String>,
    run_id: Option<String>,
    runbook_id: Option<String>,
    runbook_sha256: Option<String>,
    rehearsal: Option<bool>,
    machine: Option<String>,
    pid: Option<u32>,
    params: Option<BTreeMap<String, ParamValue>>,
    hosts: Option<BTreeMap<String, Vec<String>>>,
    path: Option<String>,
    exit_code: Option<i32>,
    issue: Option<String>,
    repaired_torn_line: Option<bool>,
    findings: Option<Vec<String>>,
    outcome: Option<RunOutcome>,
    resolution: Option<Resolution>,
    previous_sha256: Option<String>,
    sha256: Option<String>,
    changed_steps: Option<Vec<String>>,
    left: Option<Vec<String>>,
    phase: Option<String>,
    boot: Option<String>,
    batch: Option<u32>,
    of: Option<u32>,
    failed: Option<u32>,
    file: Option<String>,
    bytes: Option<u64>,
    in_place: Option<bool>,
}

/// The `kind` names, in the order of [`EventKind`].
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Kind {
    RunStarted,
    ParamsSet,
    HostsSet,
    PrerequisitesConfirmed,
    InstanceStarted,
    InstanceDone,
    InstanceSkipped,
    InstanceFailed,
    InstancePartlyDone,
    InstanceReopened,
    ItemDone,
    ItemSkipped,
    NoteAdded,
    ActionOutput,
    CommandStarted,
    KnownIssueApplied,
    Paused,
    Resumed,
    Interrupted,
    ChecksOverridden,
    RunFinished,
    InDoubtResolved,
    RunbookChangedAccepted,
    Restart,
    BatchConfirmed,
    HostFailed,
    FailuresAccepted,
    FileCopied,
}

impl Wire {
    fn into_event(self) -> Result<Event, String> {
        fn need<T>(field: Option<T>, name: &str) -> Result<T, String> {
            field.ok_or_else(|| format!("missing field `{name}`"))
        }
        let w = self;
        let kind = match w.kind {
            Kind::RunStarted => EventKind::RunStarted {
                run_id: need(w.run_id, "run_id")?,
                runbook_id: need(w.runbook_id, "runbook_id")?,
                runbook_sha256: need(w.runbook_sha256, "runbook_sha256")?,
                rehearsal: need(w.rehearsal, "rehearsal")?,
                machine: need(w.machine, "machine")?,
                pid: need(w.pid, "pid")?,
            },
            Kind::ParamsSet => EventKind::ParamsSet {
                params: need(w.params, "params")?,
            },
            Kind::HostsSet => EventKind::HostsSet {
                hosts: need(w.hosts, "hosts")?,
            },
            Kind::PrerequisitesConfirmed => EventKind::PrerequisitesConfirmed,
            Kind::InstanceStarted => EventKind::InstanceStarted {
                key: need(w.key, "key")?,
                target: w.target,
            },
            Kind::InstanceDone => EventKind::InstanceDone {
                key: need(w.key, "key")?,
                how: w.how.unwrap_or_default(),
            },
            Kind::InstanceSkipped => EventKind::InstanceSkipped {
                key: need(w.key, "key")?,
                reason: need(w.reason, "reason")?,
            },
            Kind::InstanceFailed => EventKind::InstanceFailed {
                key: need(w.key, "key")?,
                error: need(w.error, "error")?,
            },
            Kind::InstancePartlyDone => EventKind::InstancePartlyDone {
                key: need(w.key, "key")?,
                left: need(w.left, "left")?,
            },
            Kind::InstanceReopened => EventKind::InstanceReopened {
                key: need(w.key, "key")?,
            },
            Kind::ItemDone => EventKind::ItemDone {
                key: need(w.key, "key")?,
                item: need(w.item, "item")?,
            },
            Kind::ItemSkipped => EventKind::ItemSkipped {
                key: need(w.key, "key")?,
                item: need(w.item, "item")?,
                reason: need(w.reason, "reason")?,
            },
            Kind::NoteAdded => EventKind::NoteAdded { key: w.key },
            Kind::ActionOutput => EventKind::ActionOutput {
                key: need(w.key, "key")?,
                path: need(w.path, "path")?,
                exit_code: w.exit_code,
            },
            Kind::CommandStarted => EventKind::CommandStarted {
                key: need(w.key, "key")?,
                pid: need(w.pid, "pid")?,
                machine: need(w.machine, "machine")?,
            },
            Kind::KnownIssueApplied => EventKind::KnownIssueApplied {
                key: w.key,
                issue: need(w.issue, "issue")?,
            },
            Kind::Paused => EventKind::Paused,
            Kind::Resumed => EventKind::Resumed {
                machine: need(w.machine, "machine")?,
                pid: need(w.pid, "pid")?,
                repaired_torn_line: w.repaired_torn_line.unwrap_or(false),
            },
            Kind::Interrupted => EventKind::Interrupted,
            Kind::ChecksOverridden => EventKind::ChecksOverridden {
                findings: need(w.findings, "findings")?,
            },
            Kind::RunFinished => EventKind::RunFinished {
                outcome: need(w.outcome, "outcome")?,
            },
            Kind::InDoubtResolved => EventKind::InDoubtResolved {
                key: need(w.key, "key")?,
                resolution: need(w.resolution, "resolution")?,
                how: w.how,
            },
            Kind::RunbookChangedAccepted => EventKind::RunbookChangedAccepted {
                previous_sha256: need(w.previous_sha256, "previous_sha256")?,
                sha256: need(w.sha256, "sha256")?,
                changed_steps: w.changed_steps.unwrap_or_default(),
            },
            Kind::Restart => EventKind::Restart {
                key: need(w.key, "key")?,
                phase: RestartPhase::from_name(&need(w.phase, "phase")?)?,
                boot: w.boot,
            },
            Kind::BatchConfirmed => EventKind::BatchConfirmed {
                phase: need(w.phase, "phase")?,
                batch: need(w.batch, "batch")?,
                of: need(w.of, "of")?,
            },
            Kind::HostFailed => EventKind::HostFailed {
                phase: need(w.phase, "phase")?,
                key: need(w.key, "key")?,
            },
            Kind::FailuresAccepted => EventKind::FailuresAccepted {
                phase: need(w.phase, "phase")?,
                failed: need(w.failed, "failed")?,
            },
            Kind::FileCopied => EventKind::FileCopied {
                key: need(w.key, "key")?,
                file: need(w.file, "file")?,
                path: need(w.path, "path")?,
                bytes: need(w.bytes, "bytes")?,
                sha256: need(w.sha256, "sha256")?,
                in_place: w.in_place.unwrap_or(false),
            },
        };
        Ok(Event {
            seq: w.seq,
            time: w.time,
            operator: w.operator,
            kind,
            host: w.host,
            note: w.note,
        })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        Wire::deserialize(d)?
            .into_event()
            .map_err(serde::de::Error::custom)
    }
}

/// How a step instance came to be done: the evidence the word *done* rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// The operator confirmed a manual step, which is done by hand by its nature (at the prompt
    /// or through an answers file). Also what a journal without `how` means.
    #[default]
    Confirmed,
    /// The step's automated action ran and succeeded (its outcome is journaled).
    Automated,
    /// The operator says the step was done by hand instead of by its automation (declined, or
    /// after a failure or a reported problem); a note says what was done.
    ByHand,
    /// Done after a known issue's workaround was applied to it (`known_issue_applied` names it).
    Workaround,
    /// A rehearsal: the command was shown, not run.
    Rehearsed,
}

impl Completion {
    /// How, in the operator's words: `by automation`, `by hand`, `after a workaround`,
    /// `rehearsed`.
    pub fn word(self) -> &'static str {
        match self {
            Completion::Automated => "by automation",
            Completion::Confirmed | Completion::ByHand => "by hand",
            Completion::Workaround => "after a workaround",
            Completion::Rehearsed => "rehearsed, not run",
        }
    }

    /// The short name used in tables and JSON: `automation`, `by_hand`, `workaround`,
    /// `rehearsed`.
    pub fn kind(self) -> &'static str {
        match self {
            Completion::Automated => "automation",
            Completion::Confirmed | Completion::ByHand => "by_hand",
            Completion::Workaround => "workaround",
            Completion::Rehearsed => "rehearsed",
        }
    }
}

/// The answer to "did this in-doubt step instance complete?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// It completed: the instance counts as done.
    Done,
    /// It did not: the instance is pending again and will be offered again.
    NotDone,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every step instance was done or skipped.
    Completed,
    /// The operator aborted (after a failure, typically).
    Aborted,
}

/// A parameter value as recorded: `true`, `"C:\\MSIShare"`, `["MPS01", "MPS02"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Text(String),
    Hosts(Vec<String>),
}

impl From<&Value> for ParamValue {
    fn from(v: &Value) -> ParamValue {
        match v {
            Value::Bool(b) => ParamValue::Bool(*b),
            Value::Text(t) => ParamValue::Text(t.clone()),
            Value::Hosts(h) => ParamValue::Hosts(h.clone()),
        }
    }
}

impl From<&ParamValue> for Value {
    fn from(v: &ParamValue) -> Value {
        match v {
            ParamValue::Bool(b) => Value::Bool(*b),
            ParamValue::Text(t) => Value::Text(t.clone()),
            ParamValue::Hosts(h) => Value::Hosts(h.clone()),
        }
    }
}

/// An event to append: the kind and its context. The writer adds the sequence number, the
/// operator and (unless [`NewEvent::at`] gave one) the time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub host: Option<String>,
    pub note: Option<String>,
    pub time: Option<Timestamp>,
}

impl NewEvent {
    pub fn new(kind: EventKind) -> NewEvent {
        NewEvent {
            kind,
            host: None,
            note: None,
            time: None,
        }
    }

    /// The server the event concerns.
    pub fn host(mut self, host: impl Into<String>) -> NewEvent {
        self.host = Some(host.into());
        self
    }

    /// A free note from the operator.
    pub fn note(mut self, note: impl Into<String>) -> NewEvent {
        self.note = Some(note.into());
        self
    }

    /// Records the event at this time instead of now (imports and tests).
    pub fn at(mut self, time: Timestamp) -> NewEvent {
        self.time = Some(time);
        self
    }

    /// An event about a step instance, with its host.
    fn on(instance: &Instance, kind: EventKind) -> NewEvent {
        NewEvent {
            host: instance.host().map(str::to_string),
            ..NewEvent::new(kind)
        }
    }

    pub fn instance_started(instance: &Instance) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::InstanceStarted { key, target: None })
    }

    /// An automated instance dispatched to its target, journaled before anything is sent.
    pub fn instance_dispatched(instance: &Instance, target: Option<String>) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::InstanceStarted { key, target })
    }

    /// A phase of an instance's restart.
    pub fn restart(instance: &Instance, phase: RestartPhase) -> NewEvent {
        NewEvent::restart_boot(instance, phase, None)
    }

    /// A phase of an instance's restart with the host's boot identity (`boot_read`, `back`).
    pub fn restart_boot(
        instance: &Instance,
        phase: RestartPhase,
        boot: Option<String>,
    ) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::Restart { key, phase, boot })
    }

    pub fn instance_done(instance: &Instance, how: Completion) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::InstanceDone { key, how })
    }

    pub fn instance_skipped(instance: &Instance, reason: impl Into<String>) -> NewEvent {
        let (key, reason) = (instance.key.clone(), reason.into());
        NewEvent::on(instance, EventKind::InstanceSkipped { key, reason })
    }

    pub fn instance_failed(instance: &Instance, error: impl Into<String>) -> NewEvent {
        let (key, error) = (instance.key.clone(), error.into());
        NewEvent::on(instance, EventKind::InstanceFailed { key, error })
    }

    pub fn item_done(instance: &Instance, item: impl Into<String>) -> NewEvent {
        let (key, item) = (instance.key.clone(), item.into());
        NewEvent::on(instance, EventKind::ItemDone { key, item })
    }

    pub fn item_skipped(
        instance: &Instance,
        item: impl Into<String>,
        reason: impl Into<String>,
    ) -> NewEvent {
        let (key, item, reason) = (instance.key.clone(), item.into(), reason.into());
        NewEvent::on(instance, EventKind::ItemSkipped { key, item, reason })
    }

    /// A note on a step instance, or on the whole run when `instance` is `None`.
    pub fn note_added(instance: Option<&Instance>, text: impl Into<String>) -> NewEvent {
        let key = instance.map(|i| i.key.clone());
        let event = match instance {
            Some(i) => NewEvent::on(i, EventKind::NoteAdded { key }),
            None => NewEvent::new(EventKind::NoteAdded { key }),
        };
        event.note(text)
    }

    /// `path` is relative to the run folder, e.g. `output/0042-restart-iis@WEB01.log`.
    pub fn action_output(
        instance: &Instance,
        path: impl Into<String>,
        exit_code: Option<i32>,
    ) -> NewEvent {
        let (key, path) = (instance.key.clone(), path.into());
        NewEvent::on(
            instance,
            EventKind::ActionOutput {
                key,
                path,
                exit_code,
            },
        )
    }

    pub fn command_started(instance: &Instance, pid: u32, machine: impl Into<String>) -> NewEvent {
        let kind = EventKind::CommandStarted {
            key: instance.key.clone(),
            pid,
            machine: machine.into(),
        };
        NewEvent::on(instance, kind)
    }

    pub fn known_issue_applied(instance: Option<&Instance>, issue: impl Into<String>) -> NewEvent {
        let kind = EventKind::KnownIssueApplied {
            key: instance.map(|i| i.key.clone()),
            issue: issue.into(),
        };
        match instance {
            Some(i) => NewEvent::on(i, kind),
            None => NewEvent::new(kind),
        }
    }

    /// `how` is what *done* rests on (`None` for `not_done`).
    pub fn in_doubt_resolved(
        instance: &Instance,
        resolution: Resolution,
        how: Option<Completion>,
    ) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(
            instance,
            EventKind::InDoubtResolved {
                key,
                resolution,
                how,
            },
        )
    }

    pub fn instance_partly_done(instance: &Instance, left: Vec<String>) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::InstancePartlyDone { key, left })
    }

    pub fn instance_reopened(instance: &Instance) -> NewEvent {
        let key = instance.key.clone();
        NewEvent::on(instance, EventKind::InstanceReopened { key })
    }

    /// A file a copy put in place (or found there), with the SHA-256 verified on disk.
    pub fn file_copied(instance: &Instance, file: &crate::actions::FileCopied) -> NewEvent {
        let kind = EventKind::FileCopied {
            key: instance.key.clone(),
            file: file.name.clone(),
            path: file.path.display().to_string(),
            bytes: file.bytes,
            sha256: file.sha256.clone(),
            in_place: file.in_place,
        };
        NewEvent::on(instance, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event {
            seq: 3,
            time: Timestamp::parse("2026-11-21T23:45:12.345Z").unwrap(),
            operator: "alice".into(),
            kind,
            host: Some("WEB01".into()),
            note: None,
        }
    }

    #[test]
    fn the_wire_format_is_flat() {
        let e = event(EventKind::InstanceDone {
            key: "restart-iis@WEB01".into(),
            how: Completion::ByHand,
        });
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(
            line,
            r#"{"seq":3,"time":"2026-11-21T23:45:12.345Z","operator":"alice","kind":"instance_done","key":"restart-iis@WEB01","how":"by_hand","host":"WEB01"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        let paused = serde_json::to_string(&event(EventKind::Paused)).unwrap();
        assert!(paused.contains(r#""kind":"paused""#), "{paused}");
        assert_eq!(
            serde_json::from_str::<Event>(&paused).unwrap().kind,
            EventKind::Paused
        );
    }

    #[test]
    fn every_kind_round_trips_and_names_itself() {
        let kinds = vec![
            EventKind::RunStarted {
                run_id: "r".into(),
                runbook_id: "b".into(),
                runbook_sha256: "00".into(),
                rehearsal: true,
                machine: "M".into(),
                pid: 1,
            },
            EventKind::ParamsSet {
                params: [
                    ("a".to_string(), ParamValue::Bool(true)),
                    ("b".to_string(), ParamValue::Text("x".into())),
                    ("c".to_string(), ParamValue::Hosts(vec!["H".into()])),
                ]
                .into(),
            },
            EventKind::HostsSet {
                hosts: [("web".to_string(), vec!["W1".to_string()])].into(),
            },
            EventKind::PrerequisitesConfirmed,
            EventKind::InstanceStarted {
                key: "k".into(),
                target: Some("ssh 10.0.0.11:22".into()),
            },
            EventKind::InstanceDone {
                key: "k".into(),
                how: Completion::Automated,
            },
            EventKind::InstanceSkipped {
                key: "k".into(),
                reason: "r".into(),
            },
            EventKind::InstanceFailed {
                key: "k".into(),
                error: "e".into(),
            },
            EventKind::ItemDone {
                key: "k".into(),
                item: "i".into(),
            },
            EventKind::ItemSkipped {
                key: "k".into(),
                item: "i".into(),
                reason: "r".into(),
            },
            EventKind::NoteAdded { key: None },
            EventKind::ActionOutput {
                key: "k".into(),
                path: "output/1.log".into(),
                exit_code: Some(3),
            },
            EventKind::CommandStarted {
                key: "k".into(),
                pid: 4242,
                machine: "MPS01".into(),
            },
            EventKind::KnownIssueApplied {
                key: Some("k".into()),
                issue: "error-1053".into(),
            },
            EventKind::Paused,
            EventKind::Resumed {
                machine: "M".into(),
                pid: 2,
                repaired_torn_line: true,
            },
            EventKind::Interrupted,
            EventKind::ChecksOverridden {
                findings: vec!["f".into()],
            },
            EventKind::RunFinished {
                outcome: RunOutcome::Aborted,
            },
            EventKind::InDoubtResolved {
                key: "k".into(),
                resolution: Resolution::NotDone,
                how: None,
            },
            EventKind::InDoubtResolved {
                key: "k".into(),
                resolution: Resolution::Done,
                how: Some(Completion::ByHand),
            },
            EventKind::InstancePartlyDone {
                key: "k".into(),
                left: vec!["i".into()],
            },
            EventKind::InstanceReopened { key: "k".into() },
            EventKind::InstanceDone {
                key: "k".into(),
                how: Completion::Rehearsed,
            },
            EventKind::InstanceDone {
                key: "k".into(),
                how: Completion::Workaround,
            },
            EventKind::RunbookChangedAccepted {
                previous_sha256: "00".into(),
                sha256: "11".into(),
                changed_steps: vec!["s".into()],
            },
            EventKind::Restart {
                key: "k".into(),
                phase: RestartPhase::BootRead,
                boot: Some("0b5e6c1e-8d6a-4c1e-9a43-2f0c2b9e8d11".into()),
            },
            EventKind::Restart {
                key: "k".into(),
                phase: RestartPhase::Sent,
                boot: None,
            },
            EventKind::Restart {
                key: "k".into(),
                phase: RestartPhase::TimedOut,
                boot: None,
            },
            EventKind::BatchConfirmed {
                phase: "rolling".into(),
                batch: 2,
                of: 3,
            },
            EventKind::HostFailed {
                phase: "rolling".into(),
                key: "install@WEB02".into(),
            },
            EventKind::FailuresAccepted {
                phase: "rolling".into(),
                failed: 2,
            },
            EventKind::FileCopied {
                key: "k".into(),
                file: "Demo.msi".into(),
                path: "/srv/share/Demo.msi".into(),
                bytes: 1234,
                sha256: "ab".repeat(32),
                in_place: false,
            },
            EventKind::FileCopied {
                key: "k".into(),
                file: "Demo.msi".into(),
                path: "/srv/share/Demo.msi".into(),
                bytes: 0,
                sha256: "cd".repeat(32),
                in_place: true,
            },
        ];
        for kind in kinds {
            let e = event(kind);
            let line = serde_json::to_string(&e).unwrap();
            assert!(
                line.contains(&format!(r#""kind":"{}""#, e.kind.name())),
                "{line}"
            );
            assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e, "{line}");
        }
    }

    #[test]
    fn a_kind_without_its_fields_is_not_an_event() {
        let line =
            r#"{"seq":1,"time":"2026-11-21T23:45:12Z","operator":"a","kind":"instance_done"}"#;
        let err = serde_json::from_str::<Event>(line).unwrap_err().to_string();
        assert_eq!(err, "missing field `key`");
        // The derived reader of the kind alone agrees.
        let kind = serde_json::from_str::<EventKind>(r#"{"kind":"instance_done"}"#).unwrap_err();
        assert!(
            kind.to_string().starts_with("missing field `key`"),
            "{kind}"
        );
    }

    #[test]
    fn an_unknown_kind_is_not_an_event() {
        let line = r#"{"seq":1,"time":"2026-11-21T23:45:12Z","operator":"a","kind":"exploded"}"#;
        let err = serde_json::from_str::<Event>(line).unwrap_err().to_string();
        assert!(err.contains("unknown variant `exploded`"), "{err}");
    }
}
