//! The runbook as the rest of the program sees it: plain types, already checked.
//!
//! Everything here was produced by the loader from a YAML document and has passed validation:
//! consumers may rely on ids being unique and references resolving. Positions are kept on the
//! nodes that later diagnostics may need to point at; no consumer re-reads YAML.

use super::diag::Code;
use super::expr::Expr;
use super::template::Template;
use super::yaml::Pos;

/// A value with the position of the YAML node it came from.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub article: String,
    pub product: String,
    pub released: Option<String>,
    pub replaces: Vec<String>,
    pub applies_to: Vec<String>,
    pub source: Option<String>,
    pub summary: Option<String>,
    pub restart: Option<String>,
    pub notes: Vec<String>,
    pub references: Vec<Reference>,
    pub parameters: Vec<Parameter>,
    pub roles: Vec<Role>,
    pub prerequisites: Vec<Prerequisite>,
    pub phases: Vec<Phase>,
    pub known_issues: Vec<KnownIssue>,
    pub manifests: Vec<Manifest>,
    /// How to undo the update, for the change record.
    pub backout: Option<Backout>,
}

/// How to back the update out: a text, numbered steps, or both. Printed in the checklist's
/// back-out section; never run by the walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Backout {
    pub text: Option<String>,
    pub steps: Vec<String>,
}

impl Runbook {
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub fn known_issue(&self, id: &str) -> Option<&KnownIssue> {
        self.known_issues.iter().find(|k| k.id == id)
    }

    /// Every step of the main procedure, in order, with its phase.
    pub fn steps(&self) -> impl Iterator<Item = (&Phase, &Step)> {
        self.phases
            .iter()
            .flat_map(|phase| phase.steps.iter().map(move |step| (phase, step)))
    }

    /// Finds a step by id, in the phases or in a known issue's workaround.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps()
            .map(|(_, s)| s)
            .chain(self.known_issues.iter().flat_map(|k| k.steps.iter()))
            .find(|s| s.id == id)
    }

    /// The manifest entry for a file name, matched case-insensitively as Windows does; limited
    /// to one manifest when `manifest` names one.
    pub fn manifest_file(&self, manifest: Option<&str>, name: &str) -> Option<&ManifestFile> {
        self.manifests
            .iter()
            .filter(|m| manifest.is_none_or(|id| m.id == id))
            .flat_map(|m| m.files.iter())
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The file-table rows that can stand for the file `name`: the row of that name, or else
    /// the rows whose name the table cut short and that `name` starts with.
    pub fn table_rows(&self, manifest: Option<&str>, name: &str) -> TableRows<'_> {
        if let Some(row) = self.manifest_file(manifest, name) {
            return TableRows::Named(row);
        }
        let cut: Vec<&ManifestFile> = self
            .manifests
            .iter()
            .filter(|m| manifest.is_none_or(|id| m.id == id))
            .flat_map(|m| m.files.iter())
            .filter(|f| f.is_cut_short() && f.may_name(name))
            .collect();
        match cut.as_slice() {
            [] => TableRows::Unlisted,
            [one] => TableRows::CutShort(one),
            _ => TableRows::Ambiguous(cut),
        }
    }
}

