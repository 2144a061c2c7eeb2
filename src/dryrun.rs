//! The dry-run checker: a plan in, a [`Report`] out — the plan shown, every finding (about the
//! runbook as a whole, then per step instance, grouped by phase), and a summary.
//!
//! It serves `stepwise check` and the start of every run. It is read-only: it never runs a
//! command, never writes a file, never creates a folder, and never takes a run's lock; all the
//! looking is done by [`crate::actions::check`], the same code that executes the actions.
//! Rendering (text, JSON) is here too, from the report alone.

use std::collections::BTreeSet;
use std::rc::Rc;

use serde::Serialize;

use crate::actions::{self, ActionView, CheckEnv, Finding, Severity};
use crate::plan::{Applies, Bindings, Plan};
use crate::runbook::expr::Expr;
use crate::runbook::{Action, ParamType};
use crate::target::{Hosts, Reach, TargetKind};

/// How the check is run.
#[derive(Clone, Default)]
pub struct CheckOptions {
    /// Whether missing values will still be asked (the start of an interactive run). When
    /// `false` (`stepwise check`, a run with an answers file), a parameter that a step needs and
    /// that has no value is blocking.
    pub interactive: bool,
    pub env: CheckEnv,
    /// The connections to the plan's SSH hosts ([`Hosts::connect_all`] before the check): an
    /// action on such a host is checked on it, and a host that could not be reached is
    /// blocking.
    pub hosts: Option<std::sync::Arc<Hosts>>,
}

/// What a dry-run check says, made as it is written.
///
/// [`check_plan`] makes what is small (the runbook, its parameters, roles and phases, the
/// findings about the runbook as a whole); the plan's entries and every instance's findings are
/// made as they are read ([`Report::entries`], [`Report::findings`]), a phase at a time, so a
/// plan of millions of instances is checked and written without holding either list.
pub struct Report<'p> {
    pub runbook: RunbookInfo,
    pub parameters: Vec<ParameterLine>,
    pub roles: Vec<RoleLine>,
    pub phases: Vec<PhaseLine>,
    /// The findings about the runbook as a whole: values, hosts, conditions, the package.
    pub runbook_findings: Vec<Finding>,
    plan: &'p Plan<'p>,
    opts: &'p CheckOptions,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunbookInfo {
    pub id: String,
    pub title: String,
    pub article: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParameterLine {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The value as shown (a secret as `********`); `None` when it has none.
    pub value: Option<String>,
    /// `given`, `default`, or `none`.
    pub source: &'static str,
    /// Whether a step of this plan (or an open condition) uses it.
    pub needed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleLine {
    pub id: String,
    pub title: String,
    pub hosts: Vec<String>,
    /// `given` (an inventory) or `default` (the runbook's).
    pub source: &'static str,
    /// Whether a step of this plan runs on it.
    pub used: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseLine {
    pub number: usize,
    pub id: String,
    pub title: String,
    /// The phase's condition while it is still open.
    pub only_if: Option<String>,
    /// How a host-major phase walks its hosts (`for_each_host`), in words; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_order: Option<String>,
}

/// One step instance of the plan. In JSON, one object with the instance's fields and its step's
/// (`ordinal`, `number`, `key`, `phase`, `step`, `host`, `title`, `only_if`, `items`, `action`,
/// `automation`).
#[derive(Debug, Clone)]
pub struct PlanEntry<'p> {
    pub ordinal: usize,
    pub key: &'p str,
    pub host: Option<&'p str>,
    /// Where its actions run: `local`, `ssh ADDRESS:PORT`; `None` when its host has no target.
    pub target: Option<String>,
    /// The title, action and automation as they read on this instance's host (`{{ host }}` and
    /// the host's variables filled in).
    pub title: String,
    pub action: ActionView,
    /// A manual step's optional automation.
    pub automation: Option<ActionView>,
    /// What every instance of the step shares.
    pub step: Rc<StepEntry<'p>>,
}

/// What the instances of one step share.
#[derive(Debug, Clone)]
pub struct StepEntry<'p> {
    /// `PHASE.STEP`, as in the checklist.
    pub number: &'p str,
    pub phase: &'p str,
    pub id: &'p str,
    /// The step's condition while it is still open.
    pub only_if: Option<String>,
    pub items: usize,
}

