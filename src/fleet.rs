//! Fleet order: the order in which the walk takes a plan's step instances.
//!
//! By default a phase runs step by step across all hosts, which is the plan's own order. A
//! host-major phase (`for_each_host:` a role) runs all its steps on one batch of the role's
//! hosts before the next batch (`serial:` hosts per batch); within a batch, step by step over
//! the batch's hosts. This is scheduling over the plan's instances: the plan, its instances and
//! their keys stay as they are, so the journal, answers files and checklists name the same
//! instances whatever the order. The walk, `check`, `status` and the checklists all take the
//! order from here, so they cannot disagree. Nothing here reads files or asks anything.

use std::collections::BTreeMap;

use crate::plan::{Instance, Plan, PlannedPhase};
use crate::runbook::{HostOrder, Phase};

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
    /// Where its hosts start in the role's host list (and so among each step's instances).
    pub first: usize,
}

/// The host order of a planned phase, if it runs host by host.
pub fn host_order<'r>(phase: &PlannedPhase<'r>) -> Option<&'r HostOrder> {
    phase.phase.host_order.as_ref()
}

/// The batches of a host-major phase (the `index`-th of the plan): the role's hosts in force,
/// `serial` at a time; none for a phase walked in plan order. Made once, by [`Plan::new`].
pub fn batches_of(
    index: usize,
    phase: &Phase,
    hosts: &BTreeMap<String, Vec<String>>,
) -> Vec<Batch> {
    let Some(order) = &phase.host_order else {
        return Vec::new();
    };
    let hosts = hosts.get(&order.role.value).map_or(&[][..], Vec::as_slice);
    let size = order.serial.batch_size(hosts.len()).max(1);
    let of = hosts.len().div_ceil(size);
    hosts
        .chunks(size)
        .enumerate()
        .map(|(b, chunk)| Batch {
            phase: index,
            number: b + 1,
            of,
            hosts: chunk.to_vec(),
            first: b * size,
        })
        .collect()
}

/// The batches of a plan's phase (none when it is walked in plan order).
pub fn batches<'p>(plan: &'p Plan, phase: usize) -> &'p [Batch] {
    &plan.phases[phase].batches
}

/// One place in the walk: an instance (an index into [`Plan::instances`]) and the batch it
/// belongs to when its phase is host-major.
pub type Slot<'p> = (usize, Option<&'p Batch>);

/// The order the walk takes the plan's instances in, made as it is read: phase by phase; a
/// host-major phase batch by batch, and within a batch step by step over the batch's hosts.
pub fn walk<'p>(plan: &'p Plan) -> impl Iterator<Item = Slot<'p>> + 'p {
    (0..plan.phases.len()).flat_map(move |p| walk_phase(plan, p))
}

/// The walk's order over one phase's instances.
pub fn walk_phase<'p>(plan: &'p Plan, phase: usize) -> impl Iterator<Item = Slot<'p>> + 'p {
    let planned = &plan.phases[phase];
    let in_plan_order = host_order(planned)
        .is_none()
        .then(|| {
            planned
                .steps
                .iter()
                .flat_map(|s| s.instances.clone().map(|i| (i, None)))
        })
        .into_iter()
        .flatten();
    let by_batch = planned.batches.iter().flat_map(move |batch| {
        planned.steps.iter().flat_map(move |s| {
            let hosts = batch.first..batch.first + batch.hosts.len();
            s.instances
                .clone()
                .skip(hosts.start)
                .take(hosts.len())
                .map(move |i| (i, Some(batch)))
        })
    });
    in_plan_order.chain(by_batch)
}

/// The 1-based place of an instance in the walk: its ordinal, unless a host-major phase
/// changes the order. Computed from the phase's batches, without walking.
pub fn position(plan: &Plan, instance: &Instance) -> usize {
    let planned = &plan.phases[instance.phase()];
    if host_order(planned).is_none() {
        return instance.ordinal();
    }
    let Some(first) = planned.steps.first().map(|s| s.instances.start) else {
        return instance.ordinal();
    };
    let step = &planned.steps[instance.step()];
    let host = instance.ordinal() - 1 - step.instances.start;
    let steps = planned.steps.len();
    let mut before = first;
    for batch in &planned.batches {
        let size = batch.hosts.len();
        if host < batch.first + size {
            return before + instance.step() * size + (host - batch.first) + 1;
        }
        before += steps * size;
    }
    instance.ordinal()
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
    let hosts: usize = batches.iter().map(|b| b.hosts.len()).sum();
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
            .map(|b| and_list(&b.hosts))
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
        let walked: Vec<&str> = walk(&plan)
            .map(|(i, _)| plan.instances[i].key.as_str())
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
        // The place of each instance in the walk, computed without walking.
        let places: Vec<usize> = walked
            .iter()
            .map(|key| position(&plan, plan.instance(key).unwrap()))
            .collect();
        assert_eq!(places, [1, 2, 3, 4, 5, 6, 7]);
        let batches = batches(&plan, 1);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].hosts, ["W3"]);
        assert_eq!(batches[1].of, 2);
        assert_eq!(batches[1].first, 2);
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
