//! The walk: takes an operator through a plan's step instances, one at a time, and journals
//! every decision before going on.
//!
//! Order of things for each instance: show it; journal `instance_started`; run its action (after
//! asking) or take the operator's decision; journal the outcome. A failure opens the guided
//! failure menu. Pausing, a missing scripted answer and Ctrl-C all leave a journal that `resume`
//! continues from; nothing here re-runs an instance silently or skips one silently.
//!
//! The engine reads the runbook only through the plan, talks to the operator only through a
//! [`Prompter`], and writes state only through the journal.

pub mod interrupt;
pub mod view;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::actions::{self, ExecContext, Finding, Severity as FindingSeverity};
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::journal::{
    Completion, EventKind, InstanceState, Journal, NewEvent, Progress, Resolution, RunOutcome,
};
use crate::plan::{Instance, Plan, instance_key};
use crate::runbook::{Action, Step};
use crate::ui::{
    Decision, FailureChoice, FailureView, InDoubtChoice, ItemAnswer, Prompter, StepView, Stop,
};

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Finished,
    Paused,
    Missing(String),
    Interrupted,
    Aborted,
}

impl Ending {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Ending::Finished => ExitCode::Success,
            Ending::Paused | Ending::Missing(_) => ExitCode::Paused,
            Ending::Interrupted => ExitCode::Interrupted,
            Ending::Aborted => ExitCode::Failure,
        }
    }
}

/// One walk over a plan, writing to one run's journal.
pub struct Walk<'p, 'r> {
    pub plan: &'p Plan<'r>,
    pub journal: Arc<Mutex<Journal>>,
    pub prompter: &'p mut dyn Prompter,
    pub progress: Progress,
    /// Commands are shown and journaled as rehearsed instead of run.
    pub rehearsal: bool,
}

enum Flow {
    Next,
    Stop(Ending),
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

impl<'p, 'r> Walk<'p, 'r> {
    fn record(&self, event: NewEvent) -> Result<(), Error> {
        let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        j.append(event)
            .map_err(|e| Error::Failed(format!("cannot write the journal: {e}")))?;
        drop(j);
        Ok(())
    }

    fn run_dir(&self) -> PathBuf {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dir()
            .to_path_buf()
    }

    fn done_count(&self) -> usize {
        self.plan
            .instances
            .iter()
            .filter(|i| self.progress.state(&i.key).is_final())
            .count()
    }

    /// Shows the dry-run findings; blocking ones stop the run unless overridden with a reason.
    pub fn preflight(&mut self, findings: &[Finding]) -> Result<Option<Ending>, Error> {
        let blocking: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity == FindingSeverity::Blocking)
            .collect();
        let warnings = findings
            .iter()
            .filter(|f| f.severity == FindingSeverity::Warning)
            .count();
        let mut text = format!(
            "Dry-run checks: {} ok, {} warning{}, {} blocking\n",
            findings.len() - blocking.len() - warnings,
            warnings,
            if warnings == 1 { "" } else { "s" },
            blocking.len()
        );
        for f in findings
            .iter()
            .filter(|f| f.severity != FindingSeverity::Ok)
        {
            text.push_str(&format!("  {}\n", f.one_line()));
        }
        self.prompter.show(text.trim_end());
        if blocking.is_empty() {
            return Ok(None);
        }
        match self.prompter.override_blocking(blocking.len()) {
            Ok(Some(reason)) => {
                self.record(
                    NewEvent::new(EventKind::ChecksOverridden {
                        findings: blocking.iter().map(|f| f.one_line()).collect(),
                    })
                    .note(reason),
                )?;
                Ok(None)
            }
            Ok(None) => {
                self.prompter.show(
                    "Stopped before any step: fix the blocking findings (or override them), then `stepwise resume`.",
                );
                Ok(Some(Ending::Aborted))
            }
            Err(s) => Ok(Some(match stopped(s) {
                Flow::Stop(e) => e,
                Flow::Next => Ending::Aborted,
            })),
        }
    }