impl Serialize for PlanEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let step = &*self.step;
        let mut s = serializer.serialize_struct("PlanEntry", 12)?;
        s.serialize_field("ordinal", &self.ordinal)?;
        s.serialize_field("number", step.number)?;
        s.serialize_field("key", self.key)?;
        s.serialize_field("phase", step.phase)?;
        s.serialize_field("step", step.id)?;
        s.serialize_field("host", &self.host)?;
        s.serialize_field("target", &self.target)?;
        s.serialize_field("title", &self.title)?;
        s.serialize_field("only_if", &step.only_if)?;
        s.serialize_field("items", &step.items)?;
        s.serialize_field("action", &self.action)?;
        s.serialize_field("automation", &self.automation)?;
        s.end()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportFinding<'p> {
    /// The id of the phase of the instance; `None` for a finding about the whole runbook.
    pub phase: Option<&'p str>,
    #[serde(flatten)]
    pub finding: Finding,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warnings: usize,
    pub blocking: usize,
}

impl Summary {
    /// `N ok, N warnings, N blocking`.
    pub fn line(&self) -> String {
        format!(
            "{} ok, {} warning{}, {} blocking",
            self.ok,
            self.warnings,
            if self.warnings == 1 { "" } else { "s" },
            self.blocking
        )
    }
}

impl Summary {
    fn count(&mut self, f: &Finding) {
        match f.severity {
            Severity::Ok => self.ok += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Blocking => self.blocking += 1,
        }
    }

    pub fn has_blocking(&self) -> bool {
        self.blocking > 0
    }
}

/// What the start of a run keeps of a check: the counts, and the findings that are not ok
/// (what it shows, and what an override journals).
#[derive(Debug, Clone)]
pub struct Problems<'p> {
    pub findings: Vec<ReportFinding<'p>>,
    pub summary: Summary,
}

impl Problems<'_> {
    pub fn has_blocking(&self) -> bool {
        self.summary.has_blocking()
    }
}

