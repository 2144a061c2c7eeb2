//! Answers from an answers file, for runs without a terminal.
//!
//! The file gives parameter values, host lists, and decisions per step instance (see the operator
//! guide). It is checked against the runbook when it is read, so a typo in a key is reported
//! before anything runs. A prompt it has no answer for stops the run with [`Stop::Missing`],
//! which saves progress and exits 3: a scripted run never hangs and never guesses.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use serde::Deserialize;

use super::{
    Decision, Declined, Evidence, FailureChoice, FailureView, InDoubtChoice, ItemAnswer, Prompter,
    StepView, Stop, Supports,
};
use crate::error::Error;
use crate::runbook::load::suggest;
use crate::runbook::yaml::{self, Seg};
use crate::runbook::{ParamType, Parameter, Role, Runbook, Value, host_list_problem};

/// An answers file: the answers to a run's prompts, for a run without a terminal
/// (docs/operator-guide.md, "Answers files").
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct File {
    /// The operator recorded in the journal.
    #[serde(default)]
    operator: Option<String>,
    /// Parameter values by parameter name, as with --set.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    params: BTreeMap<String, serde_yaml::Value>,
    /// Host lists by role id.
    #[serde(default)]
    hosts: BTreeMap<String, Vec<String>>,
    /// The answer to "run this automated action now?".
    #[serde(default)]
    confirm: Option<bool>,
    /// The decision for any manual step instance not listed under `steps`.
    #[serde(default)]
    default: Option<Kind>,
    /// Decisions per step instance key (`step-id`, `step-id@HOST`): a decision, or a map.
    #[serde(default)]
    steps: BTreeMap<String, StepEntry>,
    /// What to do when a step fails: `retry`, `workaround:ID`, `done`, `skip-host`,
    /// `skip-step`, `abort`, or a list of them tried in order.
    #[serde(default)]
    on_failure: Option<OneOrMany>,
    /// What to do with a step instance left in doubt by an interruption.
    #[serde(default)]
    in_doubt: Option<InDoubtKind>,
    /// Whether to go on when the runbook changed since the run started.
    #[serde(default)]
    accept_changed_runbook: Option<bool>,
    /// Go on despite blocking checks, with this reason.
    #[serde(default)]
    override_checks: Option<String>,
    /// Whether the prerequisites are met; `default: done` says yes too.
    #[serde(default)]
    prerequisites: Option<bool>,
    /// Instances to reopen once every instance is settled, in order, each with its new answer.
    #[serde(default)]
    revisit: Vec<Revisit>,
    /// Host keys to pin when a host offers one that is not pinned yet: host to `SHA256:…`.
    #[serde(default)]
    host_keys: BTreeMap<String, String>,
    /// The answer between two batches of a host-major phase: `confirm` for every batch, or one
    /// answer per batch, `PHASE/BATCH: confirm | pause | stop` (BATCH is the batch about to
    /// start, 2 or more). A batch with no answer stops the run.
    #[serde(default)]
    batches: Option<Batches>,
    /// When more hosts of a host-major phase failed than its `max_failures`: `continue`,
    /// `pause` or `stop`.
    #[serde(default)]
    too_many_failures: Option<FailuresKind>,
}

/// Answers between batches: one for all, or one per batch.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Batches {
    All(BatchKind),
    Each(BTreeMap<String, BatchKind>),
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum BatchKind {
    /// Go on to the batch.
    Confirm,
    Pause,
    Stop,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum FailuresKind {
    /// Go on with the next host; one more failing host asks again.
    Continue,
    Pause,
    Stop,
}

/// One instance to reopen at the end of the walk, and how to answer it the second time.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Revisit {
    key: String,
    #[serde(default)]
    decision: Option<Kind>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    confirm: Option<bool>,
    #[serde(default)]
    items_not_done: BTreeMap<String, String>,
}

impl Revisit {
    fn answer(&self) -> StepAnswer {
        StepAnswer {
            decision: self.decision,
            note: self.note.clone(),
            confirm: self.confirm,
            items_not_done: self.items_not_done.clone(),
            on_failure: None,
            in_doubt: None,
        }
    }
}

