//! Runbook + parameter values + host lists -> the ordered step instances of one procedure.
//!
//! The plan is what every consumer works from: the checklist renderer, the dry-run checker and the
//! interactive engine. Conditions are resolved where the values allow and left open (never
//! guessed) where they do not. Each step instance has a stable key: `step-id`, `step-id@HOST`,
//! and `…#item-id` for an item, which resume, checklists and answers files use. This module reads
//! no files and asks nothing.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::fleet::Batch;

use crate::runbook::expr::Expr;
use crate::runbook::{Item, ParamType, Phase, Runbook, Step, Template, Value};
use crate::target::{Inventory, Reach};

/// The name `{{ host }}` stands for: the host of the instance.
pub const HOST_NAME: &str = "host";

/// Parameter values and host lists for one plan.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    /// Values given by the operator (or an answers file, or `--set`).
    pub values: BTreeMap<String, Value>,
    /// Host lists given per role; a role not listed takes the runbook's default hosts.
    pub hosts: BTreeMap<String, Vec<String>>,
    /// How hosts are reached (targets, per-host values), from `--inventory` or the run.
    pub inventory: Inventory,
}

/// The parameter values in force: given ones, then defaults.
#[derive(Debug, Clone)]
pub struct Resolved {
    values: BTreeMap<String, Value>,
    secrets: Vec<String>,
}

impl Resolved {
    pub fn new(runbook: &Runbook, bindings: &Bindings) -> Resolved {
        let mut values = BTreeMap::new();
        for p in &runbook.parameters {
            if let Some(v) = bindings.values.get(&p.name).or(p.default.as_ref()) {
                values.insert(p.name.clone(), v.clone());
            }
        }
        let secrets = runbook
            .parameters
            .iter()
            .filter(|p| p.kind == ParamType::Secret)
            .map(|p| p.name.clone())
            .collect();
        Resolved { values, secrets }
    }

    pub fn get(&self, name: &str) -> Option<Value> {
        self.values.get(name).cloned()
    }

    /// Like [`Resolved::get`], but a secret reads as `********`: for anything shown or written.
    pub fn get_shown(&self, name: &str) -> Option<Value> {
        if self.secrets.iter().any(|s| s == name) {
            return self
                .values
                .contains_key(name)
                .then(|| Value::Text("********".into()));
        }
        self.get(name)
    }

    /// The values of the secret parameters that have one (not empty): what must never be shown
    /// or saved, in a command's output for one.
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets
            .iter()
            .filter_map(|s| self.values.get(s))
            .map(Value::render)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Fills a template for display (secrets masked).
    pub fn show(&self, t: &Template) -> String {
        t.render(&|n| self.get_shown(n))
    }

    /// Fills a template for doing the work (secrets included): never write the result anywhere.
    pub fn fill(&self, t: &Template) -> String {
        t.render(&|n| self.get(n))
    }

    pub fn is_resolved(&self, t: &Template) -> bool {
        t.is_resolved(&|n| self.get(n))
    }

    pub fn eval(&self, e: &Expr) -> Option<bool> {
        e.eval(&|n| self.get(n))
    }

    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// These values on one host: `{{ host }}` is its name, and the inventory's values for it
    /// stand in for the parameters they name (a value that does not fit was refused when the
    /// inventory was read, and is left out here).
    pub fn on_host(
        &self,
        runbook: &Runbook,
        host: &str,
        vars: &BTreeMap<String, String>,
    ) -> Resolved {
        let mut out = self.clone();
        out.values
            .insert(HOST_NAME.to_string(), Value::Text(host.to_string()));
        for (name, text) in vars {
            if let Some(p) = runbook.parameter(name)
                && p.kind != ParamType::Secret
                && let Ok(v) = p.parse_value(text)
            {
                out.values.insert(name.clone(), v);
            }
        }
        out
    }
}

/// Whether a phase or step applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Applies {
    Yes,
    /// Depends on parameters that have no value yet; the conditions that are still open.
    OnlyIf(Vec<Expr>),
}

