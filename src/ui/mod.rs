//! The prompter: everything the walk asks an operator, behind one trait with two faces.
//!
//! [`terminal::TerminalPrompter`] asks a person at a terminal (dialoguer); [`scripted::Answers`]
//! answers from an answers file and stops with [`Stop::Missing`] when it has no answer, so a run
//! without a terminal never hangs and never guesses. The engine talks only to [`Prompter`]; the
//! prompter never touches the journal.

pub mod lines;
pub mod scripted;
pub mod terminal;
pub mod wrap;

use crate::runbook::{Parameter, Role, Value};

/// Why a prompt did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// No terminal and no answer for this prompt; the text says what was missing.
    Missing(String),
    /// The operator pressed Ctrl-C.
    Interrupted,
    /// The terminal failed.
    Io(String),
}

/// What the operator sees for one step instance.
#[derive(Debug, Clone, Default)]
pub struct StepView {
    pub key: String,
    /// `ordinal/total`, and the checklist's `PHASE.STEP` number.
    pub ordinal: usize,
    pub total: usize,
    pub number: String,
    pub phase_title: String,
    pub title: String,
    /// The article's own number for the step, when the runbook gives it.
    pub article_step: Option<String>,
    pub host: Option<String>,
    pub instructions: Option<String>,
    pub items: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub known_issues: Vec<KnownIssueView>,
    /// What an automated action will do, line by line, when the step has one.
    pub automation: Vec<String>,
    /// True when the step's action is automated (not merely optional).
    pub automated: bool,
    /// Where the automation runs, for an instance on a host: `WEB01 over ssh …`,
    /// `WEB01 (this machine)`, or `WEB01 (no target)`.
    pub target: Option<String>,
    /// False when the instance's host has no target: its automation cannot run.
    pub reachable: bool,
    pub references: Vec<String>,
    /// Instances settled earlier in the run that the operator may reopen: `(key, label)`.
    pub revisitable: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct KnownIssueView {
    pub id: String,
    pub title: String,
    pub symptom: String,
    pub cause: Option<String>,
    pub workaround: Option<String>,
    /// Keys of the runnable workaround steps (`step-id` or `step-id@HOST`).
    pub steps: Vec<(String, String)>,
}

/// The operator's decision at a manual step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Done {
        note: Option<String>,
    },
    Skip {
        reason: String,
    },
    /// The operator reports a problem (or answers `fail`).
    Problem {
        note: Option<String>,
    },
    Note(String),
    Details,
    /// Run the step's optional automation instead of doing it by hand.
    Automate,
    Pause,
    /// Reopen an instance settled earlier in the run (its key), then come back here.
    Revisit(String),
    /// Show the plan with what is done and what is left.
    ShowPlan,
}

/// What to do after the operator declined to run an automated action now. Nothing here is
/// "done" without evidence: done by hand needs a note, and is recorded as by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declined {
    /// Run it after all.
    RunNow,
    /// It was done by hand; the note says what was done.
    ByHand(String),
    Skip(String),
    Note(String),
    ShowPlan,
    Pause,
}

/// Per item: done, or not done with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemAnswer {
    Done,
    NotDone(String),
}

/// What to do after an action failed or a problem was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureChoice {
    Retry,
    /// Apply (run) the workaround of the known issue with this id, then retry.
    Workaround(String),
    /// Done by hand; the note says what was done.
    DoneByHand(String),
    SkipHost(String),
    SkipStep(String),
    /// Save and exit (3); resume takes the failed instance up again.
    Pause,
    Abort,
}

/// What to do with an instance that was started and never finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InDoubtChoice {
    /// It did not complete: take it up again (a copy finishes what is missing; a command is
    /// offered again and asked about before it runs).
    Rerun,
    /// It completed; the note says how the operator knows (required unless the evidence says
    /// so).
    Done(Option<String>),
    Skip(String),
    /// Its process still runs: wait for it to end, then look again.
    Wait,
    Pause,
}

