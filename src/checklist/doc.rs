//! The one walk over a plan: everything a checklist shows, in order, already worded.
//!
//! [`Doc::build`] decides *what* is on a checklist: which steps, which boxes and their keys, how an
//! action or a condition is described, which ticks an as-run record puts in them. The three
//! renderers only decide *how* it looks, so text, Markdown and HTML cannot drift apart. Every
//! template is filled with [`crate::plan::Resolved::show`], so a secret never reaches a checklist.
//! Nothing here formats for an output, reads a file, or looks at the clock.

use crate::plan::{Applies, Plan, Resolved};
use crate::runbook::expr::Expr;
use crate::runbook::{Action, Assertion, Reference, Step, Template};

use super::{AsRun, Tick};

/// What a parameter without a value shows.
pub const NOT_SET: &str = "(not set: asked at run time)";

/// A piece of inline text: prose, or something typed or read literally (a command line, a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Code(String),
}

/// A line of inline text.
pub type Line = Vec<Span>;

fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

/// A whole checklist, ready to be rendered.
#[derive(Debug, Clone)]
pub struct Doc {
    pub runbook_id: String,
    pub title: String,
    /// Label and value lines: article, product, released, applies to, replaces, restart.
    pub facts: Vec<(&'static str, Vec<String>)>,
    /// The run whose record this is, when boxes are ticked from one.
    pub as_run: Option<String>,
    pub parameters: Vec<ParamDoc>,
    pub roles: Vec<RoleDoc>,
    /// Whether some phase or step is still "only if …".
    pub open_conditions: bool,
    pub prerequisites: Vec<PrereqDoc>,
    pub known_issues: Vec<IssueDoc>,
    pub manifests: Vec<ManifestDoc>,
    /// The runbook's article number and content hash, printed on every page.
    pub article: String,
    pub hash: String,
    /// The change block at the top: given values, or blanks to fill in by hand.
    pub change: super::Change,
    /// The as-run record's run summary (label, value), empty without `--run`.
    pub run_summary: Vec<(&'static str, String)>,
    pub backout: Option<crate::runbook::Backout>,
    /// The runbook author's notes on how the article was read: an appendix, out of the way.
    pub appendix: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ParamDoc {
    pub name: String,
    pub prompt: String,
    /// The value in force as shown (a secret as `********`), or `None` when not set.
    pub value: Option<String>,
}

impl ParamDoc {
    pub fn shown(&self) -> &str {
        self.value.as_deref().unwrap_or(NOT_SET)
    }
}

#[derive(Debug, Clone)]
pub struct RoleDoc {
    pub id: String,
    pub title: String,
    pub hosts: Vec<String>,
    /// What these servers are, and where their default host names come from.
    pub description: Option<String>,
}

impl RoleDoc {
    /// `Title (id)`.
    pub fn name(&self) -> String {
        format!("{} ({})", self.title, self.id)
    }

    /// The hosts, comma-separated, or a sentence saying there are none.
    pub fn hosts_shown(&self) -> String {
        if self.hosts.is_empty() {
            "no hosts given".to_string()
        } else {
            self.hosts.join(", ")
        }
    }
}

#[derive(Debug, Clone)]
pub struct PrereqDoc {
    /// 1-based.
    pub number: usize,
    pub text: String,
    pub note: Option<String>,
    pub references: Vec<String>,
    pub tick: Option<Tick>,
}

#[derive(Debug, Clone)]
pub struct PhaseDoc {
    pub number: usize,
    pub id: String,
    pub title: String,
    /// The open condition, rendered: shown as "only if <it>".
    pub only_if: Option<String>,
    /// For a host-major phase: "Do its steps on each host of … in turn, 1 at a time: …".
    pub host_order: Option<String>,
    pub notes: Vec<String>,
    pub steps: Vec<StepDoc>,
}

#[derive(Debug, Clone)]
pub struct StepDoc {
    /// `PHASE.STEP` for a step of the procedure; `1`, `2`, … for a workaround step.
    pub number: String,
    pub id: String,
    pub title: String,
    /// The article's own number for the step (`7`), shown beside `number`.
    pub article_step: Option<String>,
    pub only_if: Option<String>,
    /// The role it runs on, with the hosts in force.
    pub on: Option<RoleDoc>,
    pub instructions: Option<String>,
    pub action: Option<ActionDoc>,
    pub notes: Vec<String>,
    pub references: Vec<String>,
    /// `(id, title)` of the known issues that can bite here.
    pub known_issues: Vec<(String, String)>,
    /// One group per step instance; empty for a workaround step and for a role without hosts.
    pub groups: Vec<BoxGroup>,
}

/// How many write-in boxes a step gets when its role has no hosts: the operator writes each
/// host in by hand, so the step still has a box to tick.
pub const WRITE_IN_BOXES: usize = 3;

impl StepDoc {
    /// ` (article step 7)` when the runbook gives the article's number, else nothing.
    pub fn article_suffix(&self) -> String {
        self.article_step
            .as_ref()
            .map(|n| format!(" (article step {n})"))
            .unwrap_or_default()
    }

    /// "no hosts given for role X" when the step runs on a role that has no hosts.
    pub fn no_hosts(&self) -> Option<String> {
        match &self.on {
            Some(role) if role.hosts.is_empty() => {
                Some(format!("no hosts given for role {}", role.id))
            }
            _ => None,
        }
    }
}

/// The boxes of one step instance: its items, then the box of the instance itself.
#[derive(Debug, Clone)]
pub struct BoxGroup {
    pub host: Option<String>,
    pub items: Vec<Tickbox>,
    pub done: Tickbox,
}

impl BoxGroup {
    /// Every box of the group in order: the items, then the instance.
    pub fn boxes(&self) -> impl Iterator<Item = &Tickbox> {
        self.items.iter().chain(std::iter::once(&self.done))
    }
}

/// One box to tick, with the key of the step instance or item it stands for.
#[derive(Debug, Clone)]
pub struct Tickbox {
    pub key: String,
    pub label: String,
    pub note: Option<String>,
    pub tick: Option<Tick>,
}

/// What an automated action will do.
#[derive(Debug, Clone)]
pub struct ActionDoc {
    /// "Automated (copy)" for an action; "Can be automated (command)" for a manual step's
    /// automation.
    pub lead: String,
    pub summary: Line,
    pub details: Vec<Line>,
    /// The text a `write_file` writes, exactly.
    pub content: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IssueDoc {
    pub id: String,
    pub title: String,
    /// Numbers of the steps that name it.
    pub seen_at: Vec<String>,
    pub applies_to: Vec<RoleDoc>,
    pub symptom: String,
    pub cause: Option<String>,
    pub workaround: Option<String>,
    /// Where the workaround steps run: the server where the issue occurred, which is the host
    /// of the failed step (as a run does it), with the hosts of the steps that name the issue.
    pub runs_on: String,
    pub steps: Vec<StepDoc>,
    pub notes: Vec<String>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ManifestDoc {
    pub id: String,
    pub title: String,
    pub platform: Option<String>,
    pub note: Option<String>,
    pub files: Vec<FileRow>,
}

/// One row of a manifest table; `None` is an empty cell.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub name: String,
    pub version: Option<String>,
    /// With thousands separators: `412,672`.
    pub size: Option<String>,
    pub date: Option<String>,
    pub time: Option<String>,
    pub platform: Option<String>,
}

/// An integer with a comma every three digits, as the articles print sizes.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What is left of an open condition once the values that are given are taken into account:
/// `not ur5_installed and upgraded_from_hmc40` with `ur5_installed` false is
/// `upgraded_from_hmc40`. Exact, never a guess: only parts whose value is known are dropped.
fn residual(e: &Expr, resolved: &Resolved) -> Expr {
    match e {
        Expr::And(a, b) => match (resolved.eval(a), resolved.eval(b)) {
            (Some(true), _) => residual(b, resolved),
            (_, Some(true)) => residual(a, resolved),
            _ => Expr::And(
                Box::new(residual(a, resolved)),
                Box::new(residual(b, resolved)),
            ),
        },
        Expr::Or(a, b) => match (resolved.eval(a), resolved.eval(b)) {
            (Some(false), _) => residual(b, resolved),
            (_, Some(false)) => residual(a, resolved),
            _ => Expr::Or(
                Box::new(residual(a, resolved)),
                Box::new(residual(b, resolved)),
            ),
        },
        Expr::Not(a) => Expr::Not(Box::new(residual(a, resolved))),
        _ => e.clone(),
    }
}

/// A condition still open, as "only if" shows it.
fn open_condition(applies: &Applies, resolved: &Resolved) -> Option<String> {
    match applies {
        Applies::Yes => None,
        Applies::OnlyIf(exprs) => Some(
            exprs
                .iter()
                .map(|e| residual(e, resolved))
                .map(|e| match e {
                    Expr::Or(..) if exprs.len() > 1 => format!("({e})"),
                    _ => e.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" and "),
        ),
    }
}

/// A command line as it would be typed: arguments with spaces or quotes are quoted.
fn command_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\t', '"']) {
                format!("\"{}\"", a.replace('"', "\\\""))
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Walk<'p, 'r> {
    plan: &'p Plan<'r>,
    as_run: Option<&'p AsRun>,
}

impl Walk<'_, '_> {
    fn show(&self, t: &Template) -> String {
        self.plan.resolved.show(t)
    }

    fn tick(&self, key: &str) -> Option<Tick> {
        self.as_run.and_then(|r| r.ticks.get(key)).cloned()
    }

    fn role(&self, id: &str) -> RoleDoc {
        let rb = self.plan.runbook;
        RoleDoc {
            id: id.to_string(),
            title: rb.role(id).map(|r| r.title.clone()).unwrap_or_default(),
            hosts: self.plan.hosts.get(id).cloned().unwrap_or_default(),
            description: rb
                .role(id)
                .and_then(|r| r.description.as_deref())
                .map(|d| paragraphs(d).join(" ")),
        }
    }

    fn references(refs: &[Reference]) -> Vec<String> {
        refs.iter().map(Reference::render).collect()
    }

    fn action(&self, step: &Step) -> Option<ActionDoc> {
        let action = step.automated()?;
        let optional = matches!(step.action, Action::Manual);
        let lead = if optional {
            format!("Can be automated ({})", action.type_name())
        } else if step.parallel > 1 {
            format!(
                "Automated ({}, on up to {} hosts at once)",
                action.type_name(),
                step.parallel
            )
        } else {
            format!("Automated ({})", action.type_name())
        };
        let mut details = Vec::new();
        let mut content = None;
        let summary = match action {
            Action::Manual => return None,
            Action::Command(c) => {
                let args: Vec<String> = c.args.iter().map(|a| self.show(a)).collect();
                if let Some(cwd) = &c.cwd {
                    details.push(vec![text("in the folder "), code(self.show(cwd))]);
                }
                if c.shell {
                    details.push(vec![text("through the platform shell (cmd /C on Windows)")]);
                }
                if c.success_codes != [0] {
                    let codes: Vec<String> = c.success_codes.iter().map(i32::to_string).collect();
                    details.push(vec![text(format!(
                        "exit codes that mean success: {}",
                        codes.join(", ")
                    ))]);
                }
                if c.timeout_secs != 600 {
                    details.push(vec![text(format!(
                        "stopped after {} seconds",
                        c.timeout_secs
                    ))]);
                }
                vec![
                    text("runs "),
                    code(command_line(&self.show(&c.program), &args)),
                ]
            }
            Action::Copy(c) => {
                let manifest = c.manifest.as_ref().map(|m| m.value.as_str());
                for f in &c.files {
                    let mut line = vec![code(&f.value)];
                    line.extend(table_size(
                        &self.plan.runbook.table_rows(manifest, &f.value),
                    ));
                    details.push(line);
                }
                let n = c.files.len();
                let mut s = vec![
                    text(format!(
                        "copies {n} file{} from ",
                        if n == 1 { "" } else { "s" }
                    )),
                    code(self.show(&c.from)),
                    text(" to "),
                    code(self.show(&c.to)),
                ];
                s.push(text(if c.backup {
                    ", backing up each file it replaces, and checks each copy's size"
                } else {
                    " without backing up the files it replaces, and checks each copy's size"
                }));
                match manifest {
                    Some(id) => {
                        s.push(text(" against manifest "));
                        s.push(code(id));
                        s.push(text(":"));
                    }
                    None => s.push(text(" against the manifests:")),
                }
                s
            }
            Action::WriteFile(w) => {
                content = Some(self.show(&w.content));
                vec![
                    text("writes "),
                    code(&w.file),
                    text(" in "),
                    code(self.show(&w.dir)),
                    text(if w.backup {
                        ", backing up the file it replaces, with this content:"
                    } else {
                        " with this content:"
                    }),
                ]
            }
            Action::CreateFolder(f) => vec![
                text("creates the empty folder "),
                code(self.show(&f.path)),
                text(", with the folders above it that are missing, unless it is already there"),
            ],
            Action::Check(c) => {
                details.extend(c.checks.iter().map(|a| self.assertion(a)));
                match c.retry {
                    None => vec![text("checks, without changing anything, that:")],
                    Some(r) => vec![text(format!(
                        "waits up to {} (looking every {}), without changing anything, until:",
                        crate::runbook::model::written_duration(r.for_secs),
                        crate::runbook::model::written_duration(r.every_secs)
                    ))],
                }
            }
            Action::Restart(r) => {
                details.extend(r.checks.iter().map(|a| self.assertion(a)));
                let args: Vec<String> = r.args.iter().map(|a| self.show(a)).collect();
                let mut s = vec![
                    text("restarts the host with "),
                    code(command_line(&self.show(&r.program), &args)),
                    text(format!(
                        ", then waits (at most {} seconds) until it answers over SSH again",
                        thousands(r.wait_secs)
                    )),
                ];
                s.push(text(if r.checks.is_empty() {
                    ""
                } else {
                    ", and checks that:"
                }));
                s
            }
        };
        Some(ActionDoc {
            lead,
            summary,
            details,
            content,
        })
    }

    /// One assertion of a `check` (or of a restart's checks) in words.
    fn assertion(&self, a: &Assertion) -> Vec<Span> {
        match a {
            Assertion::Exists { path, size } => {
                let mut line = vec![code(self.show(path)), text(" exists")];
                if let Some(size) = size {
                    line.push(text(format!(" and is {} bytes", thousands(*size))));
                }
                line
            }
            Assertion::Writable { dir } => vec![
                code(self.show(dir)),
                text(" is a folder in which a file can be created"),
            ],
            Assertion::Command { program, args } => {
                let args: Vec<String> = args.iter().map(|a| self.show(a)).collect();
                vec![
                    code(command_line(&self.show(program), &args)),
                    text(" exits with code 0"),
                ]
            }
        }
    }

    /// The parts of a step that do not depend on where it sits: no number, no boxes.
    fn step(&self, step: &Step, number: String, applies: &Applies) -> StepDoc {
        let rb = self.plan.runbook;
        StepDoc {
            number,
            id: step.id.clone(),
            title: self.show(&step.title),
            article_step: step.article_step.clone(),
            only_if: open_condition(applies, &self.plan.resolved),
            on: step.on.as_ref().map(|on| self.role(&on.value)),
            instructions: step.instructions.as_ref().map(|t| self.show(t)),
            action: self.action(step),
            notes: step.notes.iter().map(|n| self.show(n)).collect(),
            references: Self::references(&step.references),
            known_issues: step
                .known_issues
                .iter()
                .map(|k| {
                    let title = rb
                        .known_issue(&k.value)
                        .map(|ki| ki.title.clone())
                        .unwrap_or_default();
                    (k.value.clone(), title)
                })
                .collect(),
            groups: Vec::new(),
        }
    }

    fn groups(&self, step: &Step, instances: std::ops::Range<usize>) -> Vec<BoxGroup> {
        instances
            .map(|i| {
                let instance = &self.plan.instances[i];
                let resolved = self.plan.resolved_for(instance);
                // An item whose `when` is false on this host is not part of the instance; one
                // still open is printed "only if …", as a step is.
                let items: Vec<Tickbox> = step
                    .items
                    .iter()
                    .filter_map(|item| {
                        let applies = crate::plan::item_applies(item, &resolved)?;
                        let key = instance.item_key(&item.id);
                        let mut label = self.show(&item.text);
                        if let Some(only_if) = open_condition(&applies, &resolved) {
                            label.push_str(&format!(" (only if {only_if})"));
                        }
                        Some(Tickbox {
                            tick: self.tick(&key),
                            key,
                            label,
                            note: item.note.clone(),
                        })
                    })
                    .collect();
                let label = match (instance.host(), items.is_empty()) {
                    (Some(host), true) => host.to_string(),
                    (Some(host), false) => format!("Done on {host}"),
                    (None, true) => "Done".to_string(),
                    (None, false) => "Done: every item above".to_string(),
                };
                BoxGroup {
                    host: instance.host().map(str::to_string),
                    items,
                    done: Tickbox {
                        key: instance.key.clone(),
                        label,
                        note: None,
                        tick: self.tick(&instance.key),
                    },
                }
            })
            .collect()
    }
}

/// What a copy checks a file's size against, for the line after its name.
fn table_size(rows: &crate::runbook::TableRows) -> Vec<Span> {
    use crate::runbook::TableRows;
    let size = |r: &crate::runbook::ManifestFile| r.size.map(thousands);
    match rows {
        TableRows::Named(r) => size(r)
            .map(|s| vec![text(format!(" ({s} bytes)"))])
            .unwrap_or_default(),
        TableRows::CutShort(r) => {
            let mut out = vec![text(" (")];
            if let Some(s) = size(r) {
                out.push(text(format!("{s} bytes; ")));
            }
            out.push(text("the file table cuts its name short as "));
            out.push(code(&r.name));
            out.push(text(")"));
            out
        }
        TableRows::Ambiguous(rows) => {
            let sizes: Vec<String> = rows.iter().filter_map(|r| size(r)).collect();
            vec![
                text(format!(
                    " ({} bytes: the file table cuts the names of {} rows short as ",
                    sizes.join(" or "),
                    rows.len()
                )),
                code(&rows[0].name),
                text(", so the file must have the size of one of them)"),
            ]
        }
        TableRows::Unlisted => vec![text(
            " (not in the file table: checked against its source only)",
        )],
    }
}

/// Text written with hard line breaks, as paragraphs and list entries: a line that starts with
/// `- ` starts an entry, an indented line continues the one before, and any other line continues
/// a paragraph unless it follows a list entry or a line ending in `:`.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let continues = match out.last() {
            None => false,
            Some(_) if trimmed.starts_with("- ") => false,
            Some(_) if line.starts_with(char::is_whitespace) => true,
            Some(last) => !last.starts_with("- ") && !last.ends_with(':'),
        };
        match out.last_mut() {
            Some(last) if continues => {
                last.push(' ');
                last.push_str(trimmed);
            }
            _ => out.push(trimmed.to_string()),
        }
    }
    out
}

impl Doc {
    /// Walks the plan once, in order; ticks the boxes that `as_run` records.
    pub fn build(plan: &Plan, as_run: Option<&AsRun>, record: &super::Record) -> Doc {
        let walk = Walk { plan, as_run };
        let rb = plan.runbook;

        let mut facts: Vec<(&'static str, Vec<String>)> = vec![
            ("Article", vec![rb.article.clone()]),
            ("Product", vec![rb.product.clone()]),
        ];
        if let Some(released) = &rb.released {
            facts.push(("Released", vec![released.clone()]));
        }
        if !rb.applies_to.is_empty() {
            facts.push(("Applies to", rb.applies_to.clone()));
        }
        if !rb.replaces.is_empty() {
            facts.push(("Replaces", vec![rb.replaces.join(", ")]));
        }
        if let Some(restart) = &rb.restart {
            facts.push(("Restart", vec![restart.trim_end().to_string()]));
        }
        if let Some(summary) = &rb.summary {
            facts.push(("Summary", paragraphs(summary)));
        }
        if !rb.references.is_empty() {
            facts.push(("References", Walk::references(&rb.references)));
        }
        if let Some(journal) = as_run.and_then(|r| r.journal.clone()) {
            facts.push(("Journal", vec![journal]));
        }
        // How the article was read where it is ambiguous: part of the record, so printed, but in
        // an appendix (see `appendix` below), out of the operator's way.

        let parameters = rb
            .parameters
            .iter()
            .map(|p| ParamDoc {
                name: p.name.clone(),
                prompt: p.prompt.clone(),
                value: plan.resolved.get_shown(&p.name).map(|v| v.render()),
            })
            .collect();
        let roles = rb.roles.iter().map(|r| walk.role(&r.id)).collect();

        let prerequisites = rb
            .prerequisites
            .iter()
            .enumerate()
            .map(|(i, p)| PrereqDoc {
                number: i + 1,
                text: walk.show(&p.text),
                note: p.note.clone(),
                references: Walk::references(&p.references),
                tick: as_run.and_then(|r| r.prerequisites.clone()),
            })
            .collect();

        let known_issues = rb
            .known_issues
            .iter()
            .map(|ki| {
                // The planned steps that name it: from the plan, since the phases are made one
                // at a time as they are written.
                let naming: Vec<&crate::plan::PlannedStep> = plan
                    .phases
                    .iter()
                    .flat_map(|p| &p.steps)
                    .filter(|s| s.step.known_issues.iter().any(|k| k.value == ki.id))
                    .collect();
                let seen_at = naming.iter().map(|s| s.number.clone()).collect();
                let mut steps = Vec::new();
                for step in &ki.steps {
                    let applies = match step.when.as_ref() {
                        None => Applies::Yes,
                        Some(w) => match plan.resolved.eval(&w.value) {
                            Some(true) => Applies::Yes,
                            Some(false) => continue,
                            None => Applies::OnlyIf(vec![w.value.clone()]),
                        },
                    };
                    let mut doc = walk.step(step, format!("{}.", steps.len() + 1), &applies);
                    // A run does a workaround step where the issue occurred, whatever role it
                    // names; `runs_on` says so once for all of them.
                    doc.on = None;
                    steps.push(doc);
                }
                let at: Vec<String> = naming
                    .iter()
                    .flat_map(|s| {
                        s.instances
                            .clone()
                            .filter_map(|i| plan.instances[i].host())
                            .map(move |h| format!("{h} at step {}", s.number))
                    })
                    .collect();
                let runs_on = if at.is_empty() {
                    "where the issue occurred".to_string()
                } else {
                    format!("on the server where the issue occurred ({})", at.join(", "))
                };
                IssueDoc {
                    id: ki.id.clone(),
                    title: ki.title.clone(),
                    seen_at,
                    applies_to: ki.applies_to.iter().map(|r| walk.role(&r.value)).collect(),
                    symptom: ki.symptom.trim_end().to_string(),
                    cause: ki.cause.as_ref().map(|c| c.trim_end().to_string()),
                    workaround: ki
                        .workaround
                        .as_ref()
                        .map(|w| walk.show(w).trim_end().to_string()),
                    runs_on,
                    steps,
                    notes: ki.notes.clone(),
                    references: Walk::references(&ki.references),
                }
            })
            .collect();

        let manifests = rb
            .manifests
            .iter()
            .map(|m| ManifestDoc {
                id: m.id.clone(),
                title: m.title.clone(),
                platform: m.platform.clone(),
                note: m.note.clone(),
                files: m
                    .files
                    .iter()
                    .map(|f| FileRow {
                        name: f.name.clone(),
                        version: f.version.clone(),
                        size: f.size.map(thousands),
                        date: f.date.clone(),
                        time: f.time.clone(),
                        platform: f.platform.clone().or_else(|| m.platform.clone()),
                    })
                    .collect(),
            })
            .collect();

        Doc {
            runbook_id: rb.id.clone(),
            title: rb.title.clone(),
            facts,
            as_run: as_run.map(|r| r.run.clone()),
            parameters,
            roles,
            open_conditions: !plan.is_decided(),
            prerequisites,
            known_issues,
            manifests,
            article: rb.article.clone(),
            hash: record.hash.clone(),
            change: record.change.clone(),
            run_summary: as_run.map(|r| r.summary.clone()).unwrap_or_default(),
            backout: rb.backout.clone(),
            appendix: rb.notes.iter().flat_map(|n| paragraphs(n)).collect(),
        }
    }

    /// The phases of the plan, each made when it is asked for: a renderer writes one before
    /// the next is made, so a checklist of millions of boxes is never held whole.
    pub fn phases<'a>(
        plan: &'a Plan,
        as_run: Option<&'a AsRun>,
    ) -> impl Iterator<Item = PhaseDoc> + 'a {
        plan.phases.iter().enumerate().map(move |(index, pp)| {
            let walk = Walk { plan, as_run };
            PhaseDoc {
                number: pp.number,
                id: pp.phase.id.clone(),
                title: pp.phase.title.clone(),
                only_if: open_condition(&pp.applies, &plan.resolved),
                host_order: crate::fleet::describe(plan, index)
                    .map(|d| format!("Do every step of this phase {d}.")),
                notes: pp.phase.notes.clone(),
                steps: pp
                    .steps
                    .iter()
                    .map(|ps| StepDoc {
                        groups: walk.groups(ps.step, ps.instances.clone()),
                        ..walk.step(ps.step, ps.number.clone(), &ps.applies)
                    })
                    .collect(),
            }
        })
    }