    /// Walks every instance that is not finished yet, in plan order.
    pub fn walk(&mut self) -> Result<Ending, Error> {
        let total = self.plan.instances.len();
        for instance in &self.plan.instances {
            self.prompter
                .progress(self.done_count(), total, &instance.key);
            let state = self.progress.state(&instance.key);
            if state.is_final() {
                continue;
            }
            if interrupt::interrupted() {
                return Ok(Ending::Interrupted);
            }
            let flow = if state == InstanceState::InDoubt {
                self.in_doubt(instance)?
            } else {
                self.instance(instance)?
            };
            if let Flow::Stop(ending) = flow {
                return Ok(ending);
            }
        }
        self.prompter.progress(total, total, "finished");
        self.record(NewEvent::new(EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        }))?;
        Ok(Ending::Finished)
    }

    fn in_doubt(&mut self, instance: &Instance) -> Result<Flow, Error> {
        let view = view::step_view(self.plan, instance);
        self.prompter.show(&view::render(&view, false));
        let step = self.plan.step_of(instance).step;
        if let Some(action @ Action::Copy(_)) = step.automated() {
            let findings = actions::check(self.plan, instance, action);
            let mut text = String::from("   It was interrupted; the files now:\n");
            for f in &findings {
                text.push_str(&format!("     {}\n", f.one_line()));
            }
            text.push_str("   Running it again finishes what is missing and keeps the backups.");
            self.prompter.show(&text);
        }
        match ask!(self.prompter.in_doubt(&view)) {
            InDoubtChoice::Rerun => {
                self.record(
                    NewEvent::in_doubt_resolved(instance, Resolution::NotDone)
                        .note("run again"),
                )?;
                self.progress.set(&instance.key, InstanceState::Pending);
                self.instance(instance)
            }
            InDoubtChoice::Done(note) => {
                self.record(NewEvent::in_doubt_resolved(instance, Resolution::Done).note(note))?;
                self.progress.set(&instance.key, InstanceState::Done);
                Ok(Flow::Next)
            }
            InDoubtChoice::Skip(reason) => {
                self.record(NewEvent::in_doubt_resolved(instance, Resolution::NotDone))?;
                self.skip(instance, &reason)?;
                Ok(Flow::Next)
            }
        }
    }

    fn skip(&mut self, instance: &Instance, reason: &str) -> Result<(), Error> {
        self.record(NewEvent::instance_skipped(instance, reason))?;
        self.progress.set(&instance.key, InstanceState::Skipped);
        Ok(())
    }

    fn done(&mut self, instance: &Instance, how: Completion, note: Option<String>) -> Result<(), Error> {
        let mut e = NewEvent::instance_done(instance, how);
        if let Some(n) = note {
            e = e.note(n);
        }
        self.record(e)?;
        self.progress.set(&instance.key, InstanceState::Done);
        Ok(())
    }

    fn instance(&mut self, instance: &Instance) -> Result<Flow, Error> {
        let step = self.plan.step_of(instance).step;
        let view = view::step_view(self.plan, instance);
        self.prompter.show(&view::render(&view, false));
        self.record(NewEvent::instance_started(instance))?;
        self.progress.set(&instance.key, InstanceState::InDoubt);
        match &step.action {
            Action::Manual => self.manual(instance, step, &view),
            action => {
                if !ask!(self.prompter.confirm_action(&view)) {
                    self.prompter
                        .show("   Not run: do it by hand, then say how it went.");
                    return self.manual(instance, step, &view);
                }
                self.automated(instance, step, action, &view)
            }
        }
    }

    fn manual(&mut self, instance: &Instance, step: &Step, view: &StepView) -> Result<Flow, Error> {
        loop {
            match ask!(self.prompter.decision(view)) {
                Decision::Done { note } => {
                    if !step.items.is_empty() {
                        let answers = ask!(self.prompter.items(view));
                        for ((id, _), answer) in view.items.iter().zip(answers) {
                            match answer {
                                ItemAnswer::Done => self.record(NewEvent::item_done(instance, id))?,
                                ItemAnswer::NotDone(reason) => {
                                    self.record(NewEvent::item_skipped(instance, id, reason))?
                                }
                            }
                        }
                    }
                    self.done(instance, Completion::Confirmed, note)?;
                    return Ok(Flow::Next);
                }
                Decision::Skip { reason } => {
                    self.skip(instance, &reason)?;
                    return Ok(Flow::Next);
                }
                Decision::Problem { note } => {
                    let failure = FailureView {
                        key: instance.key.clone(),
                        what: note.unwrap_or_else(|| "the operator reported a problem".into()),
                        output_tail: Vec::new(),
                        known_issues: view.known_issues.clone(),
                        has_host: instance.host.is_some(),
                    };
                    match self.failure(instance, step, view, &failure)? {
                        Recovery::Retry => continue,
                        Recovery::Flow(f) => return Ok(f),
                    }
                }
                Decision::Note(text) => {
                    self.record(NewEvent::note_added(Some(instance), text))?;
                    self.prompter.show("   Note saved.");
                }
                Decision::Details => self.prompter.show(&view::render(view, true)),
                Decision::Automate => match &step.automation {
                    Some(action) => return self.automated(instance, step, action, view),
                    None => self
                        .prompter
                        .show("   This step has no automation: do it by hand."),
                },
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
            match self.execute(instance, action)? {
                Ok(()) => {
                    self.done(instance, Completion::Automated, None)?;
                    return Ok(Flow::Next);
                }
                Err(failure) => {
                    if interrupt::interrupted() {
                        self.record(NewEvent::instance_failed(instance, "interrupted by Ctrl-C"))?;
                        return Ok(Flow::Stop(Ending::Interrupted));
                    }
                    self.record(NewEvent::instance_failed(instance, failure.what.clone()))?;
                    match self.failure(instance, step, view, &failure)? {
                        Recovery::Retry => {
                            self.record(NewEvent::instance_started(instance))?;
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
        let dir = self.run_dir();
        let ctx = ExecContext::new(&dir, instance, interrupt::cancel_flag(), self.rehearsal);
        let result = {
            let _guard = interrupt::ActionGuard::enter();
            actions::execute(self.plan, instance, action, &ctx, self.prompter)
        };
        match result {
            Ok(outcome) => {
                if let Some(path) = outcome.output_path() {
                    self.record(NewEvent::action_output(instance, path, outcome.exit_code()))?;
                }
                for line in outcome.summary() {
                    self.prompter.show(&format!("   {line}"));
                }
                Ok(Ok(()))
            }
            Err(failure) => {
                if let Some(path) = failure.output_path() {
                    self.record(NewEvent::action_output(instance, path, failure.exit_code()))?;
                }
                let step = self.plan.step_of(instance).step;
                Ok(Err(FailureView {
                    key: instance.key.clone(),
                    what: failure.to_string(),
                    output_tail: failure.output_tail().to_vec(),
                    known_issues: view::known_issues(self.plan, step, instance.host.as_deref()),
                    has_host: instance.host.is_some(),
                }))
            }
        }
    }

    /// The guided failure menu, repeated until the operator picks a way on.
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
            text.push_str(&format!("   Known issue: {}\n     Symptom: {}\n", k.title, k.symptom.trim_end()));
            if let Some(w) = &k.workaround {
                text.push_str(&format!("     Workaround: {}\n", w.trim_end()));
            }
        }
        self.prompter.show(text.trim_end());
        let choice = match self.prompter.failure(view, failure) {
            Ok(c) => c,
            Err(s) => return Ok(Recovery::Flow(stopped(s))),
        };
        match choice {
            FailureChoice::Retry => {
                self.record(NewEvent::note_added(Some(instance), "retry after failure"))?;
                Ok(Recovery::Retry)
            }
            FailureChoice::Workaround(id) => {
                match self.workaround(instance, &id)? {
                    Some(flow) => Ok(Recovery::Flow(flow)),
                    None => Ok(Recovery::Retry),
                }
            }
            FailureChoice::DoneByHand(note) => {
                self.done(instance, Completion::ByHand, Some(note))?;
                Ok(Recovery::Flow(Flow::Next))
            }
            FailureChoice::SkipHost(reason) => {
                self.skip(instance, &reason)?;
                Ok(Recovery::Flow(Flow::Next))
            }
            FailureChoice::SkipStep(reason) => {
                let siblings: Vec<Instance> = self
                    .plan
                    .instances
                    .iter()
                    .filter(|i| i.step_id == step.id && !self.progress.state(&i.key).is_final())
                    .cloned()
                    .collect();
                for i in &siblings {
                    self.skip(i, &format!("step skipped for all hosts: {reason}"))?;
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

    /// Runs the steps of a known issue's workaround for the instance's host. `None` means the
    /// workaround was applied and the failed step should be retried.
    fn workaround(&mut self, instance: &Instance, issue_id: &str) -> Result<Option<Flow>, Error> {
        let Some(issue) = self.plan.runbook.known_issue(issue_id) else {
            self.prompter.show(&format!("   No known issue `{issue_id}` in this runbook."));
            return Ok(None);
        };
        self.record(NewEvent::known_issue_applied(Some(instance), issue_id))?;
        for step in &issue.steps {
            let host = step.on.as_ref().and(instance.host.as_deref());
            let key = instance_key(&step.id, host);
            let pseudo = Instance {
                key: key.clone(),
                step_id: step.id.clone(),
                host: host.map(str::to_string),
                ordinal: instance.ordinal,
                phase: instance.phase,
                step: instance.step,
            };
            let view = view::view_of(self.plan, step, host, &key);
            self.prompter.show(&format!(
                "\n   Workaround \"{}\": {}{}",
                issue.title,
                view.title,
                host.map(|h| format!(" on {h}")).unwrap_or_default()
            ));
            self.prompter.show(&view::render(&view, false));
            match step.automated() {
                Some(action) if !matches!(step.action, Action::Manual) => {
                    if !ask_opt(self.prompter.confirm_action(&view))? {
                        continue;
                    }
                    self.record(NewEvent::instance_started(&pseudo))?;
                    match self.execute(&pseudo, action)? {
                        Ok(()) => self.record(NewEvent::instance_done(&pseudo, Completion::Automated))?,
                        Err(f) => {
                            self.record(NewEvent::instance_failed(&pseudo, f.what.clone()))?;
                            self.prompter.show(&format!("   The workaround step failed: {}", f.what));
                            return Ok(None);
                        }
                    }
                }
                _ => match self.prompter.decision(&view) {
                    Ok(Decision::Pause) => {
                        self.record(NewEvent::new(EventKind::Paused))?;
                        return Ok(Some(Flow::Stop(Ending::Paused)));
                    }
                    Ok(Decision::Skip { reason }) => {
                        self.record(NewEvent::instance_skipped(&pseudo, reason))?;
                    }
                    Ok(_) => self.record(NewEvent::instance_done(&pseudo, Completion::Confirmed))?,
                    Err(s) => return Ok(Some(stopped(s))),
                },
            }
        }
        Ok(None)
    }
}

fn ask_opt(r: Result<bool, Stop>) -> Result<bool, Error> {
    match r {
        Ok(b) => Ok(b),
        Err(Stop::Interrupted) => interrupt::exit_now(),
        Err(Stop::Missing(m)) | Err(Stop::Io(m)) => Err(Error::Failed(m)),
    }
}

enum Recovery {
    Retry,
    Flow(Flow),
}

/// Where a run's folders are: the state folder from the option, the environment, or the default.
pub fn state_dir(option: Option<&Path>) -> PathBuf {
    if let Some(p) = option {
        return p.to_path_buf();
    }
    match std::env::var_os("STEPWISE_STATE_DIR") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("stepwise-runs"),
    }
}

/// Dry-run findings for every planned instance.
pub fn findings(plan: &Plan) -> Vec<Finding> {
    let mut out = actions::check_plan(plan);
    let _ = BTreeMap::<(), ()>::new();
    out.retain(|_| true);
    out
}
