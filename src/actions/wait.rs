//! A `check` that waits (`retry: { for: 5m, every: 10s }`): its assertions are evaluated again
//! and again, until all hold or the time is up. Each look is the action's own execution (on
//! this machine or over SSH), so a check that waits checks exactly what one that does not
//! checks. The dry-run never waits: it looks once and says how long the run would wait.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{ExecContext, Failure, FailureKind, Finding, Outcome, Progress};
use crate::journal::format_duration;
use crate::plan::Instance;
use crate::runbook::Retry;
use crate::runbook::model::written_duration;

/// How often the wait looks at the cancellation flag (Ctrl-C) while it sleeps.
const TICK: Duration = Duration::from_millis(100);

/// Runs `look` until it succeeds, fails otherwise than by an assertion, or `retry.for_secs`
/// have passed since the first look; waits `retry.every_secs` between looks, showing progress.
/// Ctrl-C (the cancellation flag) stops the wait as it stops a command.
pub fn retrying(
    retry: Retry,
    ctx: &mut ExecContext<'_>,
    mut look: impl FnMut(&mut ExecContext<'_>) -> Result<Outcome, Failure>,
) -> Result<Outcome, Failure> {
    let start = Instant::now();
    let bound = Duration::from_secs(retry.for_secs);
    let every = Duration::from_secs(retry.every_secs);
    let mut looks: u32 = 0;
    loop {
        looks += 1;
        let failure = match look(ctx) {
            Ok(mut outcome) => {
                if looks > 1 {
                    outcome.summary = format!(
                        "{} after {} ({looks} looks)",
                        outcome.summary,
                        elapsed(start)
                    );
                }
                return Ok(outcome);
            }
            Err(f) if f.kind != FailureKind::AssertionFailed => return Err(f),
            Err(f) => f,
        };
        let waited = start.elapsed();
        if waited >= bound {
            let mut f = failure;
            f.message = format!(
                "the check did not hold within {} ({looks} looks): {}",
                written_duration(retry.for_secs),
                f.message
            );
            return Err(f);
        }
        let line = format!(
            "waiting ({} of {}): {}",
            elapsed(start),
            written_duration(retry.for_secs),
            failure.message
        );
        (ctx.progress)(Progress::Line(&line));
        let pause = every.min(bound - waited);
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if ctx.cancel.load(Ordering::SeqCst) {
                return Err(Failure::new(
                    FailureKind::Cancelled,
                    format!(
                        "the check was stopped while it waited ({} of {})",
                        elapsed(start),
                        written_duration(retry.for_secs)
                    ),
                ));
            }
            std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
        }
    }
}

fn elapsed(start: Instant) -> String {
    format_duration(i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX))
}

/// What the dry-run says of a check that waits: it looked once, and the run would wait.
pub fn finding(instance: &Instance, retry: Retry) -> Finding {
    Finding::ok(
        instance,
        "the check waits",
        format!(
            "a run waits up to {} (looking every {}) for every assertion to hold; this check looked once",
            written_duration(retry.for_secs),
            written_duration(retry.every_secs)
        ),
    )
}