/// The extracted package against the article's file table: for every folder a copy of the plan
/// takes files from, each file of its manifest (present, with its size), and the files in the
/// folder that the table does not list. Steps check only the files they copy; this checks the
/// whole download, so a damaged package shows the day before.
fn package_findings(plan: &Plan) -> Vec<Finding> {
    use crate::actions::fsops::{Listing, Lookup, local_path};
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for planned in plan.phases.iter().flat_map(|p| p.steps.iter()) {
        let Some(Action::Copy(copy)) = planned.step.automated() else {
            continue;
        };
        if !plan.resolved.is_resolved(&copy.from) {
            continue;
        }
        let shown = plan.resolved.show(&copy.from);
        let manifest = copy.manifest.as_ref().map(|m| m.value.as_str());
        let key = format!("{shown}\u{0}{}", manifest.unwrap_or(""));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Ok(dir) = local_path(&shown) else {
            continue;
        };
        // A missing folder is reported by the copy steps themselves.
        let Ok(listing) = Listing::read(&dir) else {
            continue;
        };
        let files: Vec<&crate::runbook::ManifestFile> = plan
            .runbook
            .manifests
            .iter()
            .filter(|m| manifest.is_none_or(|id| m.id == id))
            .flat_map(|m| m.files.iter())
            .collect();
        if files.is_empty() {
            continue;
        }
        let checked = format!("package {shown} against the file table");
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        let mut matched = Vec::new();
        for f in &files {
            // The article's table may cut names short (`Exchange2007oabresourcemana`): such a
            // row stands for any file that starts with it and has its size.
            if f.is_cut_short() {
                let hit = listing.names().iter().find(|n| {
                    f.may_name(n)
                        && !matched.contains(&n.to_lowercase())
                        && std::fs::metadata(dir.join(n.as_str()))
                            .is_ok_and(|m| f.size.is_none_or(|s| m.len() == s))
                });
                if let Some(n) = hit {
                    matched.push(n.to_lowercase());
                    continue;
                }
                // No file of its size: one that it can stand for has the wrong size.
                let candidates: Vec<&String> = listing
                    .names()
                    .iter()
                    .filter(|n| f.may_name(n) && !matched.contains(&n.to_lowercase()))
                    .collect();
                let size = f.size.unwrap_or_default();
                match candidates.as_slice() {
                    [] => missing.push(format!("{} (a name cut short in the table)", f.name)),
                    [one] => {
                        let found =
                            std::fs::metadata(dir.join(one.as_str())).map_or(0, |m| m.len());
                        wrong.push(format!(
                            "{one} has {found} bytes, not {size} (the table cuts its name short as {})",
                            f.name
                        ));
                        matched.push(one.to_lowercase());
                    }
                    many => wrong.push(format!(
                        "none of {} has {size} bytes (the table cuts a name short as {})",
                        many.iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        f.name
                    )),
                }
                continue;
            }
            match listing.find(&f.name) {
                Lookup::Found(entry) if entry.is_file() => {
                    matched.push(entry.name.to_lowercase());
                    if let Some(size) = f.size
                        && entry.size() != size
                    {
                        wrong.push(format!(
                            "{} has {} bytes, not {size}",
                            entry.name,
                            entry.size()
                        ));
                    }
                }
                Lookup::Ambiguous(names) => {
                    matched.extend(names.iter().map(|n| n.to_lowercase()));
                    wrong.push(format!(
                        "{} matches several files: {}",
                        f.name,
                        names.join(", ")
                    ));
                }
                Lookup::Found(entry) => wrong.push(format!(
                    "{} is {}, not a file",
                    entry.name,
                    crate::actions::fsops::kind(&entry.meta)
                )),
                Lookup::Missing => missing.push(f.name.clone()),
            }
        }
        let extra: Vec<&String> = listing
            .names()
            .iter()
            .filter(|n| !matched.contains(&n.to_lowercase()))
            .collect();
        let present = files.len() - missing.len();
        if wrong.is_empty() && missing.is_empty() {
            out.push(Finding::new(
                Severity::Ok,
                None,
                checked.clone(),
                format!(
                    "all {} files present with the sizes of the table",
                    files.len()
                ),
            ));
        }
        if !wrong.is_empty() {
            out.push(
                Finding::new(Severity::Blocking, None, checked.clone(), wrong.join("; "))
                    .to_do("Download and extract the package again"),
            );
        }
        if !missing.is_empty() {
            // A file no step of this plan copies is worth knowing about, not a reason to stop:
            // the copy steps block on the files they need.
            out.push(
                Finding::new(
                    Severity::Warning,
                    None,
                    checked.clone(),
                    format!(
                        "{present} of {} files present; missing: {}",
                        files.len(),
                        missing.join(", ")
                    ),
                )
                .to_do("Check that the whole package was extracted"),
            );
        }
        if !extra.is_empty() {
            out.push(Finding::new(
                Severity::Ok,
                None,
                checked,
                format!(
                    "also holds files the table does not list: {}",
                    extra
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    out
}

/// Checks a whole plan without changing anything.
///
/// What is per instance (the plan's entries, each action's check) is left to the report's
/// readers, which make it as they go: see [`Report`].
pub fn check_plan<'p>(
    plan: &'p Plan<'p>,
    bindings: &Bindings,
    opts: &'p CheckOptions,
) -> Report<'p> {
    let needed = needed_params(plan);
    let mut findings: Vec<Finding> = Vec::new();
    let mut push = |_: Option<&str>, f: Finding| findings.push(f);
    let rb = plan.runbook;

    let mut parameters = Vec::new();
    for p in &rb.parameters {
        let value = plan.resolved.get_shown(&p.name).map(|v| v.render());
        let source = if bindings.values.contains_key(&p.name) {
            "given"
        } else if value.is_some() {
            "default"
        } else {
            "none"
        };
        let is_needed = needed.contains(p.name.as_str());
        let checked = format!("parameter {}", p.name);
        let f = match (&value, is_needed, opts.interactive) {
            (Some(v), _, _) => Finding::new(
                Severity::Ok,
                None,
                checked,
                if source == "given" {
                    format!("{v} (given)")
                } else {
                    format!("{v} (the default)")
                },
            ),
            (None, false, _) => Finding::new(
                Severity::Ok,
                None,
                checked,
                "no value; not needed: no step that applies uses it",
            ),
            (None, true, true) => Finding::new(
                Severity::Ok,
                None,
                checked,
                "no value yet; asked at the start of the run",
            ),
            (None, true, false) => Finding::new(
                Severity::Blocking,
                None,
                checked,
                "has no value and no default",
            )
            .to_do(format!(
                "Answer \"{}\" with --set {}={}",
                p.prompt,
                p.name,
                value_hint(p.kind, &p.choices)
            )),
        };
        push(None, f);
        parameters.push(ParameterLine {
            name: p.name.clone(),
            kind: p.kind.name(),
            value,
            source,
            needed: is_needed,
        });
    }

    let used_roles: BTreeSet<&str> = plan
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .filter_map(|s| s.step.on.as_ref().map(|on| on.value.as_str()))
        .collect();
    let mut roles = Vec::new();
    for role in &rb.roles {
        let hosts = plan.hosts.get(&role.id).cloned().unwrap_or_default();
        let source = if bindings.hosts.contains_key(&role.id) {
            "given"
        } else {
            "default"
        };
        let used = used_roles.contains(role.id.as_str());
        if used {
            let checked = format!("hosts of role {}", role.id);
            let f = if !hosts.is_empty() {
                let how = if source == "given" {
                    "given"
                } else {
                    "the default"
                };
                Finding::new(
                    Severity::Ok,
                    None,
                    checked,
                    format!("{} ({how})", hosts.join(", ")),
                )
            } else if opts.interactive {
                Finding::new(
                    Severity::Ok,
                    None,
                    checked,
                    "none yet; asked at the start of the run",
                )
            } else {
                Finding::new(
                    Severity::Blocking,
                    None,
                    checked,
                    "none: the runbook names no default hosts and none were given",
                )
                .to_do(format!(
                    "List the {} in an inventory file (`{}: [HOST1, HOST2]`) and pass it with --inventory FILE",
                    role.title, role.id
                ))
            };
            push(None, f);
        }
        roles.push(RoleLine {
            id: role.id.clone(),
            title: role.title.clone(),
            hosts,
            source,
            used,
        });
    }

    // The planned phases (and steps) are the runbook's in order, less those left out: walked
    // side by side, each in one pass.
    let mut planned_phases = plan.phases.iter().peekable();
    for phase in &rb.phases {
        if let Some(when) = &phase.when {
            push(
                None,
                condition_finding(
                    plan,
                    &format!("phase {}", phase.id),
                    "phase",
                    &when.value,
                    opts,
                ),
            );
        }
        let Some(planned) = planned_phases.next_if(|p| std::ptr::eq(p.phase, phase)) else {
            continue;
        };
        for step in &planned.steps {
            if let Some(when) = &step.step.when {
                push(
                    None,
                    condition_finding(
                        plan,
                        &format!("step {}", step.step.id),
                        "step",
                        &when.value,
                        opts,
                    ),
                );
            }
        }
        // Steps left out by their own condition.
        let mut planned_steps = planned.steps.iter().peekable();
        for step in &phase.steps {
            let is_planned = planned_steps
                .next_if(|s| std::ptr::eq(s.step, step))
                .is_some();
            if let Some(when) = &step.when
                && !is_planned
            {
                push(
                    None,
                    condition_finding(
                        plan,
                        &format!("step {}", step.id),
                        "step",
                        &when.value,
                        opts,
                    ),
                );
            }
        }
    }

    for f in package_findings(plan) {
        push(None, f);
    }

    let phases = plan
        .phases
        .iter()
        .enumerate()
        .map(|(index, planned)| PhaseLine {
            number: planned.number,
            id: planned.phase.id.clone(),
            title: planned.phase.title.clone(),
            only_if: only_if(&planned.applies),
            host_order: crate::fleet::describe(plan, index),
        })
        .collect();
    Report {
        runbook: RunbookInfo {
            id: rb.id.clone(),
            title: rb.title.clone(),
            article: rb.article.clone(),
        },
        parameters,
        roles,
        phases,
        runbook_findings: findings,
        plan,
        opts,
    }
}

impl<'p> Report<'p> {
    /// The entries of the `phase`-th phase of the plan, made as they are read, in the walk's
    /// order (a host-major phase batch by batch).
    pub fn entries(&self, phase: usize) -> impl Iterator<Item = PlanEntry<'p>> + 'p {
        let plan = self.plan;
        let planned = &plan.phases[phase];
        let steps: Vec<Rc<StepEntry<'p>>> = planned
            .steps
            .iter()
            .map(|step| {
                Rc::new(StepEntry {
                    number: &step.number,
                    phase: &planned.phase.id,
                    id: &step.step.id,
                    only_if: only_if(&step.applies),
                    // Items whose `when` is false for the run's values are not part of the step.
                    items: step
                        .step
                        .items
                        .iter()
                        .filter(|i| crate::plan::item_applies(i, &plan.resolved).is_some())
                        .count(),
                })
            })
            .collect();
        crate::fleet::walk_phase(plan, phase).map(move |(index, _)| {
            let instance = &plan.instances[index];
            let step = plan.step_of(instance).step;
            let automation = match &step.action {
                Action::Manual => step.automation.as_ref(),
                _ => None,
            };
            let scoped = plan.for_instance(instance);
            PlanEntry {
                ordinal: instance.ordinal(),
                key: &instance.key,
                host: instance.host(),
                target: plan.reach(instance).short(),
                title: scoped.resolved.show(&step.title),
                action: actions::describe(&scoped, &step.action),
                automation: automation.map(|a| actions::describe(&scoped, a)),
                step: Rc::clone(&steps[instance.step()]),
            }
        })
    }

    /// The findings of the `phase`-th phase's instances, each action checked as it is read,
    /// in plan order.
    pub fn phase_findings(&self, phase: usize) -> impl Iterator<Item = ReportFinding<'p>> + 'p {
        let (plan, opts) = (self.plan, self.opts);
        let planned = &plan.phases[phase];
        let phase_id = Some(planned.phase.id.as_str());
        planned.steps.iter().flat_map(move |step| {
            let action = &step.step.action;
            let automation = match action {
                Action::Manual => step.step.automation.as_ref(),
                _ => None,
            };
            step.instances.clone().flat_map(move |index| {
                let instance = &plan.instances[index];
                let reach = plan.reach(instance);
                let scoped = plan.for_instance(instance);
                let mut found = instance_findings(&scoped, instance, &reach, action, opts);
                if let Some(auto) = automation {
                    let more = instance_findings(&scoped, instance, &reach, auto, opts);
                    found.extend(more.into_iter().map(optional));
                }
                found.into_iter().map(move |finding| ReportFinding {
                    phase: phase_id,
                    finding,
                })
            })
        })
    }

    /// Every finding in order, made as it is read: about the runbook as a whole first, then
    /// per instance, phase by phase in plan order.
    pub fn findings(&self) -> impl Iterator<Item = ReportFinding<'p>> + '_ {
        let wide = self.runbook_findings.iter().map(|f| ReportFinding {
            phase: None,
            finding: f.clone(),
        });
        wide.chain((0..self.phases.len()).flat_map(|p| self.phase_findings(p)))
    }

    /// Runs every check and keeps only what the start of a run needs: the counts and the
    /// findings that are not ok.
    pub fn problems(&self) -> Problems<'p> {
        let mut summary = Summary::default();
        let mut findings = Vec::new();
        for f in self.findings() {
            summary.count(&f.finding);
            if f.finding.severity != Severity::Ok {
                findings.push(f);
            }
        }
        Problems { findings, summary }
    }
}

/// The findings of one action of one instance, checked on the instance's target. An automated
/// action whose host cannot be reached is blocking, and nothing is looked at in its place.
fn instance_findings(
    plan: &Plan,
    instance: &crate::plan::Instance,
    reach: &Reach,
    action: &Action,
    opts: &CheckOptions,
) -> Vec<Finding> {
    match (reach, action) {
        (Reach::Unreachable { host }, a) if !matches!(a, Action::Manual) => {
            vec![Finding::blocking(
                instance,
                format!("host {host}"),
                Reach::unreachable_sentence(host),
                format!(
                    "Describe {host} under `hosts:` in the inventory (`target: ssh` with its address, or `target: local` when it is this machine), and pass it with --inventory FILE"
                ),
            )]
        }
        (Reach::Host(t), a) if t.kind == TargetKind::Ssh && !matches!(a, Action::Manual) => {
            let result = opts.hosts.as_ref().and_then(|h| h.result(&t.host));
            match result {
                Some(Ok(session)) => {
                    actions::check_on(plan, instance, action, &opts.env, Some(&session))
                }
                Some(Err(e)) => vec![Finding::blocking(
                    instance,
                    format!("host {} over SSH", t.host),
                    e.to_string(),
                    format!(
                        "Make {} reachable from this machine with the inventory's address, user and key, or do the step by hand",
                        t.host
                    ),
                )],
                None => vec![Finding::warning(
                    instance,
                    format!("host {} over SSH", t.host),
                    "not connected to: not checked",
                    "Run `stepwise check` with the inventory to reach it",
                )],
            }
        }
        _ => actions::check(plan, instance, action, &opts.env),
    }
}

/// A finding about a manual step's optional automation: what would block the automation only
/// warns, since the operator can do the step by hand.
fn optional(mut f: Finding) -> Finding {
    f.checked = format!("automation: {}", f.checked).into();
    if f.severity == Severity::Blocking {
        f.severity = Severity::Warning;
        f.to_do = Some(match f.to_do {
            Some(t) => format!("{t}; or do the step by hand").into(),
            None => "Do the step by hand".into(),
        });
    }
    f
}

fn only_if(applies: &Applies) -> Option<String> {
    match applies {
        Applies::Yes => None,
        Applies::OnlyIf(exprs) => Some(
            exprs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
        ),
    }
}

/// A condition: decided (and how), or open until which parameters are given. Every name must be
/// a parameter of the right type (the loader guarantees it; checked again so that a plan built
/// by other means cannot slip through).
fn condition_finding(
    plan: &Plan,
    what: &str,
    kind: &str,
    e: &Expr,
    opts: &CheckOptions,
) -> Finding {
    let checked = format!("condition `{e}` of {what}");
    let rb = plan.runbook;
    for (name, literal) in e.names() {
        let ok = match rb.parameter(&name.name) {
            None => false,
            Some(p) => literal.is_some() || p.kind == ParamType::Bool,
        };
        if !ok {
            return Finding::new(
                Severity::Blocking,
                None,
                checked,
                format!("`{}` is not a yes/no parameter of the runbook", name.name),
            )
            .to_do("Correct the runbook (`stepwise validate` shows where)");
        }
    }
    match plan.resolved.eval(e) {
        Some(true) => Finding::new(
            Severity::Ok,
            None,
            checked,
            format!("true: the {kind} applies"),
        ),
        Some(false) => Finding::new(
            Severity::Ok,
            None,
            checked,
            format!("false: the {kind} is left out"),
        ),
        None => {
            let missing: Vec<String> = e
                .names()
                .iter()
                .map(|(n, _)| n.name.clone())
                .filter(|n| plan.resolved.get(n).is_none())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if opts.interactive {
                Finding::new(
                    Severity::Ok,
                    None,
                    checked,
                    format!("decided once {list} is answered"),
                )
            } else {
                Finding::new(
                    Severity::Warning,
                    None,
                    checked,
                    format!("open: decided once {list} is given; its steps were checked as if it applies"),
                )
                .to_do(format!("Give {}", actions::set_hints(&missing)))
            }
        }
    }
}

fn value_hint(kind: ParamType, choices: &[String]) -> String {
    match kind {
        ParamType::Bool => "true|false".into(),
        ParamType::Choice => choices.join("|"),
        ParamType::Path => "FOLDER".into(),
        ParamType::Hosts => "HOST1,HOST2".into(),
        ParamType::String | ParamType::Secret => "VALUE".into(),
    }
}

/// The parameters the plan depends on: those used by a template of a step that applies (title,
/// instructions, items, notes, action, automation) or of a prerequisite, and those without
/// whose value a condition would be open — a condition that decides what applies, so a
/// parameter used only under a phase that is left out anyway is not needed.
fn needed_params<'p>(plan: &'p Plan) -> BTreeSet<&'p str> {
    let mut out = BTreeSet::new();
    for phase in &plan.phases {
        for s in &phase.steps {
            let step = s.step;
            let templates = std::iter::once(&step.title)
                .chain(&step.instructions)
                .chain(step.items.iter().map(|i| &i.text))
                .chain(&step.notes)
                .chain(actions::templates(&step.action))
                .chain(step.automation.iter().flat_map(actions::templates));
            for t in templates {
                out.extend(t.params().map(|(n, _)| n));
            }
        }
    }
    for p in &plan.runbook.prerequisites {
        out.extend(p.text.params().map(|(n, _)| n));
    }
    for param in &plan.runbook.parameters {
        let hidden = |n: &str| {
            if n == param.name {
                None
            } else {
                plan.resolved.get(n)
            }
        };
        let depends = plan.runbook.phases.iter().any(|phase| {
            let phase_applies = phase.when.as_ref().map(|w| w.value.eval(&hidden));
            match phase_applies {
                None | Some(Some(true)) => phase
                    .steps
                    .iter()
                    .filter_map(|s| s.when.as_ref())
                    .any(|w| w.value.eval(&hidden).is_none()),
                Some(None) => true,
                Some(Some(false)) => false,
            }
        });
        if depends {
            out.insert(param.name.as_str());
        }
    }
    out
}