/// The JSON Schema of an answers file, from the types above.
pub fn answers_schema() -> schemars::Schema {
    schemars::schema_for!(File)
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Done,
    /// Done by hand: for a manual step the same as `done`; for an automated step whose action
    /// was not run (`confirm: false`), the only way to done. Needs a `note`.
    #[serde(rename = "by-hand", alias = "by_hand")]
    ByHand,
    Skip,
    Fail,
    Pause,
    Automate,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum InDoubtKind {
    Rerun,
    Done,
    Skip,
    /// Whatever the evidence supports: done when it shows the action completed, otherwise
    /// taken up again.
    Evidence,
    /// Whatever the evidence supports once nothing runs any more (a command whose earlier
    /// process still runs is always waited for first).
    Wait,
    Pause,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum StepEntry {
    Kind(Kind),
    Full(StepAnswer),
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct StepAnswer {
    #[serde(default)]
    decision: Option<Kind>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    confirm: Option<bool>,
    /// Items not done, with the reason: `{ item-id: "reason" }`.
    #[serde(default)]
    items_not_done: BTreeMap<String, String>,
    #[serde(default)]
    on_failure: Option<OneOrMany>,
    #[serde(default)]
    in_doubt: Option<InDoubtKind>,
}

/// A choice after a failure, as written in the file: `retry`, `workaround:ID`, `done`,
/// `skip-host`, `skip-step`, `abort`.
fn parse_failure(text: &str, note: &str) -> Option<FailureChoice> {
    Some(match text {
        "retry" => FailureChoice::Retry,
        "done" => FailureChoice::DoneByHand(note.to_string()),
        "skip-host" => FailureChoice::SkipHost(note.to_string()),
        "skip-step" => FailureChoice::SkipStep(note.to_string()),
        "pause" => FailureChoice::Pause,
        "abort" => FailureChoice::Abort,
        _ => FailureChoice::Workaround(text.strip_prefix("workaround:")?.to_string()),
    })
}

pub struct Answers {
    /// `None` when there is no answers file (and no terminal): every prompt then stops.
    path: Option<String>,
    file: File,
    /// Failure choices still to use, per instance key.
    failures: BTreeMap<String, VecDeque<FailureChoice>>,
    /// How many failure choices each step instance has used.
    used: BTreeMap<String, usize>,
    /// Entries of `revisit` already used, and the key reopened now (answered from its entry).
    revisited: usize,
    reopened: Option<String>,
}

impl Answers {
    /// Reads and checks an answers file against a runbook.
    pub fn read(path: &Path, rb: &Runbook) -> Result<Answers, Error> {
        let shown = path.display().to_string();
        let text = crate::fsutil::read_text(path)
            .map_err(|e| Error::Usage(e.describe(&format!("answers file {shown}"), &shown)))?;
        Answers::parse(&shown, &text, rb)
    }

    /// Reads an answers file's text and checks it against a runbook. Every problem is
    /// reported, in one pass, with its line and column and a "did you mean" where one fits.
    pub fn parse(path: &str, text: &str, rb: &Runbook) -> Result<Answers, Error> {
        let tree = match yaml::parse(text) {
            Ok(Some(tree)) => tree,
            Ok(None) => return Ok(Answers::from_file(path, File::default(), BTreeMap::new())),
            Err(e) => {
                return Err(Error::Usage(format!(
                    "{path}:{}:{}: the answers file does not fit: {}",
                    e.pos.line, e.pos.col, e.message
                )));
            }
        };
        let mut problems = Problems {
            path,
            tree: &tree,
            found: Vec::new(),
        };
        let Some(file) = decode(text, &mut problems) else {
            return Err(problems.into_error());
        };
        let failures = check(&file, rb, &mut problems);
        if !problems.found.is_empty() {
            return Err(problems.into_error());
        }
        Ok(Answers::from_file(path, file, failures))
    }

    fn from_file(
        path: &str,
        file: File,
        failures: BTreeMap<String, VecDeque<FailureChoice>>,
    ) -> Answers {
        Answers {
            path: Some(path.to_string()),
            file,
            failures,
            used: BTreeMap::new(),
            revisited: 0,
            reopened: None,
        }
    }

    /// No answers at all: for a process with neither a terminal nor an answers file.
    pub fn none() -> Answers {
        Answers {
            path: None,
            file: File::default(),
            failures: BTreeMap::new(),
            used: BTreeMap::new(),
            revisited: 0,
            reopened: None,
        }
    }

    fn entry(&self, key: &str) -> Option<&StepEntry> {
        let step_id = key.split(['@', '#']).next().unwrap_or(key);
        self.file
            .steps
            .get(key)
            .or_else(|| self.file.steps.get(step_id))
    }

    fn answer(&self, key: &str) -> Option<StepAnswer> {
        if self.reopened.as_deref() == Some(key)
            && let Some(r) = self.revisit_entry()
        {
            return Some(r.answer());
        }
        match self.entry(key)? {
            StepEntry::Kind(k) => Some(StepAnswer {
                decision: Some(*k),
                note: None,
                confirm: None,
                items_not_done: BTreeMap::new(),
                on_failure: None,
                in_doubt: None,
            }),
            StepEntry::Full(a) => Some(a.clone()),
        }
    }

    /// The `revisit` entry in use (the one taken last).
    fn revisit_entry(&self) -> Option<&Revisit> {
        self.file.revisit.get(self.revisited.checked_sub(1)?)
    }

    fn missing(&self, what: String) -> Stop {
        match &self.path {
            Some(path) => Stop::Missing(format!("{what} (answers file {path})")),
            None => Stop::Missing(format!(
                "{what}: there is no terminal to ask, and no --answers file"
            )),
        }
    }
}

/// The problems found in an answers file, each with its position.
struct Problems<'a> {
    path: &'a str,
    tree: &'a yaml::Node,
    found: Vec<(yaml::Pos, String)>,
}

impl Problems<'_> {
    /// A problem with the key at `path` (or, with `value`, with its value).
    fn at(&mut self, path: &[Seg], value: bool, message: String) {
        let pos = match value {
            true => self.tree.get(path).map(|n| n.pos),
            false => self.tree.locate(path),
        };
        self.found.push((pos.unwrap_or(self.tree.pos), message));
    }

    fn into_error(mut self) -> Error {
        self.found.sort_by_key(|(pos, _)| *pos);
        let path = self.path;
        let lines: Vec<String> = self
            .found
            .iter()
            .map(|(pos, m)| format!("{path}:{}:{}: {m}", pos.line, pos.col))
            .collect();
        match lines.as_slice() {
            [one] => Error::Usage(one.clone()),
            many => Error::Usage(format!(
                "{path}: the answers file does not fit ({} problems):\n{}",
                many.len(),
                many.join("\n")
            )),
        }
    }
}

/// Decodes the file field by field (and `steps` entry by entry), so that every field that does
/// not fit is reported, not just the first.
fn decode(text: &str, problems: &mut Problems) -> Option<File> {
    use serde_yaml::{Mapping, Value as Y};
    let value: Y = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let pos = e.location().map_or(problems.tree.pos, |l| yaml::Pos {
                line: l.line(),
                col: l.column(),
            });
            let message = format!(
                "the answers file does not fit: {}",
                crate::input::strip_location(&e.to_string())
            );
            problems.found.push((pos, message));
            return None;
        }
    };
    let Y::Mapping(map) = &value else {
        problems.at(
            &[],
            true,
            format!(
                "the answers file does not fit: it must be a map (params, hosts, confirm, default, steps, ...), found {}",
                problems.tree.describe()
            ),
        );
        return None;
    };
    let single = |key: &Y, value: &Y| {
        let mut m = Mapping::new();
        m.insert(key.clone(), value.clone());
        serde_yaml::from_value::<File>(Y::Mapping(m))
    };
    for (key, field) in map {
        let Some(name) = key.as_str() else {
            problems.at(&[], true, "a key of the answers file must be a name".into());
            continue;
        };
        if let (Y::Mapping(steps), "steps") = (field, name) {
            for (step_key, entry) in steps {
                let shown = step_key.as_str().unwrap_or("?");
                let mut one = Mapping::new();
                one.insert(step_key.clone(), entry.clone());
                if single(key, &Y::Mapping(one)).is_err() {
                    let why = step_entry_error(entry);
                    let at = [Seg::Key("steps"), Seg::Key(shown)];
                    problems.at(&at, true, format!("steps: `{shown}`: {why}"));
                }
            }
            continue;
        }
        if let Err(e) = single(key, field) {
            let message = with_suggestion(&e.to_string());
            match message.starts_with("unknown field") {
                true => problems.at(&[Seg::Key(name)], false, message),
                false => problems.at(&[Seg::Key(name)], true, format!("{name}: {message}")),
            }
        }
    }
    if !problems.found.is_empty() {
        return None;
    }
    match serde_yaml::from_value(value) {
        Ok(file) => Some(file),
        Err(e) => {
            problems.at(&[], true, with_suggestion(&e.to_string()));
            None
        }
    }
}

