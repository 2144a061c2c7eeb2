//! What the walk tells the operator about the run as a whole: the plan with what is left (the
//! "show plan" choice), the instances that can be reopened, and the summary at the end of a run.
//!
//! Everything here is read from the journal's replay ([`Progress`]) against the plan; nothing is
//! written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::journal::{Completion, InstanceState, Progress, Timestamp, format_duration};
use crate::plan::Plan;

/// What an instance's state says, in a few words: `done by hand`, `skipped: REASON`,
/// `partly done: 2 items left`.
pub fn state_words(state: &InstanceState) -> String {
    match state {
        InstanceState::Pending => "to do".into(),
        InstanceState::Started => "in doubt".into(),
        InstanceState::Done(how) => format!("done {}", how.word()),
        InstanceState::PartlyDone { left } => format!(
            "partly done: {} item{} left ({})",
            left.len(),
            if left.len() == 1 { "" } else { "s" },
            left.join(", ")
        ),
        InstanceState::Skipped { reason } => format!("skipped: {reason}"),
        InstanceState::Failed { error } => format!("failed: {error}"),
    }
}

/// Whether the operator may reopen an instance in this state: skipped, partly done, or marked
/// done by hand instead of by its automation (declined, or after a failure). A manual step
/// confirmed done is not offered: it is done by hand by its nature.
pub fn reopenable(state: &InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Skipped { .. }
            | InstanceState::PartlyDone { .. }
            | InstanceState::Done(Completion::ByHand)
    )
}

/// The instances that can be reopened, in plan order: `(key, "3.2 key: skipped: why")`.
pub fn revisitable(
    plan: &Plan,
    progress: &Progress,
    except: Option<&str>,
) -> Vec<(String, String)> {
    plan.instances
        .iter()
        .filter(|i| Some(i.key.as_str()) != except)
        .filter(|i| reopenable(progress.state(&i.key)))
        .map(|i| {
            let number = &plan.step_of(i).number;
            let label = format!(
                "{number} {}: {}",
                i.key,
                state_words(progress.state(&i.key))
            );
            (i.key.clone(), label)
        })
        .collect()
}

/// The plan, one line per instance, with its state, and what is left.
pub fn plan_view(plan: &Plan, progress: &Progress, current: Option<&str>) -> String {
    let mut out = String::from("\n   The plan:\n");
    let mut left = 0;
    // In the walk's order: a host-major phase batch by batch.
    for i in crate::fleet::walk(plan).map(|(i, _)| &plan.instances[i]) {
        let state = progress.state(&i.key);
        let mark = match state {
            InstanceState::Done(_) => "[x]",
            InstanceState::PartlyDone { .. } => "[~]",
            InstanceState::Skipped { .. } => "[-]",
            InstanceState::Failed { .. } => "[!]",
            InstanceState::Started => "[?]",
            InstanceState::Pending => "[ ]",
        };
        if !state.settled() {
            left += 1;
        }
        let here = if current == Some(i.key.as_str()) {
            "  ← here"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "   {mark} {:<5} {}: {}{here}",
            plan.step_of(i).number,
            i.key,
            state_words(state)
        );
    }
    let _ = write!(
        out,
        "   {left} of {} step instances left.",
        plan.instances.len()
    );
    out
}

/// Counts for one host (or the instances without one).
#[derive(Default)]
struct Tally {
    automation: usize,
    by_hand: usize,
    workaround: usize,
    rehearsed: usize,
    skipped: usize,
    partly: usize,
    failed: usize,
    left: usize,
}

impl Tally {
    fn add(&mut self, state: &InstanceState) {
        match state {
            InstanceState::Done(Completion::Automated) => self.automation += 1,
            InstanceState::Done(Completion::Confirmed | Completion::ByHand) => self.by_hand += 1,
            InstanceState::Done(Completion::Workaround) => self.workaround += 1,
            InstanceState::Done(Completion::Rehearsed) => self.rehearsed += 1,
            InstanceState::PartlyDone { .. } => self.partly += 1,
            InstanceState::Skipped { .. } => self.skipped += 1,
            InstanceState::Failed { .. } => self.failed += 1,
            InstanceState::Pending | InstanceState::Started => self.left += 1,
        }
    }

    fn done(&self) -> usize {
        self.automation + self.by_hand + self.workaround + self.rehearsed
    }

    fn line(&self) -> String {
        let mut how = Vec::new();
        for (n, word) in [
            (self.automation, "by automation"),
            (self.by_hand, "by hand"),
            (self.workaround, "after a workaround"),
            (self.rehearsed, "rehearsed"),
        ] {
            if n > 0 {
                how.push(format!("{n} {word}"));
            }
        }
        let mut line = format!("{} done", self.done());
        if !how.is_empty() {
            let _ = write!(line, " ({})", how.join(", "));
        }
        for (n, word) in [
            (self.skipped, "skipped"),
            (self.partly, "partly done"),
            (self.failed, "failed"),
            (self.left, "left"),
        ] {
            let _ = write!(line, ", {n} {word}");
        }
        line
    }
}

/// The end-of-run summary: done (and how), by hand, skipped, partly done, failed and left, in
/// all and per host; the time since the run started; the run folder.
pub fn end_of_run(plan: &Plan, progress: &Progress, run_dir: &Path, now: Timestamp) -> String {
    let mut all = Tally::default();
    let mut hosts: BTreeMap<Option<&str>, Tally> = BTreeMap::new();
    for i in &plan.instances {
        let state = progress.state(&i.key);
        all.add(state);
        hosts.entry(i.host()).or_default().add(state);
    }
    let n = plan.instances.len();
    let mut out = format!(
        "\nSummary: {n} step instance{}: {}\n",
        if n == 1 { "" } else { "s" },
        all.line()
    );
    if hosts.keys().any(Option::is_some) {
        let width = hosts
            .keys()
            .map(|h| h.map_or(14, str::len))
            .max()
            .unwrap_or(0);
        for (host, tally) in &hosts {
            let name = host.unwrap_or("(not per host)");
            let _ = writeln!(out, "  {name:<width$}  {}", tally.line());
        }
    }
    if let Some(start) = progress.started {
        let _ = writeln!(
            out,
            "  elapsed: {} since the run started",
            format_duration(now.millis_since(start))
        );
    }
    let _ = write!(out, "  run folder: {}", run_dir.display());
    out
}