/// The report as text, written as it is made: the plan shown phase by phase, the findings
/// grouped by phase (each action checked as its finding is written), the summary line; `color`
/// paints blocking findings red and warnings yellow. Returns the counts.
pub fn write_text(
    r: &Report,
    color: bool,
    w: &mut impl std::io::Write,
) -> std::io::Result<Summary> {
    writeln!(
        w,
        "Dry-run check of {} ({}): {}",
        r.runbook.id, r.runbook.article, r.runbook.title
    )?;
    w.write_all(b"Nothing was run, written or created.\n\n")?;
    write_values(r, w)?;
    w.write_all(b"\nPlan\n")?;
    for (index, phase) in r.phases.iter().enumerate() {
        let cond = phase
            .only_if
            .as_ref()
            .map(|c| format!("  (only if {c})"))
            .unwrap_or_default();
        writeln!(w, "  {}. {}{cond}", phase.number, phase.title)?;
        if let Some(order) = &phase.host_order {
            writeln!(w, "     {order}")?;
        }
        for e in r.entries(index) {
            write_entry(&e, w)?;
        }
    }

    w.write_all(b"\nFindings\n")?;
    let mut summary = Summary::default();
    if !r.runbook_findings.is_empty() {
        w.write_all(b"  Runbook\n")?;
        for f in &r.runbook_findings {
            summary.count(f);
            write_finding(f, color, w)?;
        }
    }
    for (index, phase) in r.phases.iter().enumerate() {
        // A phase's heading is written with its first finding: a phase without any has none.
        let mut first = true;
        for rf in r.phase_findings(index) {
            if std::mem::take(&mut first) {
                writeln!(w, "  {}. {}", phase.number, phase.title)?;
            }
            summary.count(&rf.finding);
            write_finding(&rf.finding, color, w)?;
        }
    }
    writeln!(w, "\n{}", summary.line())?;
    Ok(summary)
}

