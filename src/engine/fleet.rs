//! The walk's part of fleet order: the confirmation between two batches of a host-major phase,
//! a host that failed, and the stop when more hosts failed than the phase allows.
//!
//! Each answer is journaled (`batch_confirmed`, `host_failed`, `failures_accepted`), so resume
//! asks exactly what was not answered yet: a batch confirmed is never asked again, and a
//! confirmation never stands for a later batch.

use super::{Ending, Walk, stopped};
use crate::error::Error;
use crate::fleet::{Batch, and_list, host_order};
use crate::journal::{EventKind, NewEvent, RunOutcome};
use crate::plan::Instance;
use crate::ui::{BatchAsk, FailuresAsk, FleetChoice};

impl Walk<'_, '_> {
    /// Before an instance of a batch: the failures are within bounds (or accepted), and the
    /// batch, from the second on, was confirmed. `Some` when the walk stops.
    pub(super) fn batch_gate(&mut self, batch: &Batch) -> Result<Option<Ending>, Error> {
        if let Some(ending) = self.failures_gate(batch.phase)? {
            return Ok(Some(ending));
        }
        if batch.number < 2 {
            return Ok(None);
        }
        let phase = &self.plan.phases[batch.phase].phase.id;
        let number = u32::try_from(batch.number).unwrap_or(u32::MAX);
        if self.recorder().progress().fleet.is_confirmed(phase, number) {
            return Ok(None);
        }
        let done_hosts = crate::fleet::batches(self.plan, batch.phase)
            .get(batch.number - 2)
            .map(|b| b.hosts.clone())
            .unwrap_or_default();
        let ask = BatchAsk {
            phase: phase.clone(),
            batch: batch.number,
            of: batch.of,
            done_hosts,
            next_hosts: batch.hosts.clone(),
        };
        self.prompter.show(&format!("\n   {}", ask.question()));
        let choice = match self.prompter.next_batch(&ask) {
            Ok(c) => c,
            Err(s) => return Ok(Some(stop_of(s))),
        };
        let of = u32::try_from(batch.of).unwrap_or(u32::MAX);
        match choice {
            FleetChoice::Go => {
                self.record(
                    NewEvent::new(EventKind::BatchConfirmed {
                        phase: phase.clone(),
                        batch: number,
                        of,
                    })
                    .note(format!("go on to {}", and_list(&batch.hosts))),
                )?;
                Ok(None)
            }
            FleetChoice::Pause => {
                self.record(NewEvent::new(EventKind::Paused).note(format!(
                    "paused before batch {} of {} of phase {phase}",
                    batch.number, batch.of
                )))?;
                Ok(Some(Ending::Paused))
            }
            FleetChoice::Stop => self.stop_run(format!(
                "stopped before batch {} of {} of phase {phase}",
                batch.number, batch.of
            )),
        }
    }

    /// Says which batch starts, with its hosts.
    pub(super) fn announce_batch(&mut self, batch: &Batch) {
        let phase = &self.plan.phases[batch.phase].phase;
        self.prompter.show(&format!(
            "\n── Phase {} ({}): batch {} of {}: {} ──",
            phase.id,
            phase.title,
            batch.number,
            batch.of,
            and_list(&batch.hosts)
        ));
    }

    /// An instance of a host-major phase failed and the operator skipped its host: the host
    /// failed (journaled), and the rest of the phase is not done on it.
    pub(super) fn host_failed(&mut self, instance: &Instance) -> Result<(), Error> {
        let planned = &self.plan.phases[instance.phase()];
        if host_order(planned).is_none() {
            return Ok(());
        }
        let Some(host) = instance.host().map(str::to_string) else {
            return Ok(());
        };
        let phase = planned.phase.id.clone();
        self.record(
            NewEvent::new(EventKind::HostFailed {
                phase: phase.clone(),
                key: instance.key.clone(),
            })
            .host(host.clone()),
        )?;
        let rest: Vec<&Instance> = planned
            .steps
            .iter()
            .flat_map(|s| &self.plan.instances[s.instances.clone()])
            .filter(|i| i.host() == Some(host.as_str()))
            .filter(|i| !self.state(&i.key).settled())
            .collect();
        for i in rest {
            self.record(NewEvent::instance_skipped(
                i,
                format!(
                    "host {host} failed at {}: the rest of phase {phase} is not done on it",
                    instance.key
                ),
            ))?;
        }
        self.prompter.show(&format!(
            "   Host {host} failed at {}: the rest of phase {phase} is not done on it.",
            instance.key
        ));
        Ok(())
    }

    /// When more hosts of a host-major phase failed than its `max_failures` (and the operator
    /// has not gone on with that many): asks go on, pause or stop. `Some` when the walk stops.
    pub(super) fn failures_gate(&mut self, phase: usize) -> Result<Option<Ending>, Error> {
        let planned = &self.plan.phases[phase];
        let Some(order) = host_order(planned) else {
            return Ok(None);
        };
        let id = planned.phase.id.clone();
        let (failed, accepted) = {
            let rec = self.recorder();
            let fleet = &rec.progress().fleet;
            (
                fleet.failed_hosts(&id),
                fleet.accepted.get(&id).copied().unwrap_or(0),
            )
        };
        let count = u32::try_from(failed.len()).unwrap_or(u32::MAX);
        if count <= order.max_failures || count <= accepted {
            return Ok(None);
        }
        let ask = FailuresAsk {
            phase: id.clone(),
            failed,
            max_failures: order.max_failures,
        };
        self.prompter.show(&format!("\n   {}", ask.question()));
        let choice = match self.prompter.too_many_failures(&ask) {
            Ok(c) => c,
            Err(s) => return Ok(Some(stop_of(s))),
        };
        match choice {
            FleetChoice::Go => {
                self.record(NewEvent::new(EventKind::FailuresAccepted {
                    phase: id,
                    failed: count,
                }))?;
                Ok(None)
            }
            FleetChoice::Pause => {
                self.record(NewEvent::new(EventKind::Paused).note(format!(
                    "paused: {count} hosts of phase {id} failed, more than its max_failures ({})",
                    order.max_failures
                )))?;
                Ok(Some(Ending::Paused))
            }
            FleetChoice::Stop => self.stop_run(format!(
                "stopped: {count} hosts of phase {id} failed, more than its max_failures ({})",
                order.max_failures
            )),
        }
    }

    /// Ends the run as aborted, with why.
    fn stop_run(&mut self, why: String) -> Result<Option<Ending>, Error> {
        self.record(
            NewEvent::new(EventKind::RunFinished {
                outcome: RunOutcome::Aborted,
            })
            .note(why),
        )?;
        Ok(Some(Ending::Aborted))
    }
}

fn stop_of(s: crate::ui::Stop) -> Ending {
    match stopped(s) {
        super::Flow::Stop(e) => e,
        super::Flow::Next => Ending::Paused,
    }
}