#[derive(Debug, Clone)]
pub struct PlannedPhase<'r> {
    /// 1-based number among the phases that apply.
    pub number: usize,
    pub phase: &'r Phase,
    pub applies: Applies,
    pub steps: Vec<PlannedStep<'r>>,
    /// A host-major phase's batches, in the walk's order (made once, with the plan); empty for
    /// a phase walked in plan order. See [`crate::fleet`].
    pub batches: Vec<Batch>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep<'r> {
    /// `PHASE.STEP`, both 1-based among what applies.
    pub number: String,
    pub step: &'r Step,
    /// The step's own condition when it is still open (the phase's is on the phase).
    pub applies: Applies,
    /// Its instances: indexes into [`Plan::instances`], one per host of its role in the role's
    /// order (or the one instance of a step on no role).
    pub instances: Range<usize>,
}

/// One step instance: a step, on one host where it runs on a role.
///
/// Millions of these make a large plan, so an instance holds one string, its key, and finds
/// its step id and host in it: `step-id@HOST` is the step id, the `@`, then the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `step-id` or `step-id@HOST`: what the journal, answers files and checklists name it by.
    pub key: String,
    /// Where the host starts in the key (after the `@`); 0 for an instance on no host (a step
    /// id is never empty).
    host_at: u32,
    ordinal: u32,
    phase: u32,
    step: u32,
}

impl Instance {
    /// The instance of step `step_id` on `host`, `ordinal`-th in its plan, of the plan's step
    /// `step` of phase `phase` (indexes into [`Plan::phases`] and its steps).
    pub fn new(
        step_id: &str,
        host: Option<&str>,
        ordinal: usize,
        phase: usize,
        step: usize,
    ) -> Instance {
        // A plan of 2^32 instances would not fit in memory long before these overflow.
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut key = instance_key(step_id, host);
        key.shrink_to_fit();
        Instance {
            host_at: if host.is_some() {
                narrow(step_id.len() + 1)
            } else {
                0
            },
            key,
            ordinal: narrow(ordinal),
            phase: narrow(phase),
            step: narrow(step),
        }
    }

    /// The host it runs on, when its step runs `on:` a role.
    pub fn host(&self) -> Option<&str> {
        (self.host_at > 0).then(|| &self.key[self.host_at as usize..])
    }

    /// The id of its step.
    pub fn step_id(&self) -> &str {
        match self.host_at {
            0 => &self.key,
            at => &self.key[..at as usize - 1],
        }
    }

    /// 1-based position in the whole plan (plan order; the walk's order is
    /// [`crate::fleet::position`]).
    pub fn ordinal(&self) -> usize {
        self.ordinal as usize
    }

    /// Index of its phase in [`Plan::phases`].
    pub fn phase(&self) -> usize {
        self.phase as usize
    }

    /// Index of its step among its phase's planned steps.
    pub fn step(&self) -> usize {
        self.step as usize
    }

    /// The key of one of this instance's items.
    pub fn item_key(&self, item_id: &str) -> String {
        format!("{}#{item_id}", self.key)
    }
}

