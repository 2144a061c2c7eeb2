//! Replay: the events of a journal folded into where the run stands.
//!
//! [`Progress`] knows, per step instance key, the state the latest events left it in, who put it
//! there and when, its items and notes; and for the run, whether it was paused, interrupted or
//! finished, and the parameter values and host lists last recorded. It knows nothing of the
//! runbook: [`Progress::counts`] measures it against a [`Plan`]. Replay never fails: the
//! journal reader has already refused what is not a journal, and an event about a key the plan
//! does not know is kept, not dropped.

use std::collections::{BTreeMap, HashMap};

use super::event::{
    Completion, Event, EventKind, ParamValue, Resolution, RestartPhase, RunOutcome,
};
use super::time::Timestamp;
use crate::plan::Plan;

/// Where one step instance stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    /// Nothing recorded yet (or an in-doubt instance that was resolved as not done).
    Pending,
    /// `instance_started` with no outcome after it. While a process drives the run this is the
    /// instance being worked on; otherwise it is *in doubt*: nobody knows whether it completed.
    Started,
    Done(Completion),
    /// A step with items, confirmed with some items not done: `left` are their ids, in the
    /// step's order. It is not done; the walk goes on past it, and it can be reopened.
    PartlyDone {
        left: Vec<String>,
    },
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

impl InstanceState {
    pub fn word(&self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Started => "in doubt",
            InstanceState::Done(_) => "done",
            InstanceState::PartlyDone { .. } => "partly done",
            InstanceState::Skipped { .. } => "skipped",
            InstanceState::Failed { .. } => "failed",
        }
    }

    /// Whether the walk has nothing more to do with it in this run (done, partly done, or
    /// skipped: each a decision on record; the last two can be reopened).
    pub fn settled(&self) -> bool {
        matches!(
            self,
            InstanceState::Done(_)
                | InstanceState::PartlyDone { .. }
                | InstanceState::Skipped { .. }
        )
    }
}

/// Where one item of an instance stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    Done,
    Skipped { reason: String },
}

/// Who did something, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub operator: String,
    pub time: Timestamp,
    pub seq: u64,
}

impl Stamp {
    fn of(event: &Event) -> Stamp {
        Stamp {
            operator: event.operator.clone(),
            time: event.time,
            seq: event.seq,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub stamp: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemProgress {
    pub state: ItemState,
    pub stamp: Stamp,
}

/// Everything recorded about one step instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceProgress {
    pub state: InstanceState,
    /// The event that set `state` (none while pending and untouched).
    pub stamp: Option<Stamp>,
    /// When it was last started, if it was.
    pub started: Option<Stamp>,
    pub host: Option<String>,
    /// How many times it was started.
    pub attempts: u32,
    pub items: BTreeMap<String, ItemProgress>,
    pub notes: Vec<Note>,
    /// Saved output files, relative to the run folder, with the command's exit code.
    pub outputs: Vec<(String, Option<i32>)>,
    /// The process and machine of the last command started for it.
    pub command: Option<(u32, String)>,
    pub known_issues: Vec<String>,
    /// How many times the operator reopened it.
    pub reopened: u32,
    /// Whether a known issue's workaround was applied to it since it was last reopened.
    pub worked_around: bool,
    /// The last phase of a restart in its current attempt since it was sent (cleared when it is
    /// started again; `boot_read` is not a phase of its own here, see `boot`).
    pub restart: Option<RestartPhase>,
    /// The host's boot identity read before the restart of the current attempt was sent.
    pub boot: Option<String>,
    /// Whether the host was seen down in the current attempt's restart.
    pub restart_down: bool,
    /// The files its copy put in place, in the order they were done; a file copied again (a
    /// retry) is listed once, with its last record.
    pub files: Vec<FileRecord>,
}

/// One file a copy put in place, as `file_copied` recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub file: String,
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub in_place: bool,
    pub stamp: Stamp,
}

impl InstanceProgress {
    fn new() -> InstanceProgress {
        InstanceProgress {
            state: InstanceState::Pending,
            stamp: None,
            started: None,
            host: None,
            attempts: 0,
            items: BTreeMap::new(),
            notes: Vec::new(),
            outputs: Vec::new(),
            command: None,
            known_issues: Vec::new(),
            reopened: 0,
            worked_around: false,
            restart: None,
            boot: None,
            restart_down: false,
            files: Vec::new(),
        }
    }
}

/// The last thing the run itself did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Started or resumed, and not stopped since (a process drives it, or died without saying).
    Active,
    Paused,
    Interrupted,
    Finished(RunOutcome),
}

