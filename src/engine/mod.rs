//! The walk: takes an operator through a plan's step instances, one at a time, and journals
//! every decision before going on.
//!
//! Order of things for each instance: show it; for an automated one, ask, journal
//! `instance_started` and run its action; for a manual one, take the operator's decision; journal
//! the outcome. A failure opens the guided
//! failure menu. Pausing, a missing scripted answer and Ctrl-C all leave a journal that `resume`
//! continues from; nothing here re-runs an instance silently or skips one silently.
//!
//! Nothing is recorded done without evidence: an automated action's journaled success, or the
//! operator's word recorded as by hand (with a note where it stands in for the automation).
//! Declining an action never leads to done; a step with items not all done is partly done; an
//! instance in doubt is answered from what its action left ([`crate::actions::evidence`]) and the
//! journal, never by re-running a command whose process still runs. An action whose SSH
//! connection dropped while it ran has an unknown outcome: it is never journaled as failed or
//! done, but asked about as in doubt, from what its host shows once it answers again. Settled
//! instances that were skipped, partly done or done by hand can be reopened
//! (`instance_reopened`) before the run finishes.
//!
//! The engine reads the runbook only through the plan, talks to the operator only through a
//! [`Prompter`], and writes state only through the journal.

mod fleet;
pub mod interrupt;
pub mod operator;
pub mod parallel;
pub mod rehearsal;
pub mod restart;
pub mod start;
pub mod summary;
pub mod view;

use std::sync::{Arc, Mutex, MutexGuard};

use indicatif::ProgressStyle;

use crate::actions::{self, ExecContext, Failure, Outcome, Progress as ActionProgress};
use crate::dryrun::Problems;
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::journal::{
    self, Completion, EventKind, InstanceState, NewEvent, Recorder, Resolution, RunOutcome,
};
use crate::plan::{Instance, Plan, instance_key};
use crate::runbook::{Action, Step};
use crate::target::{Reach, TargetKind};
use crate::ui::{
    Decision, Declined, Evidence, FailureChoice, FailureView, InDoubtChoice, ItemAnswer, Prompter,
    StepView, Stop, Supports,
};

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Finished,
    Paused,
    /// Stopped for a prompt nobody could answer; the text says what was missing.
    Missing(String),
    Interrupted,
    /// Aborted by the operator, or stopped by blocking findings.
    Aborted,
}

impl Ending {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Ending::Finished => ExitCode::Success,
            Ending::Paused | Ending::Missing(_) => ExitCode::Paused,
            Ending::Interrupted => interrupt::exit_code(),
            Ending::Aborted => ExitCode::Failure,
        }
    }
}

/// One walk over a plan, writing to one run's journal.
pub struct Walk<'p, 'r> {
    pub plan: &'p Plan<'r>,
    pub recorder: Arc<Mutex<Recorder>>,
    pub prompter: &'p mut dyn Prompter,
    /// Commands are shown and journaled as rehearsed instead of run.
    pub rehearsal: bool,
    /// The connections to the run's SSH hosts, one per host, reused.
    pub hosts: Arc<crate::target::Hosts>,
    /// Instances the journal settled that are not in this plan (a runbook changed since): the
    /// step counter subtracts them, counted once, since the walk never changes them.
    pub off_plan_settled: std::sync::OnceLock<usize>,
}

enum Flow {
    Next,
    Stop(Ending),
}

enum Recovery {
    Retry,
    Flow(Flow),
}

fn stopped(s: Stop) -> Flow {
    match s {
        Stop::Missing(m) => Flow::Stop(Ending::Missing(m)),
        Stop::Interrupted => Flow::Stop(Ending::Interrupted),
        Stop::Io(m) => Flow::Stop(Ending::Missing(format!("the terminal failed: {m}"))),
    }
}

macro_rules! ask {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return Ok(stopped(s)),
        }
    };
}

/// What is said and journaled of an action on `host` whose outcome is unknown: `what` (an
/// instance, as the operator reads it) ran when its connection dropped, or got no answer.
fn unknown_outcome(host: &str, what: &str, connection_lost: bool) -> String {
    if connection_lost {
        format!("the connection to {host} dropped while {what} ran: its outcome is unknown")
    } else {
        format!("the outcome of {what} on {host} is unknown")
    }
}

fn journal_error(e: crate::journal::Error) -> Error {
    Error::Failed(e.to_string())
}

