//! Restart and wait: a `restart` action sends its command to the host, waits until the host has
//! gone down and answers over SSH again, then runs its checks before the instance is done.
//!
//! Every phase is journaled (`restart` events: sent, waiting, down, back, timed out) as it
//! happens, so a crash or Ctrl-C during the wait leaves a journal that says the restart was
//! sent: resume then takes the instance up again *at the wait* (the instance's current attempt
//! has a `restart` phase), never by sending the restart a second time.
//!
//! Before the restart is sent, the host's boot identity is read and journaled (`boot_read`:
//! Linux's `boot_id`, Windows' last boot time; see [`actions::restart::boot_identity`]). The
//! host counts as back when a new connection succeeds with its pinned host key and the host
//! then gives another boot identity: a host that still answers in the boot it had has not
//! restarted yet, however long ago the restart was sent and whether or not stepwise was
//! running meanwhile, so a resume after a crash between sending and the host going down waits
//! for the new boot instead of checking a host about to go down. When no boot identity could be
//! read (before, or from the host that answers), the host counts as back once it was seen down
//! (its connection dropped, or a new connection was refused or timed out) in this process or
//! as the journal says, and then answers; a resume that saw no down and has no boot identity
//! waits for one, and says at the end of the wait that it cannot tell whether the host
//! restarted while stepwise was not running.
//! Reconnection attempts back off from half a second to five seconds. A changed or unknown host
//! key, or refused authentication, ends the wait at once: the host that answers is not trusted.
//!
//! Nothing here runs on this machine: a restart reaches its host only through its SSH target.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::actions::{self, ExecContext, Failure, FailureKind, Outcome, Progress};
use crate::journal::{NewEvent, RestartPhase as Phase};
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
    /// The host's boot identity read before the restart was sent (the journal's, on resume).
    pub boot_before: Option<String>,
}

/// Whether a host that answers has restarted.
enum Answer {
    /// It has: by its boot identity (the new one), or by a down seen before.
    Back(Option<String>),
    /// Not yet: it still runs the boot it had before the restart.
    SameBoot,
    /// Not known yet: no boot identity to go by, and no down seen.
    NotSeenDown,
}

impl Restart<'_, '_> {
    /// Reads the host's boot identity and journals it, sends the restart (unless it was sent
    /// already), waits for the host, runs the checks. `journal` writes each phase as it
    /// happens and says whether it was written.
    pub fn run(
        &self,
        ctx: &mut ExecContext<'_>,
        journal: &mut dyn FnMut(NewEvent) -> bool,
    ) -> Result<Outcome, Failure> {
        let host = &self.target.host;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(self.action.wait_secs.max(1));
        let mut boot_before = self.boot_before.clone();
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
            // What the host is before it restarts, on the journal before the restart is sent.
            let read = actions::restart::boot_identity(session);
            let mut event =
                NewEvent::restart_boot(self.instance, Phase::BootRead, read.clone().ok());
            if let Err(why) = &read {
                event = event.note(format!(
                    "no boot identity of {host} could be read ({why}): it counts as back once it was seen down and answers again"
                ));
            }
            if !journal(event) {
                return Err(Failure::new(
                    FailureKind::Io,
                    format!("cannot journal the boot identity of {host}: the restart was not sent"),
                ));
            }
            boot_before = read.ok();
            let outcome =
                actions::restart::send(self.plan, self.instance, self.action, ctx, session)?;
            journal(NewEvent::restart(self.instance, Phase::Sent));
            Some(outcome)
        };
        journal(NewEvent::restart(self.instance, Phase::Waiting));
        (ctx.progress)(Progress::Line(&format!(
            "waiting for {host} to go down and answer again (at most {} s)",
            self.action.wait_secs
        )));
        let old = if self.at_wait { None } else { ctx.remote };
        let session = self.wait_back(old, boot_before.as_deref(), deadline, ctx, journal)?;
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

    /// Whether the host that answers on `session` has restarted: its boot identity differs
    /// from the one read before the restart; without one to go by (none was read, or none can
    /// be read now), once it was seen down.
    fn answer(&self, session: &Session, before: Option<&str>, seen_down: bool) -> Answer {
        let now = before.map(|_| actions::restart::boot_identity(session));
        match (before, now) {
            (Some(b), Some(Ok(n))) if n != b => Answer::Back(Some(n)),
            (Some(_), Some(Ok(_))) => Answer::SameBoot,
            _ if seen_down => Answer::Back(None),
            _ => Answer::NotSeenDown,
        }
    }

    /// Waits until the host answers again after restarting; the new connection.
    fn wait_back(
        &self,
        old: Option<&Session>,
        before: Option<&str>,
        deadline: Instant,
        ctx: &mut ExecContext<'_>,
        journal: &mut dyn FnMut(NewEvent) -> bool,
    ) -> Result<Arc<Session>, Failure> {
        let host = &self.target.host;
        let mut seen_down = self.seen_down;
        let mut same_boot = false;
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
                journal(NewEvent::restart(self.instance, Phase::Down));
            }
            match self.hosts.reconnect(self.target) {
                Ok(session) => match self.answer(&session, before, seen_down) {
                    Answer::Back(boot) => {
                        journal(NewEvent::restart_boot(self.instance, Phase::Back, boot));
                        (ctx.progress)(Progress::Line(&format!("{host} answers again")));
                        return Ok(session);
                    }
                    // Still up in the boot it had: the restart has not taken it down yet.
                    Answer::SameBoot => same_boot = true,
                    Answer::NotSeenDown => {}
                },
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
                    journal(NewEvent::restart(self.instance, Phase::Down));
                    (ctx.progress)(Progress::Line(&format!(
                        "{host} is down; waiting for it to answer again"
                    )));
                }
                Err(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                journal(NewEvent::restart(self.instance, Phase::TimedOut));
                let secs = self.action.wait_secs;
                let what = if same_boot {
                    format!(
                        "still answered with the boot identity it had before the restart {secs} s after it: it has not restarted"
                    )
                } else if seen_down {
                    format!("did not answer again within {secs} s of the restart")
                } else if self.at_wait && before.is_none() {
                    format!(
                        "was not seen going down within {secs} s; with no boot identity to go by, stepwise cannot tell whether it restarted while stepwise was not running: check it, and mark the step done by hand if it did"
                    )
                } else {
                    format!("never went down within {secs} s of the restart")
                };
                return Err(Failure::new(
                    FailureKind::TimedOut,
                    format!("{host} {what}"),
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
    let (phase_now, boot_before, down_before) = {
        let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let p = rec.progress().instance(&instance.key);
        (
            p.and_then(|p| p.restart),
            p.and_then(|p| p.boot.clone()),
            p.is_some_and(|p| p.restart_down),
        )
    };
    let restart = Restart {
        plan: scoped,
        hosts,
        instance,
        target: &target,
        action: r,
        at_wait: phase_now.is_some(),
        seen_down: down_before,
        boot_before,
    };
    let mut unjournaled = None;
    let result = restart.run(ctx, &mut |event| {
        let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        match rec.record(event) {
            Ok(_) => true,
            Err(e) => {
                unjournaled.get_or_insert(e.to_string());
                false
            }
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