/// The parameters and the hosts of each role, as the text shows them.
fn write_values(r: &Report, w: &mut impl std::io::Write) -> std::io::Result<()> {
    w.write_all(b"Parameters\n")?;
    let width = r.parameters.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in &r.parameters {
        let value = match (&p.value, p.source) {
            (Some(v), "given") => format!("= {v}"),
            (Some(v), _) => format!("= {v} (default)"),
            (None, _) if p.needed => "(no value)".to_string(),
            (None, _) => "(no value; not needed)".to_string(),
        };
        writeln!(w, "  {:width$}  {value}", p.name)?;
    }
    if !r.roles.is_empty() {
        w.write_all(b"\nHosts\n")?;
        let width = r.roles.iter().map(|p| p.id.len()).max().unwrap_or(0);
        for role in &r.roles {
            let hosts = if role.hosts.is_empty() {
                "(none)".to_string()
            } else {
                role.hosts.join(", ")
            };
            let note = if role.used { "" } else { "  (no step uses it)" };
            writeln!(w, "  {:width$}  {hosts}{note}", role.id)?;
        }
    }
    Ok(())
}

/// One instance of the plan as the text shows it: number, key, title, kind, and what its
/// action will do.
fn write_entry(e: &PlanEntry, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let step = &*e.step;
    let kind = match (&e.action, e.automation.as_ref()) {
        (ActionView::Manual, None) => "manual".to_string(),
        (ActionView::Manual, Some(a)) => format!("manual, optional {}", view_type(a)),
        (a, _) => view_type(a).to_string(),
    };
    let cond = step
        .only_if
        .as_ref()
        .map(|c| format!(" (only if {c})"))
        .unwrap_or_default();
    let items = match step.items {
        0 => String::new(),
        1 => ", 1 item".to_string(),
        n => format!(", {n} items"),
    };
    writeln!(
        w,
        "    {:<5} {}  {}  [{kind}{items}]{cond}",
        step.number, e.key, e.title
    )?;
    for view in std::iter::once(&e.action).chain(e.automation.as_ref()) {
        for (label, value) in view_lines(view) {
            writeln!(w, "          {label:<8} {value}")?;
        }
    }
    Ok(())
}

