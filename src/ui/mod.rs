//! The prompter: everything the walk asks an operator, behind one trait with two faces.
//!
//! [`terminal::TerminalPrompter`] asks a person at a terminal (dialoguer); [`scripted::Answers`]
//! answers from an answers file and stops with [`Stop::Missing`] when it has no answer, so a run
//! without a terminal never hangs and never guesses. The engine talks only to [`Prompter`]; the
//! prompter never touches the journal.

pub mod scripted;
pub mod terminal;

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
    Abort,
}

/// What to do with an instance that was started and never finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InDoubtChoice {
    Rerun,
    Done(String),
    Skip(String),
}

/// What failed, for the failure menu.
#[derive(Debug, Clone, Default)]
pub struct FailureView {
    pub key: String,
    pub what: String,
    pub output_tail: Vec<String>,
    pub known_issues: Vec<KnownIssueView>,
    pub has_host: bool,
}

pub trait Prompter {
    /// Whether a person is answering (prompts are drawn; output is for a terminal).
    fn interactive(&self) -> bool;
    fn operator(&self) -> Option<String> {
        None
    }
    fn param(&mut self, p: &Parameter) -> Result<Value, Stop>;
    /// Host lists known without asking (an answers file's `hosts`).
    fn given_hosts(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        std::collections::BTreeMap::new()
    }
    fn hosts(&mut self, role: &Role, default: &[String]) -> Result<Vec<String>, Stop>;
    /// Whether every prerequisite is met (they were shown); `false` stops before the first step.
    fn confirm_prerequisites(&mut self, prerequisites: &[String]) -> Result<bool, Stop>;
    /// Whether to go on despite blocking findings; the reason is journaled.
    fn override_blocking(&mut self, blocking: usize) -> Result<Option<String>, Stop>;
    /// Whether to go on with a runbook that changed since the run started.
    fn accept_changed_runbook(&mut self, changes: &[String]) -> Result<bool, Stop>;
    fn in_doubt(&mut self, view: &StepView) -> Result<InDoubtChoice, Stop>;
    fn decision(&mut self, view: &StepView) -> Result<Decision, Stop>;
    fn items(&mut self, view: &StepView) -> Result<Vec<ItemAnswer>, Stop>;
    /// Whether to run an automated action now; `plan` says what it will do.
    fn confirm_action(&mut self, view: &StepView) -> Result<bool, Stop>;
    fn failure(&mut self, view: &StepView, failure: &FailureView) -> Result<FailureChoice, Stop>;
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