/// Why a `steps` entry does not fit: a decision, or a map of answers.
fn step_entry_error(entry: &serde_yaml::Value) -> String {
    use serde_yaml::Value as Y;
    let why = match entry {
        Y::Mapping(_) => serde_yaml::from_value::<StepAnswer>(entry.clone()).err(),
        _ => serde_yaml::from_value::<Kind>(entry.clone()).err(),
    };
    match why {
        Some(e) => {
            let message = with_suggestion(&e.to_string());
            match message.strip_prefix("unknown variant") {
                Some(rest) => format!("unknown decision{rest}"),
                None => message,
            }
        }
        None => "expected a decision (done, skip, ...) or a map of answers".into(),
    }
}

/// A serde message with a "did you mean" when it names an unknown field or value and lists the
/// expected ones: "unknown variant `dne`, expected one of `done`, `skip`".
fn with_suggestion(message: &str) -> String {
    let message = crate::input::strip_location(message);
    let word = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
        .and_then(|rest| rest.split('`').next());
    let Some(word) = word else {
        return message;
    };
    let expected: Vec<&str> = match message.find("expected") {
        Some(i) => message[i..].split('`').skip(1).step_by(2).collect(),
        None => Vec::new(),
    };
    match suggest(word, expected) {
        Some(s) => format!("{message}; did you mean `{s}`?"),
        None => message,
    }
}

