//! Where an action runs: this machine, or a host over SSH.
//!
//! Every automated action of a step instance runs on the host the instance is for, through that
//! host's target. A step that runs on no role is for this machine (the jump host `stepwise`
//! runs on). A host is reached through the target the inventory gives it ([`inventory`]); a
//! host without one is local only when it is this machine, and otherwise cannot be reached:
//! its automated steps are blocking in `stepwise check` and can only be done by hand in a run.
//! Nothing here ever runs an action on this machine on behalf of another host.

pub mod inventory;
pub mod shell;

pub use inventory::{AuthKind, HostEntry, HostTarget, Inventory, Shell, TargetKind};

/// Where one step instance's actions run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The instance is for no host: it runs where `stepwise` runs.
    ThisMachine,
    /// The instance's host, through its target (local or SSH).
    Host(HostTarget),
    /// The instance's host has no target: nothing can be run for it.
    Unreachable { host: String },
}

impl Reach {
    /// How the operator reads it: `this machine`, `WEB01 over ssh admin@10.0.0.11:22 (powershell)`.
    pub fn describe(&self) -> String {
        match self {
            Reach::ThisMachine => "this machine".to_string(),
            Reach::Host(t) if t.kind == TargetKind::Local => {
                format!("{} (this machine)", t.host)
            }
            Reach::Host(t) => format!("{} over {}", t.host, t.describe()),
            Reach::Unreachable { host } => format!("{host} (no target)"),
        }
    }

    /// The short form for the journal: `local`, `ssh 10.0.0.11:22`; `None` when unreachable.
    pub fn short(&self) -> Option<String> {
        match self {
            Reach::ThisMachine => Some("local".to_string()),
            Reach::Host(t) => Some(t.short()),
            Reach::Unreachable { .. } => None,
        }
    }

    /// The sentence said when an instance's host cannot be reached.
    pub fn unreachable_sentence(host: &str) -> String {
        format!("no way to reach {host}: give it a target in the inventory, or do the step by hand")
    }
}