/// The run as `stepwise status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    Interrupted,
    Finished,
    Failed,
}

impl RunState {
    /// From the journal's last word and whether a process holds the run's lock now. A run that
    /// is active by its journal but not held stopped without saying so (killed, or a crash): it
    /// is interrupted.
    pub fn of(lifecycle: Lifecycle, held: bool) -> RunState {
        match lifecycle {
            Lifecycle::Finished(RunOutcome::Completed) => RunState::Finished,
            Lifecycle::Finished(RunOutcome::Aborted) => RunState::Failed,
            _ if held => RunState::Running,
            Lifecycle::Paused => RunState::Paused,
            Lifecycle::Active | Lifecycle::Interrupted => RunState::Interrupted,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Interrupted => "interrupted",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
        }
    }
}

/// Instances of a plan by state. `pending + in_doubt + failed` is what is [`Counts::left`].
/// `done` counts every instance done, whatever the evidence; `by_hand` is the part of it done by
/// the operator's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub total: usize,
    pub done: usize,
    pub by_hand: usize,
    pub partly_done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub in_doubt: usize,
    pub pending: usize,
}

impl Counts {
    /// What still has to be dealt with: not done and not skipped.
    pub fn left(&self) -> usize {
        self.pending + self.in_doubt + self.failed
    }
}

/// Where a run stands, replayed from its journal.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Boxed: a map's table holds room for up to twice its entries, and an instance's record
    /// is about 300 bytes, most of them empty lists; a run of 250,000 step instances would
    /// spend 170 MB on the table alone.
    instances: HashMap<String, Box<InstanceProgress>>,
    /// How many of `instances` are settled, kept as events are folded in so the walk's step
    /// counter costs nothing per step.
    settled: usize,
    /// Notes on the run as a whole.
    pub notes: Vec<Note>,
    /// Known issues applied to the run as a whole.
    pub known_issues: Vec<String>,
    /// Parameter values last recorded (secrets never are).
    pub params: BTreeMap<String, ParamValue>,
    /// Host lists last recorded.
    pub hosts: BTreeMap<String, Vec<String>>,
    /// `None` before the first event.
    pub lifecycle: Option<Lifecycle>,
    pub started: Option<Timestamp>,
    pub last_activity: Option<Timestamp>,
    pub last_seq: u64,
    /// How often the run was resumed.
    pub resumes: u32,
    /// Who confirmed the prerequisites, and when.
    pub prerequisites: Option<Stamp>,
    /// Blocking findings the operator went on despite, with when.
    pub checks_overridden: Vec<(Vec<String>, Stamp)>,
    /// Runbook changes accepted: previous hash, new hash, changed steps.
    pub runbook_changes: Vec<(String, String, Vec<String>)>,
    /// The host-major phases: batches confirmed, hosts failed, failures accepted.
    pub fleet: FleetProgress,
}

/// What the journal says of the host-major phases, by phase id.
#[derive(Debug, Clone, Default)]
pub struct FleetProgress {
    /// Batches the operator went on to (`phase`, batch number), with who and when.
    pub confirmed: BTreeMap<(String, u32), Stamp>,
    /// Hosts that failed, per phase, in order: the host and the instance that failed.
    pub failed: BTreeMap<String, Vec<(String, String)>>,
    /// Per phase, the most failed hosts the operator went on with.
    pub accepted: BTreeMap<String, u32>,
}

impl FleetProgress {
    pub fn is_confirmed(&self, phase: &str, batch: u32) -> bool {
        self.confirmed.contains_key(&(phase.to_string(), batch))
    }

    /// The hosts of a phase that failed, in the order they failed.
    pub fn failed_hosts(&self, phase: &str) -> Vec<String> {
        self.failed
            .get(phase)
            .map(|v| v.iter().map(|(h, _)| h.clone()).collect())
            .unwrap_or_default()
    }
}