/// Which answer the evidence an interrupted action left supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supports {
    /// Every file is in place, or the command's success is journaled.
    Completed,
    /// A file is not in place, or the command failed or was stopped before it exited.
    NotCompleted,
    /// Nothing tells: the journal has no result and there is nothing to look at.
    Unknown,
}

/// What resume knows about an in-doubt instance, for the question.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub supports: Supports,
    /// The command's process still runs on this machine: it must not be run again now.
    pub still_running: bool,
    /// What "it did not complete" does, in words: `finish the copy (only what is missing)`.
    pub rerun: String,
    /// The host the action ran on cannot be reached now (said already): what it left there
    /// cannot be looked at, so nothing is guessed; the sentence says so for an answers file.
    pub unreachable: Option<String>,
}

/// What failed, for the failure menu.
#[derive(Debug, Clone, Default)]
pub struct FailureView {
    pub key: String,
    pub what: String,
    pub output_tail: Vec<String>,
    pub known_issues: Vec<KnownIssueView>,
    pub has_host: bool,
    /// Whether the action finished is unknown (the connection dropped while it ran, or the host
    /// did not answer a request that changes it in time), so it is not a failure: the instance
    /// stays in doubt.
    pub outcome_unknown: bool,
    /// The connection to the host dropped while the action ran (one way the outcome is unknown).
    pub connection_lost: bool,
}

/// A host-major phase finished a batch, and the next one is to start.
#[derive(Debug, Clone)]
pub struct BatchAsk {
    pub phase: String,
    /// The batch about to start (2 or more), of `of`.
    pub batch: usize,
    pub of: usize,
    pub done_hosts: Vec<String>,
    pub next_hosts: Vec<String>,
}

impl BatchAsk {
    /// `Batch 1 of 3 done (WEB01): go on to WEB02?`
    pub fn question(&self) -> String {
        format!(
            "Batch {} of {} done ({}): go on to {}?",
            self.batch - 1,
            self.of,
            crate::fleet::and_list(&self.done_hosts),
            crate::fleet::and_list(&self.next_hosts)
        )
    }

    /// How an answers file names this batch: `PHASE/BATCH`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.phase, self.batch)
    }
}

/// More hosts of a host-major phase failed than it allows.
#[derive(Debug, Clone)]
pub struct FailuresAsk {
    pub phase: String,
    pub failed: Vec<String>,
    pub max_failures: u32,
}

impl FailuresAsk {
    /// `2 hosts of phase rolling failed (WEB01, WEB02), more than max_failures 1: go on?`
    pub fn question(&self) -> String {
        let n = self.failed.len();
        let hosts = if n == 1 { "host" } else { "hosts" };
        format!(
            "{n} {hosts} of phase `{}` failed ({}), more than its max_failures ({}): go on with the next host, pause, or stop?",
            self.phase,
            self.failed.join(", "),
            self.max_failures
        )
    }
}

/// The answer at a batch boundary, or when too many hosts failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetChoice {
    /// Go on (to the next batch, or despite the failures).
    Go,
    /// Save and exit (3); resume asks again.
    Pause,
    /// End the run here as aborted (1).
    Stop,
}