impl<'p, 'r> Walk<'p, 'r> {
    fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, event: NewEvent) -> Result<(), Error> {
        self.recorder().record(event).map_err(journal_error)?;
        Ok(())
    }

    fn state(&self, key: &str) -> InstanceState {
        self.recorder().progress().state(key).clone()
    }

    /// The settled instances of the plan, for the step counter: kept by the journal's replay as
    /// events are folded in, so showing a step costs nothing per instance of the plan.
    fn finished_count(&self) -> usize {
        let rec = self.recorder();
        let progress = rec.progress();
        let planned = || {
            self.plan
                .instances
                .iter()
                .filter(|i| progress.state(&i.key).settled())
                .count()
        };
        let off_plan = *self
            .off_plan_settled
            .get_or_init(|| progress.settled() - planned());
        let count = progress.settled() - off_plan;
        debug_assert_eq!(count, planned(), "the kept count of settled instances");
        count
    }

    /// Shows the dry-run findings; blocking ones stop the run unless overridden with a reason.
    pub fn preflight(&mut self, report: &Problems) -> Result<Option<Ending>, Error> {
        let mut text = format!("Dry-run checks: {}\n", report.summary.line());
        for f in report
            .findings
            .iter()
            .filter(|f| f.finding.severity != actions::Severity::Ok)
        {
            let key = f.finding.instance.as_deref().unwrap_or("runbook");
            text.push_str(&format!(
                "  {:<8} {key}: {}\n",
                f.finding.severity.name(),
                f.finding.sentence()
            ));
            if let Some(to_do) = &f.finding.to_do {
                text.push_str(&format!("           to do: {to_do}\n"));
            }
        }
        self.prompter.show(text.trim_end());
        if !report.has_blocking() {
            return Ok(None);
        }
        match self.prompter.override_blocking(report.summary.blocking) {
            Ok(Some(reason)) => {
                let findings = report
                    .findings
                    .iter()
                    .filter(|f| f.finding.severity == actions::Severity::Blocking)
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f.finding.instance.as_deref().unwrap_or("runbook"),
                            f.finding.sentence()
                        )
                    })
                    .collect();
                self.record(NewEvent::new(EventKind::ChecksOverridden { findings }).note(reason))?;
                Ok(None)
            }
            Ok(None) => {
                self.record(
                    NewEvent::new(EventKind::Paused)
                        .note("stopped before the first step by blocking dry-run findings"),
                )?;
                Ok(Some(Ending::Aborted))
            }
            Err(s) => Ok(Some(match stopped(s) {
                Flow::Stop(e) => e,
                Flow::Next => Ending::Aborted,
            })),
        }
    }

    /// Shows the prerequisites and has them confirmed once per run (journaled).
    pub fn prerequisites(&mut self) -> Result<Option<Ending>, Error> {
        let list: Vec<String> = self
            .plan
            .runbook
            .prerequisites
            .iter()
            .map(|p| self.plan.resolved.show(&p.text))
            .collect();
        if list.is_empty() || self.recorder().progress().prerequisites.is_some() {
            return Ok(None);
        }
        let mut text = String::from("Prerequisites:\n");
        for p in &list {
            text.push_str(&format!("  [ ] {}\n", p.trim_end()));
        }
        self.prompter.show(text.trim_end());
        match self.prompter.confirm_prerequisites(&list) {
            Ok(true) => {
                self.record(NewEvent::new(EventKind::PrerequisitesConfirmed))?;
                Ok(None)
            }
            Ok(false) => {
                self.record(
                    NewEvent::new(EventKind::Paused)
                        .note("stopped before the first step: the prerequisites are not met"),
                )?;
                self.prompter
                    .show("Stopped: meet the prerequisites, then `stepwise resume`.");
                Ok(Some(Ending::Paused))
            }
            Err(s) => Ok(Some(match stopped(s) {
                Flow::Stop(e) => e,
                Flow::Next => Ending::Paused,
            })),
        }
    }

    /// Walks every instance that is not settled yet, in plan order; at the end, offers to
    /// reopen what was skipped, partly done or done by hand before the run is finished.
    pub fn walk(&mut self) -> Result<Ending, Error> {
        let total = self.plan.instances.len();
        loop {
            if let Some(ending) = self.walk_unsettled()? {
                return Ok(ending);
            }
            if let Some(ending) = self.revisit_before_finishing()? {
                return Ok(ending);
            }
            // A reopened instance is walked at once and settled, or the walk stopped; should one
            // still be open, the walk takes it up again rather than finish around it.
            if self
                .plan
                .instances
                .iter()
                .all(|i| self.state(&i.key).settled())
            {
                break;
            }
        }
        self.prompter.progress(total, total, "finished");
        self.record(NewEvent::new(EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        }))?;
        Ok(Ending::Finished)
    }

    /// Walks every instance that is not settled, in fleet order (the plan's, with host-major
    /// phases batch by batch); `Some` when the walk stopped.
    fn walk_unsettled(&mut self) -> Result<Option<Ending>, Error> {
        let total = self.plan.instances.len();
        let plan = self.plan;
        let mut announced = None;
        for (index, batch) in crate::fleet::walk(plan) {
            let instance = &plan.instances[index];
            let state = self.state(&instance.key);
            if state.settled() {
                continue;
            }
            if let Some(b) = batch {
                if let Some(ending) = self.batch_gate(b)? {
                    return Ok(Some(ending));
                }
                if announced != Some((b.phase, b.number)) {
                    announced = Some((b.phase, b.number));
                    self.announce_batch(b);
                }
            }
            self.prompter
                .progress(self.finished_count(), total, &instance.key);
            if interrupt::interrupted() {
                return Ok(Some(Ending::Interrupted));
            }
            let flow = if state == InstanceState::Started && self.restart_phase(instance).is_some()
            {
                self.resume_restart(instance)?
            } else if state == InstanceState::Started {
                self.in_doubt(instance)?
            } else if let Some(batch) = self.parallel_batch(instance)
                && let Some(flow) = self.parallel(&batch)?
            {
                flow
            } else {
                self.instance(instance)?
            };
            if let Flow::Stop(ending) = flow {
                return Ok(Some(ending));
            }
            if let Some(b) = batch
                && let Some(ending) = self.failures_gate(b.phase)?
            {
                return Ok(Some(ending));
            }
        }
        Ok(None)
    }

    /// Once every instance is settled: offers to reopen what was skipped, partly done or done by
    /// hand, until the operator finishes; `Some` when the walk stopped.
    fn revisit_before_finishing(&mut self) -> Result<Option<Ending>, Error> {
        loop {
            let candidates = {
                let rec = self.recorder();
                summary::revisitable(self.plan, rec.progress(), None)
            };
            if candidates.is_empty() {
                return Ok(None);
            }
            let key = match self.prompter.revisit(&candidates, true) {
                Ok(Some(key)) => key,
                Ok(None) => return Ok(None),
                Err(s) => {
                    return Ok(match stopped(s) {
                        Flow::Stop(ending) => Some(ending),
                        Flow::Next => None,
                    });
                }
            };
            if let Flow::Stop(ending) = self.revisit(&key)? {
                return Ok(Some(ending));
            }
        }
    }

    /// The view of an instance, with what can be reopened from its menu.
    fn view(&self, instance: &Instance) -> StepView {
        let mut view = view::step_view(self.plan, instance);
        let rec = self.recorder();
        view.revisitable = summary::revisitable(self.plan, rec.progress(), Some(&instance.key));
        view
    }

    fn show_plan(&mut self, current: Option<&str>) {
        let text = {
            let rec = self.recorder();
            summary::plan_view(self.plan, rec.progress(), current)
        };
        self.prompter.show(&text);
    }

    /// Reopens a settled instance (journaled as `instance_reopened`) and walks it at once.
    fn revisit(&mut self, key: &str) -> Result<Flow, Error> {
        let Some(instance) = self.plan.instance(key) else {
            self.prompter
                .show(&format!("   No step instance `{key}` in this run."));
            return Ok(Flow::Next);
        };
        if !summary::reopenable(&self.state(key)) {
            self.prompter.show(&format!(
                "   {key} cannot be reopened: only what was skipped, partly done or done by hand can."
            ));
            return Ok(Flow::Next);
        }
        let was = summary::state_words(&self.state(key));
        self.record(NewEvent::instance_reopened(instance).note(format!("reopened; it was {was}")))?;
        self.prompter
            .show(&format!("\n   Reopened {key}: it is to do again."));
        self.instance(instance)
    }

    /// What an interrupted action left, shown to the operator, and the answer it supports.
    fn evidence(&mut self, instance: &Instance, step: &Step) -> Evidence {
        let action = step.automated();
        let mut evidence = Evidence {
            supports: Supports::Unknown,
            still_running: false,
            rerun: if action.is_none() {
                "It was not done: show the step again".into()
            } else {
                "It did not complete: show the step again (you are asked before it runs)".into()
            },
            unreachable: None,
        };
        // Only where the action runs: another host's files are not looked at from here, except
        // over that host's own connection (reopened if it dropped), read-only.
        let local = self.runs_here(instance);
        let scoped = self.plan.for_instance(instance);
        let mut remote = None;
        if action.is_some()
            && let Reach::Host(t) = self.plan.reach(instance)
            && t.kind == TargetKind::Ssh
        {
            match self.hosts.session(&t) {
                Ok(s) => remote = Some(s),
                Err(e) => {
                    self.prompter.show(&format!(
                        "   {host} cannot be reached now: {e}.\n   What the action left on {host} cannot be looked at, so nothing is guessed: `{key}` stays in doubt until {host} answers.",
                        host = t.host,
                        key = instance.key
                    ));
                    evidence.unreachable = Some(format!(
                        "{} cannot be reached ({e}); `{}` stays in doubt: resume once {} answers",
                        t.host, instance.key, t.host
                    ));
                }
            }
        }
        let survey = match (action, &remote) {
            (Some(action @ (Action::Copy(_) | Action::WriteFile(_))), Some(s)) => {
                actions::remote_evidence::survey(&scoped, instance, action, s)
            }
            (Some(action @ (Action::Copy(_) | Action::WriteFile(_))), None) if local => {
                actions::evidence::survey(&scoped, instance, action)
            }
            _ => None,
        };
        if let Some(survey) = survey {
            let mut text = format!(
                "   It was interrupted. What the files look like now: {}\n",
                survey.headline()
            );
            let width = survey.files.iter().map(|f| f.name.len()).max().unwrap_or(0);
            for f in &survey.files {
                text.push_str(&format!(
                    "     {:<width$}  {}\n",
                    f.name,
                    f.describe(survey.copy)
                ));
            }
            let unknown = survey
                .files
                .iter()
                .all(|f| matches!(f.state, actions::evidence::FileState::Unknown(_)));
            evidence.supports = if survey.complete() {
                text.push_str("   Every file is in place: the evidence says it completed.");
                Supports::Completed
            } else if unknown {
                Supports::Unknown
            } else {
                text.push_str(
                    "   Not every file is in place: the evidence says it did not complete.",
                );
                Supports::NotCompleted
            };
            evidence.rerun = if survey.copy {
                "It did not complete: finish the copy (copies only what is not in place, keeps the backups)".into()
            } else {
                "It did not complete: write the file again".into()
            };
            self.prompter.show(text.trim_end());
        }
        let folder = match (action, &remote) {
            (Some(action @ Action::CreateFolder(_)), Some(s)) => {
                actions::remote_evidence::folder(&scoped, instance, action, s)
            }
            (Some(action @ Action::CreateFolder(_)), None) if local => {
                actions::evidence::folder(&scoped, instance, action)
            }
            _ => None,
        };
        if let Some(folder) = folder {
            use actions::evidence::FolderState;
            let (said, supports) = match folder.state {
                FolderState::Present => ("the evidence says it completed", Supports::Completed),
                FolderState::Missing => (
                    "the evidence says it did not complete",
                    Supports::NotCompleted,
                ),
                FolderState::Unknown(_) => ("nothing is guessed", Supports::Unknown),
            };
            self.prompter.show(&format!(
                "   It was interrupted. What is there now: {}: {said}.",
                folder.describe()
            ));
            evidence.supports = supports;
            evidence.rerun = "It did not complete: create the folder again".into();
        }
        if let Some(Action::Command(command)) = action {
            let (last, started) = {
                let rec = self.recorder();
                let p = rec.progress().instance(&instance.key);
                (
                    p.and_then(|p| p.outputs.last().cloned()),
                    p.and_then(|p| p.command.clone()),
                )
            };
            let mut ended = None;
            if let Some((pid, machine)) = &started {
                let here = *machine == journal::machine_name();
                if here && !actions::still_running(*pid) {
                    ended = Some(*pid);
                }
                if here && actions::still_running(*pid) {
                    evidence.still_running = true;
                    self.prompter.show(&format!(
                        "   The command is still running as process {pid} on this machine: it is not run again while it runs."
                    ));
                } else if !here {
                    self.prompter.show(&format!(
                        "   The command ran as process {pid} on {machine}: look there whether it is still running."
                    ));
                }
            }
            let over_ssh =
                matches!(self.plan.reach(instance), Reach::Host(t) if t.kind == TargetKind::Ssh);
            let (text, supports) = match last {
                // A command on a host: no exit came back. The connection dropped, stepwise
                // stopped, or it ran past its timeout while it ran; it may have finished there
                // or still run.
                Some((_, None)) | None if over_ssh => {
                    let host = instance.host().unwrap_or_default().to_string();
                    let mut text = format!(
                        "   No exit of the command came back from {host} (its connection ended, or it ran past its timeout): stepwise cannot know whether it finished (it may have, or may still be running there)."
                    );
                    if let Some((path, _)) = &last {
                        text.push_str(&format!(" What it printed is in {path}."));
                    }
                    (text, Supports::Unknown)
                }
                Some((path, Some(code))) if command.success_codes.contains(&code) => (format!(
                    "   The journal shows the command exited with {code} (success); its output is in {path}."
                ), Supports::Completed),
                Some((path, Some(code))) => (format!(
                    "   The journal shows the command exited with {code} (a failure); its output is in {path}."
                ), Supports::NotCompleted),
                Some((path, None)) => (format!(
                    "   The command was stopped before it exited: it did not complete. What it printed is in {path}."
                ), Supports::NotCompleted),
                None if evidence.still_running => (String::new(), Supports::Unknown),
                None => match ended {
                    Some(pid) => (format!(
                        "   The journal has no result of the command, and its process {pid} has ended: nothing here tells whether it succeeded."
                    ), Supports::Unknown),
                    None => ("   The journal has no result of the command: it may have run, or may still be running.".into(), Supports::Unknown),
                },
            };
            evidence.supports = supports;
            if !text.is_empty() {
                self.prompter.show(&text);
            }
        }
        evidence
    }

    /// Waits (at most the command's timeout) for the process of an in-doubt command to end.
    fn wait_for_command(&mut self, instance: &Instance, step: &Step) -> bool {
        let pid = {
            let rec = self.recorder();
            rec.progress()
                .instance(&instance.key)
                .and_then(|p| p.command.as_ref().map(|c| c.0))
        };
        let Some(pid) = pid else { return true };
        let limit = match step.automated() {
            Some(Action::Command(c)) => std::time::Duration::from_secs(c.timeout_secs.max(1)),
            _ => std::time::Duration::from_secs(60),
        };
        self.prompter.show(&format!(
            "   Waiting for process {pid} to end (at most {}; Ctrl-C saves and exits)…",
            journal::format_duration(i64::try_from(limit.as_millis()).unwrap_or(i64::MAX))
        ));
        let start = std::time::Instant::now();
        while actions::still_running(pid) {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        self.prompter.show(&format!("   Process {pid} has ended."));
        true
    }

    /// The connection to the instance's host dropped while its action ran: it is neither done
    /// nor failed (journaled as a note, the instance stays started), and is asked about as an
    /// instance in doubt, from what the host shows once it can be reached again.
    fn connection_dropped(
        &mut self,
        instance: &Instance,
        failure: &FailureView,
    ) -> Result<Flow, Error> {
        let host = instance.host().unwrap_or_default();
        let sentence = unknown_outcome(
            host,
            &format!("`{}`", instance.key),
            failure.connection_lost,
        );
        let mut text = format!(
            "\n   ✗ {}{}.\n",
            sentence[..1].to_uppercase(),
            &sentence[1..]
        );
        text.push_str(&format!("     ({})\n", failure.what));
        if !failure.output_tail.is_empty() {
            text.push_str("   Last lines of output:\n");
            for line in &failure.output_tail {
                text.push_str(&format!("     | {line}\n"));
            }
        }
        self.prompter.show(text.trim_end());
        self.record(NewEvent::note_added(
            Some(instance),
            format!("{sentence} ({})", failure.what),
        ))?;
        let view = self.view(instance);
        self.ask_in_doubt(instance, &view)
    }

    fn in_doubt(&mut self, instance: &Instance) -> Result<Flow, Error> {
        let view = self.view(instance);
        self.prompter.show(&view::render(&view, false));
        self.ask_in_doubt(instance, &view)
    }

    /// Shows what an instance in doubt left and asks whether it completed, until it is answered.
    fn ask_in_doubt(&mut self, instance: &Instance, view: &StepView) -> Result<Flow, Error> {
        let view = view.clone();
        let step = self.plan.step_of(instance).step;
        loop {
            let evidence = self.evidence(instance, step);
            match ask!(self.prompter.in_doubt(&view, &evidence)) {
                InDoubtChoice::Wait => {
                    if let Some(why) = &evidence.unreachable {
                        if !self.prompter.interactive() {
                            return Ok(Flow::Stop(Ending::Missing(why.clone())));
                        }
                        // Look again: the host is reconnected to when the evidence is gathered.
                        continue;
                    }
                    if !evidence.still_running {
                        continue;
                    }
                    if !self.wait_for_command(instance, step) && !self.prompter.interactive() {
                        return Ok(Flow::Stop(Ending::Missing(format!(
                            "the command of `{}` still runs; resume once it has ended",
                            instance.key
                        ))));
                    }
                }
                InDoubtChoice::Rerun if evidence.still_running => {
                    self.prompter.show(
                        "   Not run again: its earlier process still runs. Wait for it, or pause.",
                    );
                }
                InDoubtChoice::Rerun if evidence.unreachable.is_some() => {
                    self.prompter.show(&format!(
                        "   Not run again: {}.",
                        evidence.unreachable.as_deref().unwrap_or_default()
                    ));
                    if !self.prompter.interactive() {
                        return Ok(Flow::Stop(Ending::Missing(
                            evidence.unreachable.clone().unwrap_or_default(),
                        )));
                    }
                }
                InDoubtChoice::Rerun => {
                    self.record(
                        NewEvent::in_doubt_resolved(instance, Resolution::NotDone, None)
                            .note("it did not complete: taken up again"),
                    )?;
                    return self.instance(instance);
                }
                InDoubtChoice::Done(note) => {
                    let backed = evidence.supports == Supports::Completed;
                    let Some(note) = note
                        .or_else(|| backed.then(|| "the evidence shows it completed".to_string()))
                    else {
                        self.prompter.show(
                            "   A note is required: the evidence does not show that it completed.",
                        );
                        if self.prompter.interactive() {
                            continue;
                        }
                        return Ok(Flow::Stop(Ending::Missing(format!(
                            "`{}`: `in_doubt: done` against the evidence needs a `note` saying how you know",
                            instance.key
                        ))));
                    };
                    let how = if backed {
                        if self.rehearsal
                            && matches!(
                                step.automated(),
                                Some(Action::Command(_) | Action::Restart(_))
                            )
                        {
                            Completion::Rehearsed
                        } else {
                            Completion::Automated
                        }
                    } else {
                        Completion::ByHand
                    };
                    self.record(
                        NewEvent::in_doubt_resolved(instance, Resolution::Done, Some(how))
                            .note(note),
                    )?;
                    self.settled(instance, step);
                    return Ok(Flow::Next);
                }
                InDoubtChoice::Skip(reason) => {
                    self.record(NewEvent::in_doubt_resolved(
                        instance,
                        Resolution::NotDone,
                        None,
                    ))?;
                    self.record(NewEvent::instance_skipped(instance, reason))?;
                    self.settled(instance, step);
                    return Ok(Flow::Next);
                }
                InDoubtChoice::Pause => {
                    self.record(NewEvent::new(EventKind::Paused))?;
                    return Ok(Flow::Stop(Ending::Paused));
                }
            }
        }
    }

    /// Whether an instance's actions run on this machine (its host, if any, is local).
    fn runs_here(&self, instance: &Instance) -> bool {
        match self.plan.reach(instance) {
            Reach::ThisMachine => true,
            Reach::Host(t) => t.kind == TargetKind::Local,
            Reach::Unreachable { .. } => false,
        }
    }

    /// An instance was settled: partial temporary files an interrupted attempt left beside its
    /// targets are removed (they are never part of the result).
    fn settled(&mut self, instance: &Instance, step: &Step) {
        let Some(action) = step.automated() else {
            return;
        };
        if !self.runs_here(instance) {
            self.settled_on_host(instance, action);
            return;
        }
        let scoped = self.plan.for_instance(instance);
        for path in actions::evidence::leftovers(&scoped, instance, action) {
            match std::fs::remove_file(&path) {
                Ok(()) => self.prompter.show(&format!(
                    "   Removed the partial temporary file {}.",
                    path.display()
                )),
                Err(e) => self.prompter.show(&format!(
                    "   warning: cannot remove the partial temporary file {}: {}",
                    path.display(),
                    crate::error::describe_io(&e)
                )),
            }
        }
    }

    /// The same for an instance on a host reached over SSH, over its connection; a host that
    /// cannot be reached keeps them (the next attempt replaces them).
    fn settled_on_host(&mut self, instance: &Instance, action: &Action) {
        if !matches!(action, Action::Copy(_) | Action::WriteFile(_)) {
            return;
        }
        let Reach::Host(t) = self.plan.reach(instance) else {
            return;
        };
        if t.kind != TargetKind::Ssh {
            return;
        }
        let Ok(s) = self.hosts.session(&t) else {
            return;
        };
        let scoped = self.plan.for_instance(instance);
        for path in actions::remote_evidence::leftovers(&scoped, action, &s) {
            match s.remove(&path) {
                Ok(()) => self.prompter.show(&format!(
                    "   Removed the partial temporary file {path} on {}.",
                    t.host
                )),
                Err(e) => self.prompter.show(&format!(
                    "   warning: cannot remove the partial temporary file {path} on {}: {e}",
                    t.host
                )),
            }
        }
    }

    fn done(
        &self,
        instance: &Instance,
        how: Completion,
        note: Option<String>,
    ) -> Result<(), Error> {
        let mut e = NewEvent::instance_done(instance, how);
        if let Some(n) = note {
            e = e.note(n);
        }
        self.record(e)
    }

    /// How an automated action's success is recorded: after a workaround applied to this
    /// instance since it was last reopened, by automation, or (a rehearsed command) rehearsed.
    fn automated_how(&self, instance: &Instance, action: &Action) -> Completion {
        if self.rehearsal && matches!(action, Action::Command(_) | Action::Restart(_)) {
            return Completion::Rehearsed;
        }
        let rec = self.recorder();
        let worked_around = rec
            .progress()
            .instance(&instance.key)
            .is_some_and(|p| p.worked_around);
        if worked_around {
            Completion::Workaround
        } else {
            Completion::Automated
        }
    }

    fn instance(&mut self, instance: &Instance) -> Result<Flow, Error> {
        let step = self.plan.step_of(instance).step;
        let view = self.view(instance);
        self.prompter.show(&view::render(&view, false));
        // A manual instance is journaled when the operator decides; an automated one as
        // started just before its action runs, so a crash inside the action leaves it in doubt.
        match &step.action {
            Action::Manual => self.manual(instance, step, &view),
            action => {
                if !view.reachable {
                    // Never run on this machine on behalf of another host.
                    let host = instance.host().unwrap_or_default().to_string();
                    self.prompter.show(&format!(
                        "   Not run: {}.",
                        Reach::unreachable_sentence(&host)
                    ));
                    return self.manual(instance, step, &view);
                }
                if ask!(self.prompter.confirm_action(&view)) {
                    return self.automated(instance, step, action, &view);
                }
                self.declined(instance, step, action, &view)
            }
        }
    }

    /// The operator declined to run an automated action now. Nothing here marks it done without
    /// evidence: run it now, done by hand with a note, skip with a reason, or pause.
    fn declined(
        &mut self,
        instance: &Instance,
        step: &Step,
        action: &Action,
        view: &StepView,
    ) -> Result<Flow, Error> {
        self.prompter.show(
            "   Not run. It is not done until it runs, or you do it by hand and say what you did.",
        );
        loop {
            match ask!(self.prompter.declined(view)) {
                Declined::RunNow => return self.automated(instance, step, action, view),
                Declined::ByHand(note) => {
                    self.done(instance, Completion::ByHand, Some(note))?;
                    self.settled(instance, step);
                    return Ok(Flow::Next);
                }
                Declined::Skip(reason) => {
                    self.record(NewEvent::instance_skipped(instance, reason))?;
                    self.settled(instance, step);
                    return Ok(Flow::Next);
                }
                Declined::Note(text) => {
                    self.record(NewEvent::note_added(Some(instance), text))?;
                    self.prompter.show("   Note saved.");
                }
                Declined::ShowPlan => self.show_plan(Some(&instance.key)),
                Declined::Pause => {
                    self.record(NewEvent::new(EventKind::Paused))?;
                    return Ok(Flow::Stop(Ending::Paused));
                }
            }
        }
    }

    /// Records a manual step confirmed done: done when every item is, otherwise partly done
    /// (and the walk says which items are left).
    fn confirm_manual(
        &mut self,
        instance: &Instance,
        view: &StepView,
        note: Option<String>,
    ) -> Result<Option<Flow>, Error> {
        let mut left = Vec::new();
        if !view.items.is_empty() {
            let answers = match self.prompter.items(view) {
                Ok(a) => a,
                Err(s) => return Ok(Some(stopped(s))),
            };
            for ((id, text), answer) in view.items.iter().zip(answers) {
                match answer {
                    ItemAnswer::Done => self.record(NewEvent::item_done(instance, id))?,
                    ItemAnswer::NotDone(reason) => {
                        self.record(NewEvent::item_skipped(instance, id, reason))?;
                        left.push((id.clone(), text.clone()));
                    }
                }
            }
        }
        if left.is_empty() {
            let worked_around = {
                let rec = self.recorder();
                rec.progress()
                    .instance(&instance.key)
                    .is_some_and(|p| p.worked_around)
            };
            let how = if worked_around {
                Completion::Workaround
            } else {
                Completion::Confirmed
            };
            self.done(instance, how, note)?;
            return Ok(None);
        }
        let mut e = NewEvent::instance_partly_done(
            instance,
            left.iter().map(|(id, _)| id.clone()).collect(),
        );
        if let Some(n) = note {
            e = e.note(n);
        }
        self.record(e)?;
        let mut text = format!(
            "   Partly done: {} of {} items left:",
            left.len(),
            view.items.len()
        );
        for (_, t) in &left {
            text.push_str(&format!("\n     - {t}"));
        }
        text.push_str("\n   It is not counted as done; reopen it when the items are done.");
        self.prompter.show(&text);
        Ok(None)
    }

    fn manual(&mut self, instance: &Instance, step: &Step, view: &StepView) -> Result<Flow, Error> {
        let mut view = view.clone();
        loop {
            match ask!(self.prompter.decision(&view)) {
                Decision::Done { note } => {
                    if let Some(flow) = self.confirm_manual(instance, &view, note)? {
                        return Ok(flow);
                    }
                    return Ok(Flow::Next);
                }
                Decision::Skip { reason } => {
                    self.record(NewEvent::instance_skipped(instance, reason))?;
                    return Ok(Flow::Next);
                }
                Decision::Problem { note } => {
                    let failure = FailureView {
                        key: instance.key.clone(),
                        what: note.unwrap_or_else(|| "the operator reported a problem".into()),
                        output_tail: Vec::new(),
                        known_issues: view.known_issues.clone(),
                        has_host: instance.host().is_some(),
                        outcome_unknown: false,
                        connection_lost: false,
                    };
                    self.record(NewEvent::note_added(
                        Some(instance),
                        format!("problem reported: {}", failure.what),
                    ))?;
                    match self.failure(instance, step, &view, &failure)? {
                        Recovery::Retry => continue,
                        Recovery::Flow(f) => return Ok(f),
                    }
                }
                Decision::Note(text) => {
                    self.record(NewEvent::note_added(Some(instance), text))?;
                    self.prompter.show("   Note saved.");
                }
                Decision::Details => self.prompter.show(&view::render(&view, true)),
                Decision::Automate if !view.reachable => {
                    let host = instance.host().unwrap_or_default().to_string();
                    self.prompter.show(&format!(
                        "   The automation cannot run: {}.",
                        Reach::unreachable_sentence(&host)
                    ));
                }
                Decision::Automate => match &step.automation {
                    Some(action) => return self.automated(instance, step, action, &view),
                    None => self
                        .prompter
                        .show("   This step has no automation: do it by hand."),
                },
                Decision::ShowPlan => self.show_plan(Some(&instance.key)),
                Decision::Revisit(key) => {
                    if let Flow::Stop(ending) = self.revisit(&key)? {
                        return Ok(Flow::Stop(ending));
                    }
                    self.prompter.show("\n   Back to where the walk was.");
                    view = self.view(instance);
                    self.prompter.show(&view::render(&view, false));
                }
                Decision::Pause => {
                    self.record(NewEvent::new(EventKind::Paused))?;
                    return Ok(Flow::Stop(Ending::Paused));
                }
            }
        }
    }

    fn automated(
        &mut self,
        instance: &Instance,
        step: &Step,
        action: &Action,
        view: &StepView,
    ) -> Result<Flow, Error> {
        loop {
            // Journaled with where it goes before anything is sent there.
            let target = instance
                .host()
                .and_then(|_| self.plan.reach(instance).short());
            self.record(NewEvent::instance_dispatched(instance, target))?;
            match self.execute(instance, action)? {
                Ok(()) => {
                    let how = self.automated_how(instance, action);
                    self.done(instance, how, None)?;
                    self.settled(instance, step);
                    return Ok(Flow::Next);
                }
                Err(failure) => {
                    if interrupt::interrupted() {
                        // Journaled as `interrupted` where the walk ends; the instance stays
                        // started, so resume asks whether it completed.
                        return Ok(Flow::Stop(Ending::Interrupted));
                    }
                    if failure.outcome_unknown {
                        return self.connection_dropped(instance, &failure);
                    }
                    self.record(NewEvent::instance_failed(instance, failure.what.clone()))?;
                    match self.failure(instance, step, view, &failure)? {
                        Recovery::Retry => {
                            self.prompter
                                .show(&format!("\n   Trying {} again.", instance.key));
                            continue;
                        }
                        Recovery::Flow(f) => return Ok(f),
                    }
                }
            }
        }
    }

    /// Runs an action for one instance; `Err(view)` describes a failure the operator can act on.
    fn execute(
        &mut self,
        instance: &Instance,
        action: &Action,
    ) -> Result<Result<(), FailureView>, Error> {
        if self.rehearsal && matches!(action, Action::Command(_) | Action::Restart(_)) {
            let lines = view::describe_action(self.plan, action);
            self.prompter
                .show(&format!("   Rehearsal: not run: {}", lines.join("; ")));
            self.record(NewEvent::note_added(
                Some(instance),
                format!("rehearsed, not run: {}", lines.join("; ")),
            ))?;
            return Ok(Ok(()));
        }
        let mut session = None;
        let refused = match self.plan.reach(instance) {
            Reach::Unreachable { host } => Some(Reach::unreachable_sentence(&host)),
            // A restart sent before: its host may be down, the wait reconnects.
            Reach::Host(_) if self.waits_for_restart(instance, action) => None,
            Reach::Host(t) if t.kind == TargetKind::Ssh => match self.hosts.session(&t) {
                Ok(s) => {
                    session = Some(s);
                    None
                }
                Err(e) => Some(e.to_string()),
            },
            _ => None,
        };
        if let Some(why) = refused {
            let step = self.plan.step_of(instance).step;
            let failure = Failure::new(actions::FailureKind::NotReady, why);
            return Ok(Err(self.failure_view(instance, step, &failure)));
        }
        let scoped = self.plan.for_instance(instance);
        let (backup_dir, output_dir) = {
            let rec = self.recorder();
            (rec.run().backup_dir(), rec.run().output_dir())
        };
        let bar = self.prompter.action_bar();
        let recorder = self.recorder.clone();
        let mut journal_failure = None;
        let mut on_progress = |p: ActionProgress<'_>| match p {
            ActionProgress::Started { pid } => {
                let event = NewEvent::command_started(instance, pid, journal::machine_name());
                let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = rec.record(event) {
                    journal_failure = Some(e);
                }
            }
            ActionProgress::Bytes { file, done, total } => {
                if bar.length() != Some(total) {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "   {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_length(total);
                }
                bar.set_message(file.to_string());
                bar.set_position(done);
            }
            ActionProgress::FilesCopied(files) => {
                let events = files
                    .iter()
                    .map(|f| NewEvent::file_copied(instance, f))
                    .collect();
                let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
                if journal_failure.is_none()
                    && let Err(e) = rec.record_all(events)
                {
                    journal_failure = Some(e);
                }
            }
            ActionProgress::Line(line) => {
                bar.set_message(line.chars().take(100).collect::<String>());
                bar.tick();
            }
        };
        let mut ctx = ExecContext {
            backup_dir: &backup_dir,
            output_dir: &output_dir,
            progress: &mut on_progress,
            cancel: interrupt::cancel_flag(),
            remote: session.as_deref(),
        };
        let result = {
            let _guard = interrupt::ActionGuard::enter();
            self.run_action(&scoped, instance, action, &mut ctx)
        };
        bar.finish_and_clear();
        if let Some(e) = journal_failure {
            return Err(journal_error(e));
        }
        match result {
            Ok(outcome) => {
                self.record_output(instance, &outcome.command.as_ref(), &output_dir)?;
                self.show_outcome(&outcome);
                Ok(Ok(()))
            }
            Err(mut failure) => {
                self.record_output(instance, &failure.command.as_deref(), &output_dir)?;
                unknown_if_lost(session.as_deref(), action, &mut failure);
                let step = self.plan.step_of(instance).step;
                Ok(Err(self.failure_view(instance, step, &failure)))
            }
        }
    }

    fn record_output(
        &self,
        instance: &Instance,
        command: &Option<&actions::CommandRun>,
        output_dir: &std::path::Path,
    ) -> Result<(), Error> {
        if let Some(run) = command
            && let Some(file) = &run.output_file
        {
            let rel = match file.strip_prefix(output_dir.parent().unwrap_or(output_dir)) {
                Ok(r) => r.display().to_string(),
                Err(_) => file.display().to_string(),
            };
            self.record(NewEvent::action_output(instance, rel, run.exit_code))?;
        }
        Ok(())
    }

    fn show_outcome(&mut self, outcome: &Outcome) {
        let mut text = format!("   ✓ {}", outcome.summary);
        if let Some(run) = &outcome.command {
            for line in run.tail.iter().rev().take(5).rev() {
                text.push_str(&format!("\n     | {line}"));
            }
        }
        self.prompter.show(&text);
    }

    fn failure_view(&self, instance: &Instance, step: &Step, failure: &Failure) -> FailureView {
        FailureView {
            key: instance.key.clone(),
            what: failure.message.clone(),
            output_tail: failure
                .command
                .as_ref()
                .map(|c| c.tail.clone())
                .unwrap_or_default(),
            known_issues: view::known_issues(self.plan, step, instance.host()),
            has_host: instance.host().is_some(),
            outcome_unknown: failure.kind.outcome_unknown(),
            connection_lost: failure.kind == actions::FailureKind::ConnectionLost,
        }
    }

    /// The guided failure menu: what failed, the output tail, the known issues, and the ways on.
    fn failure(
        &mut self,
        instance: &Instance,
        step: &Step,
        view: &StepView,
        failure: &FailureView,
    ) -> Result<Recovery, Error> {
        let mut text = format!("\n   ✗ {} failed: {}\n", failure.key, failure.what);
        if !failure.output_tail.is_empty() {
            text.push_str("   Last lines of output:\n");
            for line in &failure.output_tail {
                text.push_str(&format!("     | {line}\n"));
            }
        }
        for k in &failure.known_issues {
            text.push_str(&format!(
                "   Known issue: {}\n     Symptom: {}\n",
                k.title,
                k.symptom.trim_end()
            ));
            if let Some(c) = &k.cause {
                text.push_str(&format!("     Cause: {}\n", c.trim_end()));
            }
            if let Some(w) = &k.workaround {
                text.push_str(&format!("     Workaround: {}\n", w.trim_end()));
            }
        }
        self.prompter.show(text.trim_end());
        let choice = match self.prompter.failure(view, failure) {
            Ok(c) => c,
            Err(s) => return Ok(Recovery::Flow(stopped(s))),
        };
        if !self.prompter.interactive() {
            self.prompter
                .show(&format!("   → answers file: {choice:?}"));
        }
        match choice {
            FailureChoice::Retry => {
                self.record(NewEvent::note_added(
                    Some(instance),
                    "retry after a failure",
                ))?;
                Ok(Recovery::Retry)
            }
            FailureChoice::Workaround(id) => match self.workaround(instance, &id)? {
                Some(flow) => Ok(Recovery::Flow(flow)),
                None => Ok(Recovery::Retry),
            },
            FailureChoice::DoneByHand(note) => {
                self.done(instance, Completion::ByHand, Some(note))?;
                self.settled(instance, step);
                Ok(Recovery::Flow(Flow::Next))
            }
            FailureChoice::SkipHost(reason) => {
                self.record(NewEvent::instance_skipped(instance, reason))?;
                self.settled(instance, step);
                self.host_failed(instance)?;
                Ok(Recovery::Flow(Flow::Next))
            }
            FailureChoice::Pause => {
                self.record(NewEvent::new(EventKind::Paused))?;
                Ok(Recovery::Flow(Flow::Stop(Ending::Paused)))
            }
            FailureChoice::SkipStep(reason) => {
                let rest: Vec<Instance> = self
                    .plan
                    .instances
                    .iter()
                    .filter(|i| i.step_id() == step.id && !self.state(&i.key).settled())
                    .cloned()
                    .collect();
                for i in &rest {
                    self.record(NewEvent::instance_skipped(
                        i,
                        format!("step skipped for all hosts: {reason}"),
                    ))?;
                }
                Ok(Recovery::Flow(Flow::Next))
            }
            FailureChoice::Abort => {
                self.record(NewEvent::new(EventKind::RunFinished {
                    outcome: RunOutcome::Aborted,
                }))?;
                Ok(Recovery::Flow(Flow::Stop(Ending::Aborted)))
            }
        }
    }

    /// Runs the steps of a known issue's workaround on the host where the issue was seen (the
    /// failed instance's host, whatever role a workaround step names): the printed checklist
    /// says the same. `None` means the workaround was applied and the failed step should be
    /// retried.
    fn workaround(&mut self, instance: &Instance, issue_id: &str) -> Result<Option<Flow>, Error> {
        let flow = self.workaround_steps(instance, issue_id);
        // Its steps are instances outside the plan: the step counter counts those again.
        self.off_plan_settled.take();
        flow
    }

    fn workaround_steps(
        &mut self,
        instance: &Instance,
        issue_id: &str,
    ) -> Result<Option<Flow>, Error> {
        let Some(issue) = self.plan.runbook.known_issue(issue_id) else {
            self.prompter
                .show(&format!("   No known issue `{issue_id}` in this runbook."));
            return Ok(None);
        };
        self.record(NewEvent::known_issue_applied(Some(instance), issue_id))?;
        for step in &issue.steps {
            let host = instance.host();
            let key = instance_key(&step.id, host);
            let pseudo = Instance::new(
                &step.id,
                host,
                instance.ordinal(),
                instance.phase(),
                instance.step(),
            );
            let scoped = self.plan.for_instance(&pseudo);
            let mut view = view::view_of(&scoped, step, host, &key);
            view::set_target(&mut view, self.plan, &pseudo);
            self.prompter
                .show(&format!("\n   Workaround of \"{}\":", issue.title));
            self.prompter.show(&view::render(&view, false));
            let target = host.and_then(|_| self.plan.reach(&pseudo).short());
            self.record(NewEvent::instance_dispatched(&pseudo, target))?;
            let by_hand = matches!(step.action, Action::Manual) || !view.reachable;
            match &step.action {
                _ if by_hand => match self.prompter.decision(&view) {
                    Ok(Decision::Pause) => {
                        self.record(NewEvent::new(EventKind::Paused))?;
                        return Ok(Some(Flow::Stop(Ending::Paused)));
                    }
                    Ok(Decision::Skip { reason }) => {
                        self.record(NewEvent::instance_skipped(&pseudo, reason))?;
                    }
                    Ok(Decision::Done { note }) => {
                        self.done(&pseudo, Completion::Confirmed, note)?
                    }
                    Ok(_) => {
                        self.record(NewEvent::instance_skipped(
                            &pseudo,
                            "not confirmed: the workaround step was left",
                        ))?;
                    }
                    Err(s) => return Ok(Some(stopped(s))),
                },
                action => {
                    match self.prompter.confirm_action(&view) {
                        Ok(true) => {}
                        Ok(false) => {
                            self.record(NewEvent::instance_skipped(&pseudo, "not run"))?;
                            continue;
                        }
                        Err(s) => return Ok(Some(stopped(s))),
                    }
                    match self.execute(&pseudo, action)? {
                        Ok(()) => self.done(&pseudo, Completion::Automated, None)?,
                        Err(f) if f.outcome_unknown => {
                            // Neither done nor failed: said, and journaled as what it is.
                            let host = host.unwrap_or_default();
                            let sentence = format!(
                                "{}; look on {host} before you go on",
                                unknown_outcome(
                                    host,
                                    &format!("the workaround step `{key}`"),
                                    f.connection_lost
                                )
                            );
                            self.record(NewEvent::note_added(
                                Some(&pseudo),
                                format!("{sentence} ({})", f.what),
                            ))?;
                            self.prompter.show(&format!("   ✗ {sentence}."));
                            return Ok(None);
                        }
                        Err(f) => {
                            self.record(NewEvent::instance_failed(&pseudo, f.what.clone()))?;
                            self.prompter
                                .show(&format!("   The workaround step failed: {}", f.what));
                            return Ok(None);
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Whatever failed while the connection went away (a write, a move, a copy) may have reached the
/// host or not: its outcome is unknown, not a failure. (Not a restart's: its connection goes away
/// on purpose, and it says itself what failed after.) Used by the walk and by each host's thread
/// of a parallel step alike.
pub(crate) fn unknown_if_lost(
    session: Option<&crate::target::ssh::Session>,
    action: &Action,
    failure: &mut Failure,
) {
    if session.is_some_and(|s| s.is_closed())
        && failure.kind != actions::FailureKind::Cancelled
        && !matches!(action, Action::Restart(_))
    {
        failure.kind = actions::FailureKind::ConnectionLost;
    }
}