/// Checks the file against the runbook: names of parameters, roles and steps, values, host
/// names, notes for skips, failure choices and the known issues they name.
fn check(
    file: &File,
    rb: &Runbook,
    problems: &mut Problems,
) -> BTreeMap<String, VecDeque<FailureChoice>> {
    for (name, value) in &file.params {
        let at = [Seg::Key("params"), Seg::Key(name)];
        let Some(p) = rb.parameter(name) else {
            let hint = hint(name, rb.parameters.iter().map(|p| p.name.as_str()));
            let message = format!(
                "params: runbook `{}` has no parameter `{name}`{hint}",
                rb.id
            );
            problems.at(&at, false, message);
            continue;
        };
        if let Err(m) = value_of(p, value) {
            problems.at(&at, true, format!("params: {m}"));
        }
    }
    for (role, hosts) in &file.hosts {
        let at = [Seg::Key("hosts"), Seg::Key(role)];
        if rb.role(role).is_none() {
            let hint = hint(role, rb.roles.iter().map(|r| r.id.as_str()));
            let message = format!("hosts: runbook `{}` has no role `{role}`{hint}", rb.id);
            problems.at(&at, false, message);
        } else if hosts.is_empty() {
            problems.at(
                &at,
                true,
                format!("hosts: role `{role}` has an empty host list"),
            );
        } else if let Some((i, problem)) = host_list_problem(hosts) {
            let at = [Seg::Key("hosts"), Seg::Key(role), Seg::Index(i)];
            problems.at(&at, true, format!("hosts: role `{role}`: {problem}"));
        }
    }
    let step_ids: Vec<String> = rb
        .steps()
        .map(|(_, s)| s.id.clone())
        .chain(
            rb.known_issues
                .iter()
                .flat_map(|k| k.steps.iter().map(|s| s.id.clone())),
        )
        .collect();
    let mut failures = BTreeMap::new();
    for (key, entry) in &file.steps {
        let at = [Seg::Key("steps"), Seg::Key(key)];
        let step_id = key.split(['@', '#']).next().unwrap_or(key);
        if !step_ids.iter().any(|s| s == step_id) {
            let hint = hint(step_id, step_ids.iter().map(String::as_str));
            let message = format!(
                "steps: `{key}`: runbook `{}` has no step `{step_id}`{hint}",
                rb.id
            );
            problems.at(&at, false, message);
            continue;
        }
        match entry {
            StepEntry::Full(a) => {
                if a.decision == Some(Kind::Skip) && a.note.is_none() {
                    let message = format!("steps: `{key}`: a skip needs a `note` saying why");
                    problems.at(&at, false, message);
                }
                if a.decision == Some(Kind::ByHand) && a.note.is_none() {
                    let message =
                        format!("steps: `{key}`: `by-hand` needs a `note` saying what was done");
                    problems.at(&at, false, message);
                }
                if let Some(list) = &a.on_failure {
                    let note = a.note.clone().unwrap_or_else(|| "by answers file".into());
                    let at = [Seg::Key("steps"), Seg::Key(key), Seg::Key("on_failure")];
                    let parsed = parse_failures(&list.list(), &note, rb, &at, problems);
                    failures.insert(key.clone(), parsed);
                }
            }
            StepEntry::Kind(Kind::Skip) => {
                let message = format!(
                    "steps: `{key}`: a skip needs a note: write `{key}: {{ decision: skip, note: \"why\" }}`"
                );
                problems.at(&at, false, message);
            }
            StepEntry::Kind(Kind::ByHand) => {
                let message = format!(
                    "steps: `{key}`: `by-hand` needs a note saying what was done: write `{key}: {{ decision: by-hand, note: \"what was done\" }}`"
                );
                problems.at(&at, false, message);
            }
            StepEntry::Kind(_) => {}
        }
    }
    for (i, r) in file.revisit.iter().enumerate() {
        let at = [Seg::Key("revisit"), Seg::Index(i)];
        let step_id = r.key.split(['@', '#']).next().unwrap_or(&r.key);
        if !step_ids.iter().any(|s| s == step_id) {
            let hint = hint(step_id, step_ids.iter().map(String::as_str));
            let message = format!(
                "revisit: `{}`: runbook `{}` has no step `{step_id}`{hint}",
                r.key, rb.id
            );
            problems.at(&at, true, message);
        } else if matches!(r.decision, Some(Kind::Skip | Kind::ByHand)) && r.note.is_none() {
            let message = format!("revisit: `{}`: this decision needs a `note`", r.key);
            problems.at(&at, true, message);
        }
    }
    if let Some(list) = &file.on_failure {
        let at = [Seg::Key("on_failure")];
        parse_failures(&list.list(), "by answers file", rb, &at, problems);
    }
    if let Some(Batches::Each(map)) = &file.batches {
        for key in map.keys() {
            if let Some(message) = batch_key_problem(key, rb) {
                let at = [Seg::Key("batches"), Seg::Key(key)];
                problems.at(&at, false, format!("batches: `{key}`: {message}"));
            }
        }
    }
    failures
}