pub trait Prompter {
    /// Whether a person is answering (prompts are drawn; output is for a terminal).
    fn interactive(&self) -> bool;
    /// The operator's name when this prompter knows it without asking (an answers file's).
    fn operator(&self) -> Option<String> {
        None
    }
    /// Asks who the operator is (once, at the start, when nothing else names them).
    fn operator_name(&mut self) -> Result<String, Stop> {
        Err(Stop::Missing("the operator's name".into()))
    }
    fn param(&mut self, p: &Parameter) -> Result<Value, Stop>;
    /// Host lists known without asking (an answers file's `hosts`).
    fn given_hosts(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        std::collections::BTreeMap::new()
    }
    fn hosts(&mut self, role: &Role, default: &[String]) -> Result<Vec<String>, Stop>;
    /// Whether to trust and pin a host key that is not pinned yet, shown by its fingerprint.
    /// Only an explicit yes pins it.
    fn accept_host_key(
        &mut self,
        host: &str,
        algorithm: &str,
        fingerprint: &str,
    ) -> Result<bool, Stop> {
        let _ = (host, algorithm, fingerprint);
        Ok(false)
    }
    /// The password of a host whose inventory says `auth: password`, asked once, hidden, at a
    /// terminal; `None` where nobody can be asked (an answers file never holds one).
    fn host_password(&mut self, host: &str, user: &str) -> Result<Option<String>, Stop> {
        let _ = (host, user);
        Ok(None)
    }
    /// Whether every prerequisite is met (they were shown); `false` stops before the first step.
    fn confirm_prerequisites(&mut self, prerequisites: &[String]) -> Result<bool, Stop>;
    /// Whether to go on despite blocking findings; the reason is journaled.
    fn override_blocking(&mut self, blocking: usize) -> Result<Option<String>, Stop>;
    /// Whether to go on with a runbook that changed since the run started.
    fn accept_changed_runbook(&mut self, changes: &[String]) -> Result<bool, Stop>;
    /// Whether an instance that was started and never finished completed, given the evidence
    /// (already shown). The default is what the evidence supports.
    fn in_doubt(&mut self, view: &StepView, evidence: &Evidence) -> Result<InDoubtChoice, Stop>;
    fn decision(&mut self, view: &StepView) -> Result<Decision, Stop>;
    /// The operator declined to run the automated action now: what instead (never plain done).
    fn declined(&mut self, view: &StepView) -> Result<Declined, Stop>;
    /// Which settled instance to reopen (`candidates`: key and label), if any. `at_end`: every
    /// instance is settled and the run is about to finish.
    fn revisit(
        &mut self,
        candidates: &[(String, String)],
        at_end: bool,
    ) -> Result<Option<String>, Stop> {
        let _ = (candidates, at_end);
        Ok(None)
    }
    fn items(&mut self, view: &StepView) -> Result<Vec<ItemAnswer>, Stop>;
    /// Whether to run an automated action now; `plan` says what it will do.
    fn confirm_action(&mut self, view: &StepView) -> Result<bool, Stop>;
    fn failure(&mut self, view: &StepView, failure: &FailureView) -> Result<FailureChoice, Stop>;
    /// Whether to run a parallel step's automated action now on all of `hosts`, `at_once` at a
    /// time (asked once for all of them). An answers file answers it as it answers
    /// [`Prompter::confirm_action`] for the step.
    fn confirm_parallel(
        &mut self,
        view: &StepView,
        hosts: &[String],
        at_once: usize,
    ) -> Result<bool, Stop> {
        let _ = (hosts, at_once);
        self.confirm_action(view)
    }
    /// Whether to go on to the next batch of a host-major phase (asked for every batch).
    fn next_batch(&mut self, ask: &BatchAsk) -> Result<FleetChoice, Stop> {
        Err(Stop::Missing(format!(
            "no answer to \"{}\"",
            ask.question()
        )))
    }
    /// More hosts of a host-major phase failed than its `max_failures`: go on, pause or stop.
    fn too_many_failures(&mut self, ask: &FailuresAsk) -> Result<FleetChoice, Stop> {
        Err(Stop::Missing(format!(
            "no answer to \"{}\"",
            ask.question()
        )))
    }
    /// Shows text to the operator (step headers, findings, output tails).
    fn show(&mut self, text: &str);
    /// Shows overall progress: step instances finished of all.
    fn progress(&mut self, _done: usize, _total: usize, _message: &str) {}
    /// A bar (or spinner) for one action's progress, drawn with the overall progress bar so the
    /// two never overwrite each other; hidden unless a person is watching. The caller finishes
    /// and clears it.
    fn action_bar(&mut self) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
    /// Leaves the terminal as it was found (no bar, cursor visible).
    fn restore(&mut self) {}
}
