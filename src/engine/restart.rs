//! Restart and wait: a `restart` action sends its command to the host, waits until the host has
//! gone down and answers over SSH again, then runs its checks before the instance is done.
//!
//! Every phase is journaled (`restart` events: sent, waiting, down, back, timed out) as it
//! happens, so a crash or Ctrl-C during the wait leaves a journal that says the restart was
//! sent: resume then takes the instance up again *at the wait* (the instance's current attempt
//! has a `restart` phase), never by sending the restart a second time.
//!
//! The host counts as back only after it was seen down (its connection dropped, or a new
//! connection was refused or timed out) and a new connection then succeeded with its pinned
//! host key: a host that still answers right after the command has not restarted yet. On
//! resume the walk cannot know whether the host went down and came back while stepwise was not
//! running, so the first connection that succeeds counts as back, and the checks decide.
//! Reconnection attempts back off from half a second to five seconds. A changed or unknown host
//! key, or refused authentication, ends the wait at once: the host that answers is not trusted.
//!
//! Nothing here runs on this machine: a restart reaches its host only through its SSH target.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::actions::{self, ExecContext, Failure, FailureKind, Outcome, Progress};
use crate::journal::RestartPhase;
use crate::plan::{Instance, Plan};
use crate::runbook::RestartAction;
use crate::target::ssh::{ConnectError, Session};
use crate::target::{HostTarget, Hosts};

/// The first pause between reconnection attempts, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// The pause between two tries of checks that do not hold yet.
const CHECK_PAUSE: Duration = Duration::from_secs(2);

/// One restart of one instance's host.
pub(crate) struct Restart<'a, 'r> {
    pub plan: &'a Plan<'r>,
    pub hosts: &'a Hosts,
    pub instance: &'a Instance,
    pub target: &'a HostTarget,
    pub action: &'a RestartAction,
    /// The restart was sent before (the journal says so): wait, do not send it again.
    pub at_wait: bool,
    /// The host was already seen down (the journal says so).
    pub seen_down: bool,
}

impl Restart<'_, '_> {
    /// Sends the restart (unless it was sent already), waits for the host, runs the checks.
    /// `phase` journals each phase as it happens.
    pub fn run(
        &self,
        ctx: &mut ExecContext<'_>,
        phase: &mut dyn FnMut(RestartPhase),
    ) -> Result<Outcome, Failure> {
        let host = &self.target.host;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(self.action.wait_secs.max(1));
        let sent = if self.at_wait {
            (ctx.progress)(Progress::Line(&format!(
                "the restart of {host} was sent before: waiting for it to answer again"
            )));
            None
        } else {
            let Some(session) = ctx.remote else {
                return Err(Failure::new(
                    FailureKind::NotReady,
                    actions::restart::refused_here(Some(host)),
                ));
            };
            let outcome =
                actions::restart::send(self.plan, self.instance, self.action, ctx, session)?;
            phase(RestartPhase::Sent);
            Some(outcome)
        };
        phase(RestartPhase::Waiting);
        (ctx.progress)(Progress::Line(&format!(
            "waiting for {host} to go down and answer again (at most {} s)",
            self.action.wait_secs
        )));
        let old = if self.at_wait { None } else { ctx.remote };
        let session = self.wait_back(old, deadline, ctx, phase)?;
        let back_after = started.elapsed().as_secs();
        let checked = self.checks(&session, deadline, ctx)?;
        Ok(Outcome {
            summary: format!(
                "{host} restarted and answered again after {back_after} s; {}",
                checked.summary
            ),
            done: checked.done,
            command: sent.and_then(|o| o.command),
        })
    }