/// One finding as the text shows it: severity, instance, what was checked and found, what to do.
fn write_finding(f: &Finding, color: bool, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let subject = match &f.instance {
        Some(key) => format!("{key}: "),
        None => String::new(),
    };
    let tone = match f.severity {
        Severity::Blocking => crate::color::Tone::Bad,
        Severity::Warning => crate::color::Tone::Warn,
        Severity::Ok => crate::color::Tone::Plain,
    };
    let word = crate::color::paint(f.severity.name(), tone, false).force_styling(color);
    writeln!(w, "    {word:<8}  {subject}{}: {}", f.checked, f.found)?;
    if let Some(to_do) = &f.to_do {
        writeln!(w, "    {:<8}  to do: {to_do}", "")?;
    }
    Ok(())
}

fn view_type(v: &ActionView) -> &'static str {
    match v {
        ActionView::Manual => "manual",
        ActionView::Command { .. } => "command",
        ActionView::Copy { .. } => "copy",
        ActionView::WriteFile { .. } => "write_file",
        ActionView::CreateFolder { .. } => "create_folder",
        ActionView::Check { .. } => "check",
        ActionView::Restart { .. } => "restart",
    }
}

/// The lines that show what an automated action will do: the exact command line, the files and
/// folders.
fn view_lines(v: &ActionView) -> Vec<(&'static str, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    match v {
        ActionView::Manual => Vec::new(),
        ActionView::Command {
            command_line,
            cwd,
            timeout_secs,
            success_codes,
            shell,
            ..
        } => {
            let mut lines = vec![("command", command_line.clone())];
            if let Some(cwd) = cwd {
                lines.push(("in", cwd.clone()));
            }
            let codes: Vec<String> = success_codes.iter().map(i32::to_string).collect();
            lines.push((
                "success",
                format!(
                    "exit code {}; timeout {timeout_secs} s{}",
                    codes.join(" or "),
                    if *shell { "; through the shell" } else { "" }
                ),
            ));
            lines
        }
        ActionView::Copy {
            from,
            to,
            files,
            backup,
            manifest,
        } => {
            let mut lines = vec![
                ("from", from.clone()),
                ("to", to.clone()),
                ("files", files.join(", ")),
                ("backup", yes_no(*backup).to_string()),
            ];
            if let Some(m) = manifest {
                lines.push(("verify", format!("sizes of manifest `{m}`")));
            }
            lines
        }
        ActionView::WriteFile { path, backup, .. } => vec![
            ("write", path.clone()),
            ("backup", yes_no(*backup).to_string()),
        ],
        ActionView::CreateFolder { path } => vec![("create", format!("{path} (empty)"))],
        ActionView::Check { checks, waits } => checks
            .iter()
            .map(|c| ("check", c.clone()))
            .chain(waits.iter().map(|w| ("waits", w.clone())))
            .collect(),
        ActionView::Restart {
            command_line,
            wait_secs,
            checks,
        } => {
            let mut lines = vec![
                ("restart", command_line.clone()),
                (
                    "wait",
                    format!("at most {wait_secs} s for the host to answer again"),
                ),
            ];
            lines.extend(checks.iter().map(|c| ("then check", c.clone())));
            lines
        }
    }
}