    /// The short form of the content hash printed on every page (the first 16 hex digits).
    pub fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(16)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (412672, "412,672"),
            (1423248, "1,423,248"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn open_conditions_keep_only_what_is_unknown() {
        use crate::plan::Bindings;
        use crate::runbook::{Source, Value, expr, load};
        let source = Source {
            name: "t.yaml".into(),
            text: "id: t\ntitle: T\narticle: KB1\nproduct: P\nparameters:\n  \
                   - { name: a, type: bool, prompt: A? }\n  \
                   - { name: b, type: bool, prompt: B? }\n  \
                   - { name: c, type: bool, prompt: C? }\n\
                   phases:\n  - { id: p, title: P, steps: [{ id: s, title: S }] }\n"
                .into(),
        };
        let rb = load(&source).runbook.unwrap();
        let mut bindings = Bindings::default();
        bindings.values.insert("a".into(), Value::Bool(false));
        let resolved = Resolved::new(&rb, &bindings);
        for (condition, shown) in [
            ("not a and b", "b"),
            ("a or b", "b"),
            ("not a and (b or c)", "b or c"),
            ("(a or b) and not c", "b and not c"),
            ("not (a or b)", "not b"),
            ("b and c", "b and c"),
        ] {
            let e = expr::parse(condition).unwrap();
            let applies = Applies::OnlyIf(vec![e]);
            assert_eq!(
                open_condition(&applies, &resolved).as_deref(),
                Some(shown),
                "{condition}"
            );
        }
    }

    #[test]
    fn command_lines_quote_what_needs_it() {
        let args = vec!["/p".to_string(), r"C:\Program Files\x.msp".to_string()];
        assert_eq!(
            command_line("msiexec.exe", &args),
            r#"msiexec.exe /p "C:\Program Files\x.msp""#
        );
    }
}