/// The key of a step instance.
pub fn instance_key(step_id: &str, host: Option<&str>) -> String {
    match host {
        Some(h) => format!("{step_id}@{h}"),
        None => step_id.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct Plan<'r> {
    pub runbook: &'r Runbook,
    /// The values in force for the plan as a whole; an instance on a host sees them through
    /// [`Plan::for_instance`], with `{{ host }}` and the host's own values.
    pub resolved: Resolved,
    /// Everything but the values is shared between the copies of a plan: the plan as one
    /// instance sees it ([`Plan::for_instance`]) is a copy with other values, made once per
    /// instance (twice by `check`), and must not copy the rest.
    pub inventory: Arc<Inventory>,
    /// The name of the machine `stepwise` runs on, which a host of that name is.
    pub this_machine: Arc<str>,
    /// The host list in force per role.
    pub hosts: Arc<BTreeMap<String, Vec<String>>>,
    pub phases: Shared<PlannedPhase<'r>>,
    pub instances: Shared<Instance>,
}

/// A list shared by the copies of a plan: read like a `Vec`, cloned by reference.
#[derive(Debug)]
pub struct Shared<T>(Arc<Vec<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Shared<T> {
        Shared(Arc::new(v))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn applies(when: Option<&Expr>, resolved: &Resolved) -> Option<Applies> {
    match when {
        None => Some(Applies::Yes),
        Some(e) => match resolved.eval(e) {
            Some(true) => Some(Applies::Yes),
            Some(false) => None,
            None => Some(Applies::OnlyIf(vec![e.clone()])),
        },
    }
}

/// Whether an item is part of an instance whose values are `resolved`: `None` when its `when`
/// is false, `OnlyIf` while it is open.
pub fn item_applies(item: &Item, resolved: &Resolved) -> Option<Applies> {
    applies(item.when.as_ref().map(|w| &w.value), resolved)
}

/// The roles a step that applies for these values runs on (sorted), as [`Plan::new`] would
/// find them, without making the plan's instances: what a run asks hosts for.
pub fn used_roles(runbook: &Runbook, bindings: &Bindings) -> Vec<String> {
    let resolved = Resolved::new(runbook, bindings);
    let when = |w: Option<&crate::runbook::Spanned<Expr>>| applies(w.map(|w| &w.value), &resolved);
    let mut roles: Vec<String> = runbook
        .phases
        .iter()
        .filter(|p| when(p.when.as_ref()).is_some())
        .flat_map(|p| &p.steps)
        .filter(|s| when(s.when.as_ref()).is_some())
        .filter_map(|s| s.on.as_ref().map(|o| o.value.clone()))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

impl<'r> Plan<'r> {
    pub fn new(runbook: &'r Runbook, bindings: &Bindings) -> Plan<'r> {
        let resolved = Resolved::new(runbook, bindings);
        let hosts: BTreeMap<String, Vec<String>> = runbook
            .roles
            .iter()
            .map(|r| {
                let list = bindings.hosts.get(&r.id).unwrap_or(&r.hosts).clone();
                (r.id.clone(), list)
            })
            .collect();
        let mut phases = Vec::new();
        let mut instances = Vec::new();
        for phase in &runbook.phases {
            let Some(phase_applies) = applies(phase.when.as_ref().map(|w| &w.value), &resolved)
            else {
                continue;
            };
            let number = phases.len() + 1;
            let mut steps = Vec::new();
            for step in &phase.steps {
                let Some(step_applies) = applies(step.when.as_ref().map(|w| &w.value), &resolved)
                else {
                    continue;
                };
                let step_number = format!("{number}.{}", steps.len() + 1);
                let first = instances.len();
                let on = step.on.as_ref().map(|on| hosts[&on.value].as_slice());
                match on {
                    Some(list) => {
                        for host in list {
                            let ordinal = instances.len() + 1;
                            instances.push(Instance::new(
                                &step.id,
                                Some(host),
                                ordinal,
                                phases.len(),
                                steps.len(),
                            ));
                        }
                    }
                    None => instances.push(Instance::new(
                        &step.id,
                        None,
                        first + 1,
                        phases.len(),
                        steps.len(),
                    )),
                }
                steps.push(PlannedStep {
                    number: step_number,
                    step,
                    applies: step_applies,
                    instances: first..instances.len(),
                });
            }
            let batches = crate::fleet::batches_of(phases.len(), phase, &hosts);
            phases.push(PlannedPhase {
                number,
                phase,
                applies: phase_applies,
                steps,
                batches,
            });
        }
        instances.shrink_to_fit();
        Plan {
            runbook,
            resolved,
            inventory: Arc::new(bindings.inventory.clone()),
            this_machine: crate::journal::machine_name().into(),
            hosts: Arc::new(hosts),
            phases: phases.into(),
            instances: instances.into(),
        }
    }

    pub fn step_of(&self, instance: &Instance) -> &PlannedStep<'r> {
        &self.phases[instance.phase()].steps[instance.step()]
    }

    pub fn instance(&self, key: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.key == key)
    }

    /// Where an instance's actions run.
    pub fn reach(&self, instance: &Instance) -> Reach {
        match instance.host() {
            None => Reach::ThisMachine,
            Some(host) => match self.inventory.target(host, &self.this_machine) {
                Some(t) => Reach::Host(t),
                None => Reach::Unreachable {
                    host: host.to_string(),
                },
            },
        }
    }

    /// The plan as one instance sees it: its values are those on its host (`{{ host }}` and
    /// the inventory's values for that host). An instance for no host sees the plan as it is.
    pub fn for_instance(&self, instance: &Instance) -> std::borrow::Cow<'_, Plan<'r>> {
        let Some(host) = instance.host() else {
            return std::borrow::Cow::Borrowed(self);
        };
        let vars = self
            .inventory
            .entry(host)
            .map(|e| e.vars)
            .unwrap_or_default();
        let mut scoped = self.clone();
        scoped.resolved = self.resolved.on_host(self.runbook, host, &vars);
        std::borrow::Cow::Owned(scoped)
    }

    /// The values an instance sees: those on its host (`{{ host }}` and the inventory's values
    /// for it), or the plan's for an instance on no host. Cheaper than [`Plan::for_instance`].
    pub fn resolved_for(&self, instance: &Instance) -> std::borrow::Cow<'_, Resolved> {
        let Some(host) = instance.host() else {
            return std::borrow::Cow::Borrowed(&self.resolved);
        };
        let vars = self
            .inventory
            .entry(host)
            .map(|e| e.vars)
            .unwrap_or_default();
        std::borrow::Cow::Owned(self.resolved.on_host(self.runbook, host, &vars))
    }

    /// Whether every condition in the plan is decided.
    pub fn is_decided(&self) -> bool {
        self.phases
            .iter()
            .all(|p| p.applies == Applies::Yes && p.steps.iter().all(|s| s.applies == Applies::Yes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::{Source, load};

    const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
parameters:
  - { name: ur5, type: bool, prompt: UR5? }
  - { name: dir, type: path, prompt: Dir, default: 'C:\x' }
roles:
  - { id: web, title: Web, hosts: [WEB01, WEB02] }
phases:
  - id: a
    title: A
    steps:
      - { id: one, title: One }
      - { id: iis, title: IIS, on: web }
  - id: b
    title: B
    when: not ur5
    steps:
      - { id: extra, title: "Extra in {{ dir }}" }
"#;

    fn runbook() -> Runbook {
        load(&Source {
            name: "t.yaml".into(),
            text: RUNBOOK.into(),
        })
        .runbook
        .unwrap()
    }

    #[test]
    fn keys_and_open_conditions() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let keys: Vec<&str> = plan.instances.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["one", "iis@WEB01", "iis@WEB02", "extra"]);
        assert!(matches!(plan.phases[1].applies, Applies::OnlyIf(_)));
        assert!(!plan.is_decided());
    }

    #[test]
    fn an_instance_finds_its_step_id_and_host_in_its_key() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let on_host = &plan.instances[2];
        assert_eq!(
            (on_host.key.as_str(), on_host.step_id(), on_host.host()),
            ("iis@WEB02", "iis", Some("WEB02"))
        );
        assert_eq!(
            (on_host.ordinal(), on_host.phase(), on_host.step()),
            (3, 0, 1)
        );
        let once = &plan.instances[0];
        assert_eq!(
            (once.key.as_str(), once.step_id(), once.host()),
            ("one", "one", None)
        );
        assert_eq!(plan.step_of(on_host).instances, 1..3);
        assert_eq!(used_roles(&rb, &Bindings::default()), ["web"]);
    }

    #[test]
    fn values_and_hosts_apply() {
        let rb = runbook();
        let mut b = Bindings::default();
        b.values.insert("ur5".into(), Value::Bool(true));
        b.hosts.insert("web".into(), vec!["W9".into()]);
        let plan = Plan::new(&rb, &b);
        let keys: Vec<&str> = plan.instances.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["one", "iis@W9"]);
        assert!(plan.is_decided());
        b.values.insert("ur5".into(), Value::Bool(false));
        let plan = Plan::new(&rb, &b);
        let step = plan.step_of(&plan.instances[2]);
        assert_eq!(plan.resolved.show(&step.step.title), r"Extra in C:\x");
        assert_eq!(step.number, "2.1");
    }
}