/// The report as one JSON document (see `docs/check-json.md`), written as it is serialized:
/// the plan's entries and the findings are made as the serializer reaches them. Returns the
/// counts.
pub fn write_json(r: &Report, w: &mut impl std::io::Write) -> std::io::Result<Summary> {
    let doc = Document {
        report: r,
        summary: std::cell::Cell::new(Summary::default()),
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    w.write_all(b"\n")?;
    Ok(doc.summary.get())
}

/// The JSON document: `format`, the report's fields, `blocking`.
struct Document<'a, 'p> {
    report: &'a Report<'p>,
    /// Counted as the findings are serialized, for the `summary` after them.
    summary: std::cell::Cell<Summary>,
}

impl Serialize for Document<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = self.report;
        let mut s = serializer.serialize_struct("Document", 9)?;
        s.serialize_field("format", &1u32)?;
        s.serialize_field("runbook", &r.runbook)?;
        s.serialize_field("parameters", &r.parameters)?;
        s.serialize_field("roles", &r.roles)?;
        s.serialize_field("phases", &r.phases)?;
        s.serialize_field(
            "plan",
            &Lazy(|| (0..r.phases.len()).flat_map(|p| r.entries(p))),
        )?;
        s.serialize_field(
            "findings",
            &Lazy(|| {
                r.findings().inspect(|f| {
                    let mut summary = self.summary.get();
                    summary.count(&f.finding);
                    self.summary.set(summary);
                })
            }),
        )?;
        let summary = self.summary.get();
        s.serialize_field("summary", &summary)?;
        s.serialize_field("blocking", &summary.has_blocking())?;
        s.end()
    }
}

/// A JSON array made from an iterator as it is serialized.
struct Lazy<F>(F);

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}