    /// Waits until the host has gone down and answers again; the new connection.
    fn wait_back(
        &self,
        old: Option<&Session>,
        deadline: Instant,
        ctx: &mut ExecContext<'_>,
        phase: &mut dyn FnMut(RestartPhase),
    ) -> Result<Arc<Session>, Failure> {
        let host = &self.target.host;
        let mut seen_down = self.seen_down || self.at_wait;
        let mut pause = FIRST_PAUSE;
        loop {
            if ctx.cancel.load(Ordering::SeqCst) {
                return Err(Failure::new(
                    FailureKind::Cancelled,
                    format!("the wait for {host} to come back was cancelled"),
                ));
            }
            if !seen_down && old.is_some_and(Session::is_closed) {
                seen_down = true;
                phase(RestartPhase::Down);
            }
            match self.hosts.reconnect(self.target) {
                Ok(session) if seen_down => {
                    phase(RestartPhase::Back);
                    (ctx.progress)(Progress::Line(&format!("{host} answers again")));
                    return Ok(session);
                }
                // Still up: the restart has not taken it down yet.
                Ok(_) => {}
                Err(
                    e @ (ConnectError::ChangedHostKey { .. }
                    | ConnectError::UnknownHostKey { .. }
                    | ConnectError::AuthFailed { .. }
                    | ConnectError::Local(_)),
                ) => {
                    return Err(Failure::new(
                        FailureKind::NotReady,
                        format!("after the restart: {e}"),
                    ));
                }
                Err(_) if !seen_down => {
                    seen_down = true;
                    phase(RestartPhase::Down);
                    (ctx.progress)(Progress::Line(&format!(
                        "{host} is down; waiting for it to answer again"
                    )));
                }
                Err(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                phase(RestartPhase::TimedOut);
                let what = if seen_down {
                    "did not answer again"
                } else {
                    "never went down"
                };
                return Err(Failure::new(
                    FailureKind::TimedOut,
                    format!(
                        "{host} {what} within {} s of the restart",
                        self.action.wait_secs
                    ),
                ));
            }
            sleep_unless_cancelled(pause.min(deadline - now), ctx);
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// Runs the checks on the host that is back, again every few seconds until they hold or
    /// the wait is up.
    fn checks(
        &self,
        session: &Arc<Session>,
        deadline: Instant,
        ctx: &mut ExecContext<'_>,
    ) -> Result<Outcome, Failure> {
        let mut session = session.clone();
        loop {
            let result =
                actions::restart::verify(self.plan, self.instance, self.action, ctx, &session);
            match result {
                Ok(o) => return Ok(o),
                Err(f)
                    if Instant::now() + CHECK_PAUSE < deadline
                        && !ctx.cancel.load(Ordering::SeqCst) =>
                {
                    (ctx.progress)(Progress::Line(&format!(
                        "not yet: {}; checking again",
                        f.message
                    )));
                    sleep_unless_cancelled(CHECK_PAUSE, ctx);
                    if session.is_closed()
                        && let Ok(s) = self.hosts.reconnect(self.target)
                    {
                        session = s;
                    }
                }
                Err(mut f) => {
                    f.message = format!("after the restart of {}: {}", self.target.host, f.message);
                    return Err(f);
                }
            }
        }
    }
}

/// Sleeps, waking early when the run is cancelled.
fn sleep_unless_cancelled(total: Duration, ctx: &ExecContext<'_>) {
    let end = Instant::now() + total;
    while !ctx.cancel.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}

use super::{Flow, Walk};
use crate::error::Error;
use crate::journal::{NewEvent, RestartPhase as Phase};
use crate::runbook::Action;
use crate::target::{Reach, TargetKind};

impl Walk<'_, '_> {
    /// The restart phase of an instance's current attempt: `Some` once its restart was sent.
    pub(super) fn restart_phase(&self, instance: &Instance) -> Option<Phase> {
        self.recorder()
            .progress()
            .instance(&instance.key)
            .and_then(|p| p.restart)
    }

    /// Whether an instance's action is a restart that was already sent: it needs no
    /// connection to start, only the wait.
    pub(super) fn waits_for_restart(&self, instance: &Instance, action: &Action) -> bool {
        matches!(action, Action::Restart(_)) && self.restart_phase(instance).is_some()
    }

    /// Runs an action of an instance (see [`run_action`]).
    pub(super) fn run_action(
        &self,
        scoped: &Plan,
        instance: &Instance,
        action: &Action,
        ctx: &mut ExecContext<'_>,
    ) -> Result<Outcome, Failure> {
        run_action(
            self.plan,
            &self.hosts,
            &self.recorder,
            scoped,
            instance,
            action,
            ctx,
        )
    }

    /// Takes up an instance whose restart was sent before stepwise stopped: at the wait, never
    /// by sending the restart again.
    pub(super) fn resume_restart(&mut self, instance: &Instance) -> Result<Flow, Error> {
        let step = self.plan.step_of(instance).step;
        let Some(action) = step.automated() else {
            return self.in_doubt(instance);
        };
        let view = self.view(instance);
        self.prompter.show(&super::view::render(&view, false));
        let host = instance.host().unwrap_or_default().to_string();
        self.prompter.show(&format!(
            "   The restart of {host} was sent before stepwise stopped: it is not sent again; waiting for {host} to answer."
        ));
        self.record(
            NewEvent::note_added(
                Some(instance),
                "resumed at the wait: the restart was sent before",
            )
            .host(host),
        )?;
        match self.execute(instance, action)? {
            Ok(()) => {
                let how = self.automated_how(instance, action);
                self.done(instance, how, None)?;
                self.settled(instance, step);
                Ok(Flow::Next)
            }
            Err(failure) => {
                if super::interrupt::interrupted() {
                    return Ok(Flow::Stop(super::Ending::Interrupted));
                }
                self.record(NewEvent::instance_failed(instance, failure.what.clone()))?;
                match self.failure(instance, step, &view, &failure)? {
                    super::Recovery::Retry => self.automated(instance, step, action, &view),
                    super::Recovery::Flow(f) => Ok(f),
                }
            }
        }
    }
}

/// Runs an action of an instance: a restart over SSH through [`Restart`] (its phases journaled
/// as they happen, resuming at the wait when the journal says it was sent), anything else
/// through [`actions::execute`]. Safe to call from several threads at once, one instance each.
pub(super) fn run_action(
    plan: &Plan,
    hosts: &Hosts,
    recorder: &std::sync::Mutex<crate::journal::Recorder>,
    scoped: &Plan,
    instance: &Instance,
    action: &Action,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let (Action::Restart(r), Reach::Host(target)) = (action, plan.reach(instance)) else {
        return actions::execute(scoped, instance, action, ctx);
    };
    if target.kind != TargetKind::Ssh {
        return actions::execute(scoped, instance, action, ctx);
    }
    let phase_now = recorder
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .progress()
        .instance(&instance.key)
        .and_then(|p| p.restart);
    let restart = Restart {
        plan: scoped,
        hosts,
        instance,
        target: &target,
        action: r,
        at_wait: phase_now.is_some(),
        seen_down: matches!(phase_now, Some(Phase::Down | Phase::Back)),
    };
    let mut unjournaled = None;
    let result = restart.run(ctx, &mut |p| {
        let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = rec.record(NewEvent::restart(instance, p)) {
            unjournaled.get_or_insert(e.to_string());
        }
    });
    match unjournaled {
        Some(e) => Err(Failure::new(
            FailureKind::Io,
            format!("cannot journal the restart of {}: {e}", target.host),
        )),
        None => result,
    }
}

/// On resume, a host whose restart was sent may still be down: what the checks found about its
/// instance (it cannot be reached) is a warning, not blocking, since the walk waits for it.
pub(super) fn while_restarting(
    report: &mut crate::dryrun::Problems<'_>,
    recorder: &std::sync::Mutex<crate::journal::Recorder>,
) {
    use crate::actions::Severity;
    let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
    let restarting = |key: &str| {
        rec.progress().state(key) == &crate::journal::InstanceState::Started
            && rec
                .progress()
                .instance(key)
                .is_some_and(|p| p.restart.is_some())
    };
    for f in &mut report.findings {
        let finding = &mut f.finding;
        if finding.severity == Severity::Blocking
            && finding.instance.as_deref().is_some_and(restarting)
        {
            finding.severity = Severity::Warning;
            finding.to_do = Some(
                "Its restart was sent before stepwise stopped: the walk waits for it to answer again".into(),
            );
            report.summary.blocking -= 1;
            report.summary.warnings += 1;
        }
    }
}
