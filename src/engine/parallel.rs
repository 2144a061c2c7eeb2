//! Parallel automation: a step with `parallel: N` runs its automated action on up to N hosts of
//! its role at once.
//!
//! The walk takes the step's instances that follow each other in its order and are still to do
//! (pending, or failed earlier; an instance in doubt is answered on its own first, and a host
//! without a target is left to the by-hand path; in a host-major phase, the hosts of the
//! current batch only), shows the step once and asks once for all of them ("Run step 1.2 on WEB01..WEB06, 3 at a time?"). Declining asks host by host, as without
//! `parallel`.
//!
//! Each host's action runs on a thread of its own, through that host's own SSH connection (one
//! per host, as always) or on this machine for a local target. The journal keeps one writer at
//! a time: `instance_started` and every outcome are journaled by the walk's thread, which
//! receives each host's result over a channel; a command's `command_started`, a copy's
//! `file_copied` and a restart's phases are journaled from the host's thread through the same
//! lock. Each host's outcome is
//! journaled on its own, as it ends: `instance_done`, or `instance_failed`.
//!
//! A failure on one host does not interrupt the others: the failure menu for each failed host
//! is opened once every running host has finished, in the step's host order, so that no prompt
//! is drawn over the progress lines. Ctrl-C (or SIGTERM) cancels every running action; each
//! stays started in the journal with what its action left (an output with no exit code), so
//! resume asks about each host on its own evidence, and hosts not started yet stay to do.
//!
//! On a terminal each running host has a line of its own (its last line of output) under one
//! bar for the step's hosts; without one, each start and end is a plain line.

use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Flow, Recovery, Walk, interrupt};
use crate::actions::{ExecContext, Failure, FailureKind, Outcome, Progress as ActionProgress};
use crate::error::Error;
use crate::journal::{self, InstanceState, NewEvent};
use crate::plan::Instance;
use crate::runbook::Action;
use crate::target::{Reach, TargetKind};
use crate::ui::FailureView;

/// What a host's thread sends back: the instance's index in the batch and its action's end.
type Ended = (usize, Result<Outcome, Failure>);

