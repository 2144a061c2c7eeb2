//! Fleet order: the order in which the walk takes a plan's step instances.
//!
//! By default a phase runs step by step across all hosts, which is the plan's own order. A
//! host-major phase (`for_each_host:` a role) runs all its steps on one batch of the role's
//! hosts before the next batch (`serial:` hosts per batch); within a batch, step by step over
//! the batch's hosts. This is scheduling over the plan's instances: the plan, its instances and
//! their keys stay as they are, so the journal, answers files and checklists name the same
//! instances whatever the order. The walk, `check`, `status` and the checklists all take the
//! order from here, so they cannot disagree. Nothing here reads files or asks anything.

use crate::plan::{Plan, PlannedPhase};
use crate::runbook::HostOrder;

/// One batch of a host-major phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Index into [`Plan::phases`].
    pub phase: usize,
    /// 1-based among the phase's batches.
    pub number: usize,
    /// How many batches the phase has.
    pub of: usize,
    pub hosts: Vec<String>,
}

/// The walk's order: instance indexes (into [`Plan::instances`]), each with the batch it
/// belongs to (an index into `batches`) when its phase is host-major.
#[derive(Debug, Clone, Default)]
pub struct Order {
    pub slots: Vec<(usize, Option<usize>)>,
    pub batches: Vec<Batch>,
}

/// The host order of a planned phase, if it runs host by host.
pub fn host_order<'r>(phase: &PlannedPhase<'r>) -> Option<&'r HostOrder> {
    phase.phase.host_order.as_ref()
}

/// The batches of a host-major phase: the role's hosts in force, `serial` at a time.
pub fn batches(plan: &Plan, phase: usize) -> Vec<Vec<String>> {
    let Some(order) = host_order(&plan.phases[phase]) else {
        return Vec::new();
    };
    let hosts = plan
        .hosts
        .get(&order.role.value)
        .cloned()
        .unwrap_or_default();
    let size = order.serial.batch_size(hosts.len());
    hosts.chunks(size).map(<[String]>::to_vec).collect()
}

/// The order the walk takes the plan's instances in.
pub fn order(plan: &Plan) -> Order {
    let mut out = Order::default();
    for (p, phase) in plan.phases.iter().enumerate() {
        if host_order(phase).is_none() {
            for step in &phase.steps {
                out.slots.extend(step.instances.iter().map(|&i| (i, None)));
            }
            continue;
        }
        let batches = batches(plan, p);
        let of = batches.len();
        for (b, hosts) in batches.into_iter().enumerate() {
            let index = out.batches.len();
            for step in &phase.steps {
                for &i in &step.instances {
                    let host = plan.instances[i].host.as_deref();
                    if host.is_some_and(|h| hosts.iter().any(|x| x == h)) {
                        out.slots.push((i, Some(index)));
                    }
                }
            }
            out.batches.push(Batch {
                phase: p,
                number: b + 1,
                of,
                hosts,
            });
        }
    }
    out
}

/// The 1-based place of an instance in the walk: its ordinal, unless a host-major phase
/// changes the order.
pub fn position(plan: &Plan, instance: &crate::plan::Instance) -> usize {
    if plan.phases.iter().all(|p| host_order(p).is_none()) {
        return instance.ordinal;
    }
    order(plan)
        .slots
        .iter()
        .position(|(i, _)| plan.instances[*i].key == instance.key)
        .map_or(instance.ordinal, |p| p + 1)
}

/// Host names joined for a sentence: `WEB01`, `WEB01 and WEB02`, `WEB01, WEB02 and WEB03`.
pub fn and_list(hosts: &[String]) -> String {
    match hosts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// How a host-major phase walks its hosts, in one sentence for the checklist, `check` and the
/// plan view: `on each host of Web servers (web) in turn, 1 at a time: WEB01, then WEB02; the
/// walk stops and asks at the first host that fails`.
pub fn describe(plan: &Plan, phase: usize) -> Option<String> {
    let order = host_order(&plan.phases[phase])?;
    let role = plan
        .runbook
        .role(&order.role.value)
        .map(|r| format!("{} ({})", r.title, r.id))
        .unwrap_or_else(|| order.role.value.clone());
    let batches = batches(plan, phase);
    let hosts: usize = batches.iter().map(Vec::len).sum();
    let size = match order.serial {
        crate::runbook::Serial::Hosts(n) => format!("{n} at a time"),
        crate::runbook::Serial::Percent(p) => {
            let n = order.serial.batch_size(hosts);
            let word = if n == 1 { "host" } else { "hosts" };
            format!("{p}% at a time ({n} {word})")
        }
    };
    let walk = if batches.is_empty() {
        "no hosts given".to_string()
    } else {
        batches
            .iter()
            .map(|b| and_list(b))
            .collect::<Vec<_>>()
            .join(", then ")
    };
    let stops = match order.max_failures {
        0 => "the walk stops and asks at the first host that fails".to_string(),
        1 => "the walk stops and asks when more than 1 host fails".to_string(),
        n => format!("the walk stops and asks when more than {n} hosts fail"),
    };
    Some(format!(
        "on each host of {role} in turn, {size}: {walk}; {stops}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Bindings;
    use crate::runbook::{Source, load};

    const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
roles:
  - { id: web, title: Web servers, hosts: [W1, W2, W3] }
phases:
  - id: prep
    title: Prepare
    steps:
      - { id: once, title: Once }
  - id: rolling
    title: Rolling
    for_each_host: web
    serial: 50%
    max_failures: 1
    steps:
      - { id: drain, title: Drain, on: web }
      - { id: install, title: Install, on: web }
"#;

    #[test]
    fn a_host_major_phase_walks_batch_by_batch_and_keeps_keys() {
        let rb = load(&Source {
            name: "t.yaml".into(),
            text: RUNBOOK.into(),
        })
        .runbook
        .unwrap();
        let plan = Plan::new(&rb, &Bindings::default());
        let keys: Vec<&str> = plan.instances.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "once",
                "drain@W1",
                "drain@W2",
                "drain@W3",
                "install@W1",
                "install@W2",
                "install@W3"
            ]
        );
        let order = order(&plan);
        let walked: Vec<&str> = order
            .slots
            .iter()
            .map(|(i, _)| plan.instances[*i].key.as_str())
            .collect();
        assert_eq!(
            walked,
            [
                "once",
                "drain@W1",
                "drain@W2",
                "install@W1",
                "install@W2",
                "drain@W3",
                "install@W3"
            ]
        );
        assert_eq!(order.batches.len(), 2);
        assert_eq!(order.batches[1].hosts, ["W3"]);
        assert_eq!(order.batches[1].of, 2);
        assert_eq!(
            describe(&plan, 1).unwrap(),
            "on each host of Web servers (web) in turn, 50% at a time (2 hosts): W1 and W2, then W3; the walk stops and asks when more than 1 host fails"
        );
    }

    #[test]
    fn serial_rounds_up_and_never_makes_an_empty_batch() {
        use crate::runbook::Serial;
        assert_eq!(Serial::Percent(25).batch_size(3), 1);
        assert_eq!(Serial::Percent(25).batch_size(5), 2);
        assert_eq!(Serial::Percent(1).batch_size(1), 1);
        assert_eq!(Serial::Percent(100).batch_size(4), 4);
        assert_eq!(Serial::Hosts(2).batch_size(0), 2);
    }
}