/// What is wrong with a `batches` key (`PHASE/BATCH`), if anything.
fn batch_key_problem(key: &str, rb: &Runbook) -> Option<String> {
    let host_major: Vec<&str> = rb
        .phases
        .iter()
        .filter(|p| p.host_order.is_some())
        .map(|p| p.id.as_str())
        .collect();
    let Some((phase, batch)) = key.rsplit_once('/') else {
        return Some(
            "expected PHASE/BATCH, for example `rolling/2` (the batch about to start)".into(),
        );
    };
    if !host_major.contains(&phase) {
        let what = match rb.phases.iter().any(|p| p.id == phase) {
            true => format!("phase `{phase}` does not run host by host (no `for_each_host`)"),
            false => format!("runbook `{}` has no phase `{phase}`", rb.id),
        };
        return Some(format!("{what}{}", hint(phase, host_major)));
    }
    match batch.parse::<u32>() {
        Ok(n) if n >= 2 => None,
        _ => Some(format!(
            "`{batch}` is not a batch to go on to: a number from 2 (the first batch starts without asking)"
        )),
    }
}

/// The failure choices of an `on_failure` at `at`; each one that is not a choice, or names a
/// known issue the runbook does not have, is a problem.
fn parse_failures(
    list: &[String],
    note: &str,
    rb: &Runbook,
    at: &[Seg],
    problems: &mut Problems,
) -> VecDeque<FailureChoice> {
    let mut out = VecDeque::new();
    let section = match at {
        [Seg::Key("steps"), Seg::Key(key), ..] => format!("steps: `{key}`: on_failure"),
        _ => "on_failure".to_string(),
    };
    for (i, t) in list.iter().enumerate() {
        let mut here = at.to_vec();
        if problems
            .tree
            .get(at)
            .is_some_and(|n| matches!(n.kind, yaml::NodeKind::Seq(_)))
        {
            here.push(Seg::Index(i));
        }
        match parse_failure(t, note) {
            Some(FailureChoice::Workaround(id)) if rb.known_issue(&id).is_none() => {
                let ids = rb.known_issues.iter().map(|k| k.id.as_str());
                let hint = hint(&id, ids);
                let message = format!(
                    "{section}: `{t}`: runbook `{}` has no known issue `{id}`{hint}",
                    rb.id
                );
                problems.at(&here, true, message);
            }
            Some(choice) => out.push_back(choice),
            None => {
                const CHOICES: [&str; 6] =
                    ["retry", "done", "skip-host", "skip-step", "pause", "abort"];
                let message = format!(
                    "{section}: `{t}` is not a failure choice: expected retry, workaround:ID, done, skip-host, skip-step, pause or abort{}",
                    hint(t, CHOICES)
                );
                problems.at(&here, true, message);
            }
        }
    }
    out
}

fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(word, candidates) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// A parameter value from YAML, checked against the parameter's type.
fn value_of(p: &Parameter, value: &serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    let text = match (p.kind, value) {
        (ParamType::Hosts, Y::Sequence(items)) => {
            let hosts: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect();
            return match hosts {
                Some(h) if !h.is_empty() => match host_list_problem(&h) {
                    Some((_, problem)) => Err(format!("`{}`: {problem}", p.name)),
                    None => Ok(Value::Hosts(h)),
                },
                _ => Err(format!("`{}` must be a list of host names", p.name)),
            };
        }
        (_, Y::Bool(b)) => b.to_string(),
        (_, Y::String(s)) => s.clone(),
        (_, Y::Number(n)) => n.to_string(),
        _ => {
            return Err(format!(
                "`{}` is a {}: expected a single value",
                p.name,
                p.kind.name()
            ));
        }
    };
    if p.kind == ParamType::Bool && !matches!(value, Y::Bool(_)) {
        return Err(format!(
            "parameter `{}` is a bool: expected true or false, got `{text}`",
            p.name
        ));
    }
    p.parse_value(&text)
}

impl Prompter for Answers {
    fn interactive(&self) -> bool {
        false
    }

    fn operator(&self) -> Option<String> {
        self.file.operator.clone()
    }

    fn given_hosts(&self) -> BTreeMap<String, Vec<String>> {
        self.file.hosts.clone()
    }

    fn accept_host_key(
        &mut self,
        host: &str,
        _algorithm: &str,
        fingerprint: &str,
    ) -> Result<bool, Stop> {
        Ok(self
            .file
            .host_keys
            .iter()
            .any(|(h, f)| h.eq_ignore_ascii_case(host) && f.trim() == fingerprint))
    }

    fn param(&mut self, p: &Parameter) -> Result<Value, Stop> {
        if let Some(v) = self.file.params.get(&p.name) {
            return value_of(p, v).map_err(Stop::Missing);
        }
        if p.kind == ParamType::Secret
            && let Ok(v) = std::env::var(format!("STEPWISE_SECRET_{}", p.name.to_uppercase()))
        {
            return Ok(Value::Text(v));
        }
        match &p.default {
            Some(d) => Ok(d.clone()),
            None => Err(self.missing(format!(
                "no value for parameter `{}` ({}), and it has no default",
                p.name, p.prompt
            ))),
        }
    }

    fn hosts(&mut self, role: &Role, default: &[String]) -> Result<Vec<String>, Stop> {
        match self.file.hosts.get(&role.id) {
            Some(h) => Ok(h.clone()),
            None if !default.is_empty() => Ok(default.to_vec()),
            None => Err(self.missing(format!(
                "no hosts for role `{}` ({}), and it has no default hosts",
                role.id, role.title
            ))),
        }
    }

    fn confirm_prerequisites(&mut self, _prerequisites: &[String]) -> Result<bool, Stop> {
        match (self.file.prerequisites, self.file.default) {
            (Some(b), _) => Ok(b),
            (None, Some(Kind::Done)) => Ok(true),
            _ => Err(self.missing(
                "no answer to whether the prerequisites are met (`prerequisites: true`)".into(),
            )),
        }
    }

    fn override_blocking(&mut self, blocking: usize) -> Result<Option<String>, Stop> {
        let _ = blocking;
        Ok(self.file.override_checks.clone())
    }

    fn accept_changed_runbook(&mut self, _changes: &[String]) -> Result<bool, Stop> {
        match self.file.accept_changed_runbook {
            Some(b) => Ok(b),
            None => Err(self.missing(
                "the runbook changed since the run started, and there is no `accept_changed_runbook`"
                    .to_string(),
            )),
        }
    }