impl Progress {
    /// Replays events in order.
    pub fn replay<'e>(events: impl IntoIterator<Item = &'e Event>) -> Progress {
        let mut progress = Progress::default();
        for event in events {
            progress.apply(event);
        }
        progress
    }

    /// Folds one more event in (the recorder calls this after each append).
    pub fn apply(&mut self, event: &Event) {
        let key = event.kind.key();
        let was = key.is_some_and(|k| self.state(k).settled());
        self.fold(event);
        let now = key.is_some_and(|k| self.state(k).settled());
        match (was, now) {
            (false, true) => self.settled += 1,
            (true, false) => self.settled -= 1,
            _ => {}
        }
    }

    fn fold(&mut self, event: &Event) {
        self.last_seq = event.seq;
        self.last_activity = Some(event.time);
        match &event.kind {
            EventKind::RunStarted { .. } => {
                self.started = Some(event.time);
                self.lifecycle = Some(Lifecycle::Active);
            }
            EventKind::ParamsSet { params } => self.params.clone_from(params),
            EventKind::HostsSet { hosts } => self.hosts.clone_from(hosts),
            EventKind::PrerequisitesConfirmed => self.prerequisites = Some(Stamp::of(event)),
            EventKind::InstanceStarted { key, .. } => {
                let i = self.entry(key, event);
                i.state = InstanceState::Started;
                i.started = Some(Stamp::of(event));
                i.stamp = Some(Stamp::of(event));
                i.attempts = i.attempts.saturating_add(1);
                i.restart = None;
                i.boot = None;
                i.restart_down = false;
            }
            EventKind::InstanceDone { key, how } => {
                // A journal written before items were honest says `done` for a step whose
                // items were not all done: that is partly done.
                let skipped: Vec<String> = self
                    .instances
                    .get(key.as_str())
                    .map(|i| {
                        i.items
                            .iter()
                            .filter(|(_, p)| matches!(p.state, ItemState::Skipped { .. }))
                            .map(|(id, _)| id.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let state = if skipped.is_empty() {
                    InstanceState::Done(*how)
                } else {
                    InstanceState::PartlyDone { left: skipped }
                };
                self.settle(key, event, state);
            }
            EventKind::InstancePartlyDone { key, left } => {
                let left = left.clone();
                self.settle(key, event, InstanceState::PartlyDone { left });
            }
            EventKind::InstanceReopened { key } => {
                let i = self.entry(key, event);
                i.items.clear();
                i.reopened = i.reopened.saturating_add(1);
                i.worked_around = false;
                self.settle(key, event, InstanceState::Pending);
            }
            EventKind::InstanceSkipped { key, reason } => {
                let reason = reason.clone();
                self.settle(key, event, InstanceState::Skipped { reason });
            }
            EventKind::InstanceFailed { key, error } => {
                let error = error.clone();
                self.settle(key, event, InstanceState::Failed { error });
            }
            EventKind::InDoubtResolved {
                key,
                resolution,
                how,
            } => {
                let state = match resolution {
                    Resolution::Done => InstanceState::Done(how.unwrap_or(Completion::Confirmed)),
                    Resolution::NotDone => InstanceState::Pending,
                };
                self.settle(key, event, state);
            }
            EventKind::ItemDone { key, item } => {
                let stamp = Stamp::of(event);
                let i = self.entry(key, event);
                i.items.insert(
                    item.clone(),
                    ItemProgress {
                        state: ItemState::Done,
                        stamp,
                    },
                );
            }
            EventKind::ItemSkipped { key, item, reason } => {
                let stamp = Stamp::of(event);
                let state = ItemState::Skipped {
                    reason: reason.clone(),
                };
                self.entry(key, event)
                    .items
                    .insert(item.clone(), ItemProgress { state, stamp });
            }
            EventKind::NoteAdded { key } => {
                let Some(text) = &event.note else { return };
                let note = Note {
                    text: text.clone(),
                    stamp: Stamp::of(event),
                };
                match key {
                    Some(key) => self.entry(key, event).notes.push(note),
                    None => self.notes.push(note),
                }
            }
            EventKind::ActionOutput {
                key,
                path,
                exit_code,
            } => self
                .entry(key, event)
                .outputs
                .push((path.clone(), *exit_code)),
            EventKind::CommandStarted { key, pid, machine } => {
                self.entry(key, event).command = Some((*pid, machine.clone()));
            }
            EventKind::Restart { key, phase, boot } => {
                let i = self.entry(key, event);
                match phase {
                    RestartPhase::BootRead => i.boot = boot.clone(),
                    RestartPhase::Down => {
                        i.restart = Some(*phase);
                        i.restart_down = true;
                    }
                    _ => i.restart = Some(*phase),
                }
            }
            EventKind::KnownIssueApplied { key, issue } => match key {
                Some(key) => {
                    let i = self.entry(key, event);
                    i.known_issues.push(issue.clone());
                    i.worked_around = true;
                }
                None => self.known_issues.push(issue.clone()),
            },
            EventKind::Paused => self.lifecycle = Some(Lifecycle::Paused),
            EventKind::Resumed { .. } => {
                self.lifecycle = Some(Lifecycle::Active);
                self.resumes += 1;
            }
            EventKind::Interrupted => self.lifecycle = Some(Lifecycle::Interrupted),
            EventKind::ChecksOverridden { findings } => self
                .checks_overridden
                .push((findings.clone(), Stamp::of(event))),
            EventKind::RunFinished { outcome } => {
                self.lifecycle = Some(Lifecycle::Finished(*outcome));
            }
            EventKind::RunbookChangedAccepted {
                previous_sha256,
                sha256,
                changed_steps,
            } => self.runbook_changes.push((
                previous_sha256.clone(),
                sha256.clone(),
                changed_steps.clone(),
            )),
            EventKind::BatchConfirmed { phase, batch, .. } => {
                self.fleet
                    .confirmed
                    .insert((phase.clone(), *batch), Stamp::of(event));
            }
            EventKind::HostFailed { phase, key } => {
                let host = event.host.clone().unwrap_or_else(|| {
                    key.split_once('@')
                        .map(|(_, h)| h.to_string())
                        .unwrap_or_default()
                });
                let list = self.fleet.failed.entry(phase.clone()).or_default();
                if !list.iter().any(|(h, _)| *h == host) {
                    list.push((host, key.clone()));
                }
            }
            EventKind::FailuresAccepted { phase, failed } => {
                let n = self.fleet.accepted.entry(phase.clone()).or_default();
                *n = (*n).max(*failed);
            }
            EventKind::FileCopied {
                key,
                file,
                path,
                bytes,
                sha256,
                in_place,
            } => {
                let record = FileRecord {
                    file: file.clone(),
                    path: path.clone(),
                    bytes: *bytes,
                    sha256: sha256.clone(),
                    in_place: *in_place,
                    stamp: Stamp::of(event),
                };
                let files = &mut self.entry(key, event).files;
                files.retain(|f| f.path != record.path);
                files.push(record);
            }
        }
        // A note on any other event is kept with its instance, or with the run (a pause's
        // reason, say).
        if !matches!(event.kind, EventKind::NoteAdded { .. })
            && let Some(text) = &event.note
        {
            let note = Note {
                text: text.clone(),
                stamp: Stamp::of(event),
            };
            match event.kind.key() {
                Some(key) => self.entry(key, event).notes.push(note),
                None => self.notes.push(note),
            }
        }
    }

    fn entry(&mut self, key: &str, event: &Event) -> &mut InstanceProgress {
        if !self.instances.contains_key(key) {
            self.instances
                .insert(key.to_string(), Box::new(InstanceProgress::new()));
        }
        let i = self.instances.get_mut(key).expect("just inserted");
        if i.host.is_none() {
            i.host.clone_from(&event.host);
        }
        i
    }

    fn settle(&mut self, key: &str, event: &Event, state: InstanceState) {
        let i = self.entry(key, event);
        i.state = state;
        i.stamp = Some(Stamp::of(event));
    }

    /// What is recorded about an instance (`None`: nothing, it is pending).
    pub fn instance(&self, key: &str) -> Option<&InstanceProgress> {
        self.instances.get(key).map(|i| &**i)
    }

    /// How many instances the journal settled (done, partly done, skipped), planned or not.
    pub fn settled(&self) -> usize {
        self.settled
    }

    /// The state of an instance (pending when nothing is recorded).
    pub fn state(&self, key: &str) -> &InstanceState {
        self.instances
            .get(key)
            .map_or(&InstanceState::Pending, |i| &i.state)
    }

    /// Every instance something was recorded about, in no particular order.
    pub fn instances(&self) -> impl Iterator<Item = (&str, &InstanceProgress)> {
        self.instances.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// Keys of the instances that were started and never finished, in the order they were
    /// started. On resume each must be asked about (or re-checked), never re-run or skipped
    /// silently.
    pub fn in_doubt(&self) -> Vec<&str> {
        let mut keys: Vec<(&str, u64)> = self
            .instances
            .iter()
            .filter(|(_, i)| i.state == InstanceState::Started)
            .map(|(k, i)| (k.as_str(), i.stamp.as_ref().map_or(0, |s| s.seq)))
            .collect();
        keys.sort_by_key(|(_, seq)| *seq);
        keys.into_iter().map(|(k, _)| k).collect()
    }

    /// Counts the plan's instances by state.
    pub fn counts(&self, plan: &Plan) -> Counts {
        let mut c = Counts {
            total: plan.instances.len(),
            ..Counts::default()
        };
        for instance in &plan.instances {
            match self.state(&instance.key) {
                InstanceState::Pending => c.pending += 1,
                InstanceState::Started => c.in_doubt += 1,
                InstanceState::Done(how) => {
                    c.done += 1;
                    if matches!(how, Completion::Confirmed | Completion::ByHand) {
                        c.by_hand += 1;
                    }
                }
                InstanceState::PartlyDone { .. } => c.partly_done += 1,
                InstanceState::Skipped { .. } => c.skipped += 1,
                InstanceState::Failed { .. } => c.failed += 1,
            }
        }
        c
    }

    /// The first instance of the plan, in order, that is not settled (done, partly done, skipped): where a resumed
    /// walk goes on.
    pub fn next<'p>(&self, plan: &'p Plan) -> Option<&'p crate::plan::Instance> {
        plan.instances
            .iter()
            .find(|i| !self.state(&i.key).settled())
    }

    /// Keys recorded in the journal that the plan does not have (the runbook or the host
    /// lists changed), sorted.
    pub fn unplanned(&self, plan: &Plan) -> Vec<&str> {
        let planned: std::collections::HashSet<&str> =
            plan.instances.iter().map(|i| i.key.as_str()).collect();
        let mut keys: Vec<&str> = self
            .instances
            .keys()
            .map(String::as_str)
            .filter(|k| !planned.contains(k))
            .collect();
        keys.sort_unstable();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Bindings;
    use crate::runbook::{Runbook, Source, load};

    const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
roles:
  - { id: web, title: Web, hosts: [WEB01, WEB02] }
phases:
  - id: a
    title: A
    steps:
      - { id: one, title: One, items: [First thing, Second thing] }
      - { id: iis, title: IIS, on: web }
      - { id: last, title: Last }
"#;

    fn runbook() -> Runbook {
        load(&Source {
            name: "t.yaml".into(),
            text: RUNBOOK.into(),
        })
        .runbook
        .unwrap()
    }

    struct Log(Vec<Event>);

    impl Log {
        fn push(&mut self, kind: EventKind) -> &mut Log {
            let seq = self.0.len() as u64 + 1;
            self.0.push(Event {
                seq,
                time: Timestamp::from_unix_millis(seq as i64 * 1000),
                operator: if seq < 5 { "alice" } else { "bob" }.into(),
                kind,
                host: None,
                note: None,
            });
            self
        }
        fn started(&mut self, key: &str) -> &mut Log {
            self.push(EventKind::InstanceStarted {
                key: key.into(),
                target: None,
            })
        }
        fn done(&mut self, key: &str) -> &mut Log {
            self.push(EventKind::InstanceDone {
                key: key.into(),
                how: Completion::Confirmed,
            })
        }
    }

    fn run_started() -> EventKind {
        EventKind::RunStarted {
            run_id: "r".into(),
            runbook_id: "t".into(),
            runbook_sha256: "00".into(),
            rehearsal: false,
            machine: "M".into(),
            pid: 1,
        }
    }

    #[test]
    fn started_without_an_outcome_is_in_doubt() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let mut log = Log(Vec::new());
        log.push(run_started())
            .started("one")
            .done("one")
            .started("iis@WEB01")
            .push(EventKind::Interrupted);
        let p = Progress::replay(&log.0);
        assert_eq!(p.in_doubt(), ["iis@WEB01"]);
        assert_eq!(p.state("iis@WEB01"), &InstanceState::Started);
        assert_eq!(p.lifecycle, Some(Lifecycle::Interrupted));
        assert_eq!(p.next(&plan).unwrap().key, "iis@WEB01");
        let c = p.counts(&plan);
        assert_eq!(
            c,
            Counts {
                total: 4,
                done: 1,
                by_hand: 1,
                partly_done: 0,
                skipped: 0,
                failed: 0,
                in_doubt: 1,
                pending: 2
            }
        );
        assert_eq!(c.left(), 3);
        let who = p.instance("iis@WEB01").unwrap().stamp.clone().unwrap();
        assert_eq!((who.operator.as_str(), who.seq), ("alice", 4));
    }

    #[test]
    fn resolving_doubt_retrying_and_finishing() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let mut log = Log(Vec::new());
        log.push(run_started())
            .started("one")
            .started("iis@WEB01")
            .push(EventKind::Resumed {
                machine: "M".into(),
                pid: 2,
                repaired_torn_line: false,
            })
            .push(EventKind::InDoubtResolved {
                key: "one".into(),
                resolution: Resolution::Done,
                how: None,
            })
            .push(EventKind::InDoubtResolved {
                key: "iis@WEB01".into(),
                resolution: Resolution::NotDone,
                how: None,
            });
        let p = Progress::replay(&log.0);
        assert!(p.in_doubt().is_empty());
        assert_eq!(p.state("one"), &InstanceState::Done(Completion::Confirmed));
        assert_eq!(p.state("iis@WEB01"), &InstanceState::Pending);
        assert_eq!(p.resumes, 1);
        log.started("iis@WEB01")
            .push(EventKind::InstanceFailed {
                key: "iis@WEB01".into(),
                error: "exit code 5".into(),
            })
            .started("iis@WEB01")
            .done("iis@WEB01")
            .push(EventKind::InstanceSkipped {
                key: "iis@WEB02".into(),
                reason: "decommissioned".into(),
            })
            .push(EventKind::InstanceFailed {
                key: "last".into(),
                error: "no".into(),
            })
            .push(EventKind::RunFinished {
                outcome: RunOutcome::Aborted,
            });
        let p = Progress::replay(&log.0);
        assert_eq!(p.instance("iis@WEB01").unwrap().attempts, 3);
        let c = p.counts(&plan);
        assert_eq!(
            (c.done, c.skipped, c.failed, c.pending, c.left()),
            (2, 1, 1, 0, 1)
        );
        assert_eq!(p.lifecycle, Some(Lifecycle::Finished(RunOutcome::Aborted)));
        assert_eq!(RunState::of(p.lifecycle.unwrap(), false), RunState::Failed);
    }

    #[test]
    fn items_notes_and_unplanned_keys() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let mut log = Log(Vec::new());
        log.push(run_started())
            .push(EventKind::ItemDone {
                key: "one".into(),
                item: "first-thing".into(),
            })
            .push(EventKind::ItemSkipped {
                key: "one".into(),
                item: "second-thing".into(),
                reason: "not installed".into(),
            })
            .push(EventKind::NoteAdded { key: None })
            .push(EventKind::NoteAdded {
                key: Some("gone@OLD".into()),
            });
        log.0[3].note = Some("window opened late".into());
        log.0[4].note = Some("old host".into());
        let p = Progress::replay(&log.0);
        let one = p.instance("one").unwrap();
        assert_eq!(one.state, InstanceState::Pending);
        assert_eq!(one.items["first-thing"].state, ItemState::Done);
        assert_eq!(
            one.items["second-thing"].state,
            ItemState::Skipped {
                reason: "not installed".into()
            }
        );
        assert_eq!(p.notes[0].text, "window opened late");
        assert_eq!(p.unplanned(&plan), ["gone@OLD"]);
        assert_eq!(p.counts(&plan).pending, 4);
    }

    #[test]
    fn run_states() {
        use Lifecycle::*;
        assert_eq!(RunState::of(Active, true), RunState::Running);
        assert_eq!(RunState::of(Active, false), RunState::Interrupted);
        assert_eq!(RunState::of(Paused, false), RunState::Paused);
        assert_eq!(RunState::of(Paused, true), RunState::Running);
        assert_eq!(RunState::of(Interrupted, false), RunState::Interrupted);
        assert_eq!(
            RunState::of(Finished(RunOutcome::Completed), true),
            RunState::Finished
        );
    }
}
