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
pub mod ssh;

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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ssh::{ConnectError, KnownHosts, Session};

/// The SSH connections of one command: one per host, opened when first needed (or all at once,
/// in parallel, by [`Hosts::connect_all`]) and reused for every action on that host.
pub struct Hosts {
    known: KnownHosts,
    /// Fingerprints the operator accepted, per host.
    accepted: Mutex<BTreeMap<String, String>>,
    /// Passwords asked at the terminal, per host: kept in memory for reconnecting, never
    /// written anywhere.
    passwords: Mutex<BTreeMap<String, String>>,
    sessions: Mutex<BTreeMap<String, Result<Arc<Session>, ConnectError>>>,
}

/// How many hosts are connected to at once.
const PARALLEL: usize = 8;

impl Hosts {
    pub fn new(inventory: &Inventory) -> Hosts {
        let file = inventory.known_hosts_file(std::path::Path::new("."));
        Hosts {
            known: KnownHosts { file },
            accepted: Mutex::new(BTreeMap::new()),
            passwords: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    /// The known-hosts file where keys are pinned.
    pub fn known_hosts(&self) -> &std::path::Path {
        &self.known.file
    }

    /// Accepts a host key not pinned yet, by its fingerprint; the next connection pins it.
    pub fn accept(&self, host: &str, fingerprint: &str) {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), fingerprint.to_string());
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(host);
    }

    /// Gives the password of a host whose `auth` is `password` (asked at the terminal); it is
    /// kept in memory only, for this command's connections.
    pub fn set_password(&self, host: &str, password: String) {
        self.passwords
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), password);
    }

    /// The SSH targets a plan's automated actions need, one per host.
    pub fn needed(plan: &crate::plan::Plan) -> Vec<HostTarget> {
        let mut out: Vec<HostTarget> = Vec::new();
        for instance in &plan.instances {
            if plan.step_of(instance).step.automated().is_none() {
                continue;
            }
            if let Reach::Host(t) = plan.reach(instance)
                && t.kind == TargetKind::Ssh
                && !out.iter().any(|o| o.host == t.host)
            {
                out.push(t);
            }
        }
        out
    }

    /// Connects to every target at once (at most a few at a time); the results are kept.
    pub fn connect_all(&self, targets: &[HostTarget]) {
        for chunk in targets.chunks(PARALLEL) {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|t| scope.spawn(move || (t.host.clone(), self.open(t))))
                    .collect();
                for h in handles {
                    if let Ok((host, result)) = h.join() {
                        self.sessions
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(host, result);
                    }
                }
            });
        }
    }

    fn open(&self, t: &HostTarget) -> Result<Arc<Session>, ConnectError> {
        let accept = self
            .accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.host)
            .cloned();
        let password = self
            .passwords
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.host)
            .cloned();
        Session::connect(t, &self.known, accept.as_deref(), password.as_deref()).map(Arc::new)
    }

    /// The connection to a host: the one already open, or a new one when there is none yet or
    /// it dropped.
    pub fn session(&self, t: &HostTarget) -> Result<Arc<Session>, ConnectError> {
        if let Some(Ok(s)) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.host)
            && s.still_open()
        {
            return Ok(s.clone());
        }
        let result = self.open(t);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(t.host.clone(), result.clone());
        result
    }

    /// A new connection to a host, replacing the one kept (which a restart has ended): the
    /// host key is checked against the pinned one as for any connection.
    pub fn reconnect(&self, t: &HostTarget) -> Result<Arc<Session>, ConnectError> {
        let result = self.open(t);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(t.host.clone(), result.clone());
        result
    }

    /// What connecting to a host gave, when it was tried.
    pub fn result(&self, host: &str) -> Option<Result<Arc<Session>, ConnectError>> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .cloned()
    }
}