    fn in_doubt(&mut self, view: &StepView, evidence: &Evidence) -> Result<InDoubtChoice, Stop> {
        let answer = self.answer(&view.key);
        let kind = answer
            .as_ref()
            .and_then(|a| a.in_doubt)
            .or(self.file.in_doubt);
        // A command whose earlier process still runs is never run again, nor called done: the
        // walk waits for it (at most its timeout), then asks again.
        if evidence.still_running {
            return Ok(InDoubtChoice::Wait);
        }
        let note = answer.and_then(|a| a.note);
        // The host cannot be reached: what the action left there cannot be looked at, and it
        // cannot be run again. Only the file's explicit word settles it; nothing is guessed.
        if let Some(why) = &evidence.unreachable
            && evidence.supports != Supports::Completed
            && matches!(
                kind,
                Some(InDoubtKind::Evidence | InDoubtKind::Rerun | InDoubtKind::Wait) | None
            )
        {
            return Err(self.missing(why.clone()));
        }
        let done = |note: Option<String>| match evidence.supports {
            // Against the evidence, only the file's own note will do.
            Supports::NotCompleted => InDoubtChoice::Done(note),
            Supports::Completed => InDoubtChoice::Done(note),
            Supports::Unknown => InDoubtChoice::Done(Some(note.unwrap_or_else(|| {
                "by answers file: it was in doubt after an interruption".to_string()
            }))),
        };
        match kind {
            Some(InDoubtKind::Rerun) => Ok(InDoubtChoice::Rerun),
            Some(InDoubtKind::Done) => Ok(done(note)),
            Some(InDoubtKind::Skip) => Ok(InDoubtChoice::Skip(note.unwrap_or_else(|| {
                "by answers file: it was in doubt after an interruption".to_string()
            }))),
            Some(InDoubtKind::Evidence) => Ok(match evidence.supports {
                Supports::Completed => InDoubtChoice::Done(note),
                _ => InDoubtChoice::Rerun,
            }),
            Some(InDoubtKind::Pause) => Ok(InDoubtChoice::Pause),
            // Nothing runs any more: look at the evidence.
            Some(InDoubtKind::Wait) => Ok(match evidence.supports {
                Supports::Completed => InDoubtChoice::Done(note),
                _ => InDoubtChoice::Rerun,
            }),
            None => Err(self.missing(format!(
                "step instance `{}` was started and never finished, and there is no `in_doubt` answer",
                view.key
            ))),
        }
    }

    fn decision(&mut self, view: &StepView) -> Result<Decision, Stop> {
        let (kind, note) = match self.answer(&view.key) {
            Some(StepAnswer {
                decision: Some(k),
                note,
                ..
            }) => (k, note),
            _ => match self.file.default {
                Some(Kind::Skip) => (Kind::Skip, Some("skipped by answers file".to_string())),
                Some(k) => (k, None),
                None => {
                    return Err(self.missing(format!(
                        "no answer for step instance `{}` ({})",
                        view.key, view.title
                    )));
                }
            },
        };
        Ok(match kind {
            Kind::Done | Kind::ByHand => Decision::Done { note },
            Kind::Skip => Decision::Skip {
                reason: note.unwrap_or_else(|| "skipped by answers file".into()),
            },
            Kind::Fail => Decision::Problem { note },
            Kind::Pause => Decision::Pause,
            Kind::Automate if !view.reachable => {
                let host = view.host.clone().unwrap_or_default();
                return Err(self.missing(format!(
                    "`{}` is answered `automate`, but its automation cannot run: {}",
                    view.key,
                    crate::target::Reach::unreachable_sentence(&host)
                )));
            }
            Kind::Automate => Decision::Automate,
        })
    }

    fn declined(&mut self, view: &StepView) -> Result<Declined, Stop> {
        let answer = self.answer(&view.key);
        let (kind, note) = match &answer {
            Some(StepAnswer {
                decision: Some(k),
                note,
                ..
            }) => (Some(*k), note.clone()),
            _ => (self.file.default, None),
        };
        match (kind, note) {
            (Some(Kind::ByHand), Some(note)) => Ok(Declined::ByHand(note)),
            (Some(Kind::Skip), note) => Ok(Declined::Skip(
                note.unwrap_or_else(|| "skipped by answers file".into()),
            )),
            (Some(Kind::Pause), _) => Ok(Declined::Pause),
            (Some(Kind::Automate), _) => Ok(Declined::RunNow),
            _ => Err(self.missing(format!(
                "the automated action of `{}` was not run (`confirm: false`), and only evidence makes it done: answer `{}: {{ decision: by-hand, note: \"what was done\" }}`, or skip or pause",
                view.key, view.key
            ))),
        }
    }