thread_local! {
    /// The steps the operator declined to run on all their hosts at once, in this process:
    /// their hosts are then asked one by one, and not asked all at once again.
    static DECLINED: std::cell::RefCell<std::collections::BTreeSet<String>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

impl Walk<'_, '_> {
    /// The instances to run together with `instance`, when its step is parallel: it and the
    /// instances of the same step that follow it in the walk's order, still to do and reachable.
    /// `None` when the step runs one host at a time.
    pub(super) fn parallel_batch(&self, instance: &Instance) -> Option<Vec<Instance>> {
        let step = self.plan.step_of(instance).step;
        if step.parallel < 2
            || self.rehearsal
            || matches!(step.action, Action::Manual)
            || DECLINED.with(|d| d.borrow().contains(&step.id))
        {
            return None;
        }
        // In the walk's order: in a host-major phase, only the hosts of the current batch.
        let plan = self.plan;
        let mut walk = crate::fleet::walk_phase(plan, instance.phase())
            .skip_while(|&(i, _)| plan.instances[i].key != instance.key)
            .peekable();
        let in_batch = walk.peek()?.1.map(|b| b.number);
        let batch: Vec<Instance> = walk
            .take_while(|&(i, b)| {
                b.map(|b| b.number) == in_batch && plan.instances[i].step_id() == instance.step_id()
            })
            .map(|(i, _)| &plan.instances[i])
            .filter(|i| {
                matches!(
                    self.state(&i.key),
                    InstanceState::Pending | InstanceState::Failed { .. }
                ) && !matches!(self.plan.reach(i), Reach::Unreachable { .. })
            })
            .cloned()
            .collect();
        (batch.len() > 1).then_some(batch)
    }

    /// Runs a parallel step on its hosts; `None` when the operator declined (the walk then
    /// goes host by host).
    pub(super) fn parallel(&mut self, batch: &[Instance]) -> Result<Option<Flow>, Error> {
        let first = &batch[0];
        let step = self.plan.step_of(first).step;
        let Some(action) = step.automated() else {
            return Ok(None);
        };
        let at_once = step.parallel.min(batch.len());
        let mut view = self.view(first);
        view.host = None;
        view.target = None;
        self.prompter.show(&super::view::render(&view, false));
        let hosts: Vec<String> = batch
            .iter()
            .filter_map(|i| i.host().map(str::to_string))
            .collect();
        let confirmed = match self.prompter.confirm_parallel(&view, &hosts, at_once) {
            Ok(b) => b,
            Err(s) => return Ok(Some(super::stopped(s))),
        };
        if !confirmed {
            DECLINED.with(|d| d.borrow_mut().insert(step.id.clone()));
            self.prompter
                .show("   Not run on all of them at once: each host is asked on its own.");
            return Ok(None);
        }
        self.prompter.show(&format!(
            "   Running on {} hosts, {at_once} at a time.",
            batch.len()
        ));
        let failed = self.run_batch(batch, action, at_once)?;
        if interrupt::interrupted() {
            return Ok(Some(Flow::Stop(super::Ending::Interrupted)));
        }
        for (instance, failure) in failed {
            let view = self.view(&instance);
            if failure.outcome_unknown {
                // The connection dropped under it: in doubt, looked at again on the host.
                if let Flow::Stop(e) = self.connection_dropped(&instance, &failure)? {
                    return Ok(Some(Flow::Stop(e)));
                }
                continue;
            }
            match self.failure(&instance, step, &view, &failure)? {
                Recovery::Retry => {
                    self.prompter
                        .show(&format!("\n   Trying {} again.", instance.key));
                    if let Flow::Stop(e) = self.automated(&instance, step, action, &view)? {
                        return Ok(Some(Flow::Stop(e)));
                    }
                }
                Recovery::Flow(Flow::Stop(e)) => return Ok(Some(Flow::Stop(e))),
                Recovery::Flow(Flow::Next) => {}
            }
        }
        Ok(Some(Flow::Next))
    }

    /// Runs the action on every instance of the batch, `at_once` at a time; journals each
    /// outcome; returns the failures, in the batch's order.
    fn run_batch(
        &mut self,
        batch: &[Instance],
        action: &Action,
        at_once: usize,
    ) -> Result<Vec<(Instance, FailureView)>, Error> {
        let (backup_dir, output_dir) = {
            let rec = self.recorder();
            (rec.run().backup_dir(), rec.run().output_dir())
        };
        let overall = self.prompter.action_bar();
        overall.disable_steady_tick();
        overall.set_style(
            ProgressStyle::with_template("   {prefix} [{bar:30}] {pos}/{len} hosts")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.set_prefix(format!("step {}", self.view(&batch[0]).number));
        overall.set_length(batch.len() as u64);
        let mut results: Vec<Option<Result<Outcome, Failure>>> = vec![None; batch.len()];
        let (plan, hosts, recorder) = (self.plan, self.hosts.clone(), self.recorder.clone());
        let (tx, rx) = mpsc::channel::<Ended>();
        let _guard = interrupt::ActionGuard::enter();
        std::thread::scope(|scope| -> Result<(), Error> {
            let mut next = 0;
            let mut running = 0;
            loop {
                while running < at_once && next < batch.len() && !interrupt::interrupted() {
                    let instance = &batch[next];
                    let target = instance.host().and_then(|_| plan.reach(instance).short());
                    self.record(NewEvent::instance_dispatched(instance, target))?;
                    self.prompter.show(&format!(
                        "   → {}: started",
                        instance.host().unwrap_or(&instance.key)
                    ));
                    let bar = self.prompter.action_bar();
                    bar.set_prefix(instance.host().unwrap_or_default().to_string());
                    bar.set_style(
                        ProgressStyle::with_template("   {spinner} {prefix:<12} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    let (tx, hosts, recorder) = (tx.clone(), hosts.clone(), recorder.clone());
                    let (backup_dir, output_dir) = (&backup_dir, &output_dir);
                    let index = next;
                    scope.spawn(move || {
                        // A host's thread that panics still reports: its action may have done
                        // part of its work, so its outcome is unknown (and the walk does not
                        // wait forever for a result that would never come).
                        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            run_one(
                                plan, &hosts, &recorder, instance, action, backup_dir, output_dir,
                                &bar,
                            )
                        }))
                        .unwrap_or_else(|panic| Err(ended_unexpectedly(instance, &*panic)));
                        bar.finish_and_clear();
                        let _ = tx.send((index, ended));
                    });
                    next += 1;
                    running += 1;
                }
                if running == 0 {
                    return Ok(());
                }
                let Ok((index, ended)) = rx.recv() else {
                    return Ok(());
                };
                running -= 1;
                overall.inc(1);
                self.journal_end(&batch[index], &ended, &output_dir)?;
                let total = self.plan.instances.len();
                self.prompter
                    .progress(self.finished_count(), total, &batch[index].key);
                results[index] = Some(ended);
            }
        })?;
        overall.finish_and_clear();
        let mut failed = Vec::new();
        for (instance, result) in batch.iter().zip(results) {
            if let Some(Err(f)) = result
                && f.kind != FailureKind::Cancelled
            {
                let step = self.plan.step_of(instance).step;
                failed.push((instance.clone(), self.failure_view(instance, step, &f)));
            }
        }
        Ok(failed)
    }

    /// Journals how one host's action ended, and says so.
    fn journal_end(
        &mut self,
        instance: &Instance,
        ended: &Result<Outcome, Failure>,
        output_dir: &std::path::Path,
    ) -> Result<(), Error> {
        let host = instance.host().unwrap_or(&instance.key);
        let step = self.plan.step_of(instance).step;
        match ended {
            Ok(outcome) => {
                self.record_output(instance, &outcome.command.as_ref(), output_dir)?;
                let how = self.automated_how(instance, step.automated().unwrap_or(&step.action));
                self.done(instance, how, None)?;
                self.settled(instance, step);
                self.prompter
                    .show(&format!("   ✓ {host}: {}", outcome.summary));
            }
            Err(f) => {
                self.record_output(instance, &f.command.as_deref(), output_dir)?;
                if f.kind == FailureKind::Cancelled || interrupt::interrupted() {
                    // Stays started: resume asks about it on its own evidence.
                    self.prompter
                        .show(&format!("   ✗ {host}: stopped: {}", f.message));
                } else if f.kind.outcome_unknown() {
                    // Its outcome is unknown: taken up once the others have ended.
                    self.prompter
                        .show(&format!("   ✗ {host}: outcome unknown: {}", f.message));
                } else {
                    self.record(NewEvent::instance_failed(instance, f.message.clone()))?;
                    self.prompter
                        .show(&format!("   ✗ {host} failed: {}", f.message));
                }
            }
        }
        Ok(())
    }
}

/// The outcome of a host's action whose thread panicked: unknown, with what the panic said.
fn ended_unexpectedly(instance: &Instance, panic: &(dyn std::any::Any + Send)) -> Failure {
    let said = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    Failure::new(
        FailureKind::OutcomeUnknown,
        format!(
            "the action on {} stopped on an internal error ({said}) before its end was known",
            instance.host().unwrap_or(&instance.key)
        ),
    )
}

/// One host's action, on its own thread: its connection (one per host), its progress line, its
/// `command_started` journaled through the journal's lock.
#[allow(clippy::too_many_arguments)]
fn run_one(
    plan: &crate::plan::Plan,
    hosts: &crate::target::Hosts,
    recorder: &std::sync::Mutex<crate::journal::Recorder>,
    instance: &Instance,
    action: &Action,
    backup_dir: &std::path::Path,
    output_dir: &std::path::Path,
    bar: &ProgressBar,
) -> Result<Outcome, Failure> {
    let session = match plan.reach(instance) {
        Reach::Host(t) if t.kind == TargetKind::Ssh => {
            let restarting = matches!(action, Action::Restart(_))
                && recorder
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .progress()
                    .instance(&instance.key)
                    .is_some_and(|p| p.restart.is_some());
            if restarting {
                None
            } else {
                Some(
                    hosts
                        .session(&t)
                        .map_err(|e| Failure::new(FailureKind::NotReady, e.to_string()))?,
                )
            }
        }
        Reach::Unreachable { host } => {
            return Err(Failure::new(
                FailureKind::NotReady,
                Reach::unreachable_sentence(&host),
            ));
        }
        _ => None,
    };
    let scoped = plan.for_instance(instance);
    let mut unjournaled = None;
    let mut on_progress = |p: ActionProgress<'_>| match p {
        ActionProgress::Started { pid } => {
            let event = NewEvent::command_started(instance, pid, journal::machine_name());
            let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = rec.record(event) {
                unjournaled.get_or_insert(e.to_string());
            }
        }
        ActionProgress::Bytes { file, done, total } => {
            bar.set_message(format!("{file} {done}/{total} bytes"));
        }
        ActionProgress::FileCopied(file) => {
            let event = NewEvent::file_copied(instance, file);
            let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = rec.record(event) {
                unjournaled.get_or_insert(e.to_string());
            }
        }
        ActionProgress::Line(line) => {
            bar.set_message(line.chars().take(100).collect::<String>());
            bar.tick();
        }
    };
    let mut ctx = ExecContext {
        backup_dir,
        output_dir,
        progress: &mut on_progress,
        cancel: interrupt::cancel_flag(),
        remote: session.as_deref(),
    };
    let mut result =
        super::restart::run_action(plan, hosts, recorder, &scoped, instance, action, &mut ctx);
    if let Err(f) = &mut result {
        super::unknown_if_lost(session.as_deref(), action, f);
    }
    match unjournaled {
        Some(e) => Err(Failure::new(
            FailureKind::Io,
            format!("cannot journal the action of {}: {e}", instance.key),
        )),
        None => result,
    }
}