/// How a file is found in the article's file tables.
#[derive(Debug, Clone)]
pub enum TableRows<'r> {
    /// A row of that name (ignoring case).
    Named(&'r ManifestFile),
    /// The one row, cut short in the table, that the name starts with.
    CutShort(&'r ManifestFile),
    /// Several rows cut short to the same text: they are told apart by size.
    Ambiguous(Vec<&'r ManifestFile>),
    Unlisted,
}

impl<'r> TableRows<'r> {
    /// The row whose size a file of `size` bytes is checked against: the only row, or, among
    /// ambiguous rows, the one with that size.
    pub fn row_for(&self, size: u64) -> Option<&'r ManifestFile> {
        match self {
            TableRows::Named(r) | TableRows::CutShort(r) => Some(r),
            TableRows::Ambiguous(rows) => rows.iter().copied().find(|r| r.size == Some(size)),
            TableRows::Unlisted => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Bool,
    String,
    Path,
    Choice,
    Hosts,
    Secret,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Bool => "bool",
            ParamType::String => "string",
            ParamType::Path => "path",
            ParamType::Choice => "choice",
            ParamType::Hosts => "hosts",
            ParamType::Secret => "secret",
        }
    }

    pub const ALL: [&'static str; 6] = ["bool", "string", "path", "choice", "hosts", "secret"];

    pub fn from_name(name: &str) -> Option<ParamType> {
        Some(match name {
            "bool" => ParamType::Bool,
            "string" => ParamType::String,
            "path" => ParamType::Path,
            "choice" => ParamType::Choice,
            "hosts" => ParamType::Hosts,
            "secret" => ParamType::Secret,
            _ => return None,
        })
    }
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Text(String),
    Hosts(Vec<String>),
}

impl Value {
    /// The value as it is written into text by `{{ name }}`.
    pub fn render(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.clone(),
            Value::Hosts(h) => h.join(", "),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub pos: Pos,
    pub kind: ParamType,
    pub prompt: String,
    pub help: Option<String>,
    pub default: Option<Value>,
    pub choices: Vec<String>,
}

impl Parameter {
    /// Parses a value given as text (`--set`, an answers file, a prompt) into this parameter's type.
    pub fn parse_value(&self, text: &str) -> Result<Value, String> {
        match self.kind {
            ParamType::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" => Ok(Value::Bool(true)),
                "false" | "no" | "n" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "parameter `{}` is a bool: expected true or false, got `{text}`",
                    self.name
                )),
            },
            ParamType::Choice => {
                if self.choices.iter().any(|c| c == text) {
                    Ok(Value::Text(text.to_string()))
                } else {
                    Err(format!(
                        "parameter `{}` must be one of {}, got `{text}`",
                        self.name,
                        self.choices.join(", ")
                    ))
                }
            }
            ParamType::Hosts => {
                let hosts: Vec<String> = text.split(',').map(|h| h.trim().to_string()).collect();
                if hosts.iter().all(String::is_empty) {
                    Err(format!(
                        "parameter `{}` is a host list: expected host names separated by commas",
                        self.name
                    ))
                } else if let Some((_, problem)) = host_list_problem(&hosts) {
                    Err(format!("parameter `{}`: {problem}", self.name))
                } else {
                    Ok(Value::Hosts(hosts))
                }
            }
            ParamType::String | ParamType::Path | ParamType::Secret => {
                if text.is_empty() {
                    Err(format!("parameter `{}` must not be empty", self.name))
                } else {
                    Ok(Value::Text(text.to_string()))
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub pos: Pos,
    pub title: String,
    pub description: Option<String>,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Prerequisite {
    pub text: Template,
    pub note: Option<String>,
    pub references: Vec<Reference>,
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub article: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
}

impl Reference {
    pub fn render(&self) -> String {
        let what = self
            .article
            .as_deref()
            .or(self.url.as_deref())
            .unwrap_or_default();
        match &self.title {
            Some(title) if !what.is_empty() => format!("{what}: {title}"),
            Some(title) => title.clone(),
            None => what.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub id: String,
    pub pos: Pos,
    pub title: String,
    pub when: Option<Spanned<Expr>>,
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
    /// Host-major order: every step on one batch of the role's hosts before the next batch.
    pub host_order: Option<HostOrder>,
}

/// A phase that runs host by host (`for_each_host:`): all its steps on one batch of hosts of
/// the role, then the next batch, with a confirmation between batches.
#[derive(Debug, Clone)]
pub struct HostOrder {
    /// The role whose hosts the phase walks; every step of the phase runs `on:` it.
    pub role: Spanned<String>,
    /// Hosts per batch.
    pub serial: Serial,
    /// How many hosts may fail before the walk stops and asks.
    pub max_failures: u32,
}

/// How many hosts a batch of a host-major phase holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serial {
    /// This many hosts (at least 1).
    Hosts(u32),
    /// This share of the role's hosts, 1 to 100, rounded up, at least one host.
    Percent(u32),
}

impl Serial {
    /// The number of hosts in a batch, out of `hosts` hosts: at least 1.
    pub fn batch_size(self, hosts: usize) -> usize {
        match self {
            Serial::Hosts(n) => usize::try_from(n).unwrap_or(usize::MAX).max(1),
            Serial::Percent(p) => {
                let p = usize::try_from(p).unwrap_or(100);
                (hosts * p).div_ceil(100).max(1)
            }
        }
    }

    /// As written in a runbook: `2`, `25%`.
    pub fn written(self) -> String {
        match self {
            Serial::Hosts(n) => n.to_string(),
            Serial::Percent(p) => format!("{p}%"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub pos: Pos,
    pub title: Template,
    pub instructions: Option<Template>,
    pub on: Option<Spanned<String>>,
    pub when: Option<Spanned<Expr>>,
    /// The number (or name) the article gives this step (`7`, `14`, `Restart requirement`),
    /// shown beside the runbook's own number so a printout can be held against the article.
    pub article_step: Option<String>,
    pub items: Vec<Item>,
    pub notes: Vec<Template>,
    pub references: Vec<Reference>,
    pub known_issues: Vec<Spanned<String>>,
    pub action: Action,
    /// On a manual step: what the operator may choose to run instead of doing it by hand.
    pub automation: Option<Action>,
    /// How many hosts of its role an automated step may run on at once (`parallel: N`); 1
    /// runs them one after the other.
    pub parallel: usize,
}

impl Step {
    /// The action that does the work when automated: the action itself, or a manual step's
    /// optional automation.
    pub fn automated(&self) -> Option<&Action> {
        match &self.action {
            Action::Manual => self.automation.as_ref(),
            action => Some(action),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub text: Template,
    pub note: Option<String>,
    /// The item is part of an instance only where this holds (same language as a step's).
    pub when: Option<Spanned<Expr>>,
}

#[derive(Debug, Clone)]
pub enum Action {
    Manual,
    Command(CommandAction),
    Copy(CopyAction),
    WriteFile(WriteFileAction),
    CreateFolder(CreateFolderAction),
    Check(CheckAction),
    Restart(RestartAction),
}

impl Action {
    pub fn type_name(&self) -> &'static str {
        match self {
            Action::Manual => "manual",
            Action::Command(_) => "command",
            Action::Copy(_) => "copy",
            Action::WriteFile(_) => "write_file",
            Action::CreateFolder(_) => "create_folder",
            Action::Check(_) => "check",
            Action::Restart(_) => "restart",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CommandAction {
    pub program: Template,
    pub args: Vec<Template>,
    pub cwd: Option<Template>,
    pub timeout_secs: u64,
    pub success_codes: Vec<i32>,
    pub shell: bool,
}

#[derive(Debug, Clone)]
pub struct CopyAction {
    pub from: Template,
    pub to: Template,
    pub files: Vec<Spanned<String>>,
    pub backup: bool,
    pub manifest: Option<Spanned<String>>,
}

/// Creates one empty folder (never its parents); a folder already there is left as it is.
#[derive(Debug, Clone)]
pub struct CreateFolderAction {
    pub path: Template,
}

#[derive(Debug, Clone)]
pub struct WriteFileAction {
    pub dir: Template,
    pub file: String,
    pub content: Template,
    pub backup: bool,
}

/// Restarts the instance's host with a command, waits until it answers over SSH again, then
/// runs its checks. Never on this machine.
#[derive(Debug, Clone)]
pub struct RestartAction {
    pub program: Template,
    pub args: Vec<Template>,
    /// Seconds the host has to go down and answer again.
    pub wait_secs: u64,
    /// What must hold once the host is back (retried until the wait is up).
    pub checks: Vec<Assertion>,
}

#[derive(Debug, Clone)]
pub struct CheckAction {
    pub checks: Vec<Assertion>,
    /// Keep evaluating until every assertion holds, for at most this long.
    pub retry: Option<Retry>,
}

/// A number of seconds as a runbook may write it: `5m`, `90s`, `1h`.
pub fn written_duration(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// How long a check waits for its assertions to hold, and how often it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The bound, in seconds (at least 1).
    pub for_secs: u64,
    /// Seconds between two looks (at least 1, at most `for_secs`).
    pub every_secs: u64,
}

#[derive(Debug, Clone)]
pub enum Assertion {
    Exists {
        path: Template,
        size: Option<u64>,
    },
    Writable {
        dir: Template,
    },
    Command {
        program: Template,
        args: Vec<Template>,
    },
}

#[derive(Debug, Clone)]
pub struct KnownIssue {
    pub id: String,
    pub pos: Pos,
    pub title: String,
    pub symptom: String,
    pub cause: Option<String>,
    pub applies_to: Vec<Spanned<String>>,
    pub workaround: Option<Template>,
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
    pub references: Vec<Reference>,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub id: String,
    pub pos: Pos,
    pub title: String,
    pub note: Option<String>,
    pub platform: Option<String>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone)]
pub struct ManifestFile {
    pub name: String,
    pub size: Option<u64>,
    pub version: Option<String>,
    pub date: Option<String>,
    pub time: Option<String>,
    pub platform: Option<String>,
    pub sha256: Option<String>,
}

impl ManifestFile {
    /// Whether the article's table cut this name short (`Exchange2007oabresourcemana`: no
    /// extension). Such a row stands for a file whose name starts with it.
    pub fn is_cut_short(&self) -> bool {
        !self.name.contains('.')
    }

    /// Whether `file` is a name this row may stand for: the same name ignoring case, or, for a
    /// name cut short, one that starts with it.
    pub fn may_name(&self, file: &str) -> bool {
        if self.is_cut_short() {
            file.to_lowercase().starts_with(&self.name.to_lowercase())
        } else {
            file.eq_ignore_ascii_case(&self.name)
        }
    }
}

/// What is wrong with a host list, if anything: the index of the first bad name and why. A
/// host name becomes part of step instance keys (`step@HOST#item`), so it must not be empty,
/// hold `@`, `#`, a comma, white space or a control character, or appear twice (ignoring case,
/// as Windows does: `MPS01` and `mps01` are one server).
pub fn host_list_problem(hosts: &[String]) -> Option<(usize, String)> {
    host_list_fault(hosts).map(|(i, _, problem)| (i, problem))
}

/// [`host_list_problem`], with the code a runbook diagnostic gives it.
pub(crate) fn host_list_fault(hosts: &[String]) -> Option<(usize, Code, String)> {
    for (i, host) in hosts.iter().enumerate() {
        if host.is_empty() {
            return Some((i, Code::InvalidValue, "a host name is empty".into()));
        }
        if let Some(c) = host
            .chars()
            .find(|c| matches!(c, '@' | '#' | ',') || c.is_whitespace() || c.is_control())
        {
            let what = match c {
                '@' | '#' => format!(
                    "`{c}`, which separates the parts of a step instance key (step@HOST#item)"
                ),
                ',' => "a comma, which separates host names".into(),
                _ => "white space or a control character".into(),
            };
            return Some((
                i,
                Code::InvalidValue,
                format!("host name `{host}` cannot hold {what}"),
            ));
        }
        if let Some(first) = hosts[..i].iter().position(|h| h.eq_ignore_ascii_case(host)) {
            let same = if hosts[first] == *host {
                String::new()
            } else {
                format!(" (as `{}`; host names ignore case)", hosts[first])
            };
            return Some((
                i,
                Code::ListedTwice,
                format!("host `{host}` is listed twice{same}"),
            ));
        }
    }
    None
}