    fn revisit(
        &mut self,
        candidates: &[(String, String)],
        at_end: bool,
    ) -> Result<Option<String>, Stop> {
        if !at_end {
            return Ok(None);
        }
        let Some(next) = self.file.revisit.get(self.revisited) else {
            self.reopened = None;
            return Ok(None);
        };
        let key = next.key.clone();
        self.revisited += 1;
        if !candidates.iter().any(|(k, _)| *k == key) {
            return Err(self.missing(format!(
                "revisit: `{key}` cannot be reopened: only an instance that was skipped, partly done or done by hand can"
            )));
        }
        self.reopened = Some(key.clone());
        Ok(Some(key))
    }

    fn items(&mut self, view: &StepView) -> Result<Vec<ItemAnswer>, Stop> {
        let not_done = self
            .answer(&view.key)
            .map(|a| a.items_not_done)
            .unwrap_or_default();
        Ok(view
            .items
            .iter()
            .map(|(id, _)| match not_done.get(id) {
                Some(reason) => ItemAnswer::NotDone(reason.clone()),
                None => ItemAnswer::Done,
            })
            .collect())
    }

    fn confirm_action(&mut self, view: &StepView) -> Result<bool, Stop> {
        let per_step = self.answer(&view.key).and_then(|a| a.confirm);
        match per_step.or(self.file.confirm) {
            Some(b) => Ok(b),
            None => Err(self.missing(format!(
                "no `confirm` answer for the automated action of `{}`",
                view.key
            ))),
        }
    }

    fn failure(&mut self, view: &StepView, failure: &FailureView) -> Result<FailureChoice, Stop> {
        let step_id = view
            .key
            .split(['@', '#'])
            .next()
            .unwrap_or(&view.key)
            .to_string();
        // Each instance works through its list on its own: `[retry, skip-host]` answers the
        // first failure on every host with a retry, the second with a skip. The step's own list
        // comes first, then the file-wide `on_failure`; when the list runs out, the run stops.
        let list = self
            .failures
            .get(&view.key)
            .or_else(|| self.failures.get(&step_id))
            .cloned()
            .or_else(|| {
                let list = self.file.on_failure.as_ref()?;
                // Checked when the file was read.
                let choices = list.list();
                Some(
                    choices
                        .iter()
                        .filter_map(|t| parse_failure(t, "by answers file"))
                        .collect::<VecDeque<_>>(),
                )
            });
        if let Some(list) = list {
            let used = self.used.entry(view.key.clone()).or_insert(0);
            if let Some(choice) = list.get(*used) {
                *used += 1;
                return Ok(choice.clone());
            }
        }
        Err(self.missing(format!(
            "`{}` failed ({}), and there is no `on_failure` answer for it",
            failure.key, failure.what
        )))
    }

    fn next_batch(&mut self, ask: &super::BatchAsk) -> Result<super::FleetChoice, Stop> {
        let kind = match &self.file.batches {
            Some(Batches::All(k)) => Some(*k),
            Some(Batches::Each(map)) => map.get(&ask.key()).copied(),
            None => None,
        };
        match kind {
            Some(BatchKind::Confirm) => Ok(super::FleetChoice::Go),
            Some(BatchKind::Pause) => Ok(super::FleetChoice::Pause),
            Some(BatchKind::Stop) => Ok(super::FleetChoice::Stop),
            None => Err(self.missing(format!(
                "no answer to \"{}\": answer `batches: {{ {}: confirm }}` (or `batches: confirm` for every batch)",
                ask.question(),
                ask.key()
            ))),
        }
    }

    fn too_many_failures(&mut self, ask: &super::FailuresAsk) -> Result<super::FleetChoice, Stop> {
        match self.file.too_many_failures {
            Some(FailuresKind::Continue) => Ok(super::FleetChoice::Go),
            Some(FailuresKind::Pause) => Ok(super::FleetChoice::Pause),
            Some(FailuresKind::Stop) => Ok(super::FleetChoice::Stop),
            None => Err(self.missing(format!(
                "no answer to \"{}\": answer `too_many_failures: continue`, `pause` or `stop`",
                ask.question()
            ))),
        }
    }

    fn show(&mut self, text: &str) {
        crate::stdio::show(text);
    }
}
