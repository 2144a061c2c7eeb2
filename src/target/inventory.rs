//! The inventory: which hosts each role has, and how each host is reached.
//!
//! Two shapes are read. The first, kept for the runs made before hosts had targets, is a map of
//! role to host names (`web_services: [WEB01, WEB02]`). The second describes hosts as well:
//!
//! ```yaml
//! roles:
//!   web_services: [WEB01, WEB02]
//! defaults:                 # every host without an entry of its own (optional)
//!   target: ssh
//!   user: hmcadmin
//!   shell: powershell
//! hosts:
//!   WEB01: { target: ssh, address: 10.0.0.11, key: keys/id_ed25519 }
//!   WEB02: { target: ssh, address: 10.0.0.12, port: 2222, auth: agent,
//!            vars: { msi_share: 'D:\MSIShare' } }
//!   MPS01: { target: local }
//! known_hosts: stepwise-known-hosts
//! ```
//!
//! A host's `vars` give parameters of the runbook other values on that host only; they are
//! checked like `--set` (the parameter must exist, the value must fit its type, and a secret
//! cannot be given this way). Nothing here connects anywhere or reads a key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How a host's actions are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// This machine: the host is the one `stepwise` runs on.
    Local,
    /// A host reached over SSH.
    Ssh,
}

impl TargetKind {
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Local => "local",
            TargetKind::Ssh => "ssh",
        }
    }
}

/// The shell of a target, which decides how a command line is sent to it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// Windows PowerShell: commands go as `powershell -NoProfile -NonInteractive
    /// -EncodedCommand` (the default: the bundled runbooks are for Windows servers).
    #[default]
    Powershell,
    /// The Windows command processor: arguments quoted by the Windows rules.
    Cmd,
    /// A POSIX shell: arguments quoted for `sh`.
    Sh,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Powershell => "powershell",
            Shell::Cmd => "cmd",
            Shell::Sh => "sh",
        }
    }
}

/// How `stepwise` proves who it is to an SSH server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// A private key file (`key:`).
    Key,
    /// The keys of a running SSH agent.
    Agent,
    /// A password, asked at the terminal when the run needs the host; never stored.
    Password,
}

/// One host's entry in an inventory (or its `defaults`), as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetKind>,
    /// The name or address to connect to; the host's name when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    /// A private key file (relative to the inventory's folder); implies `auth: key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Shell>,
    /// Seconds to wait for a connection (10 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<u64>,
    /// Parameter values on this host only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

impl HostEntry {
    /// This entry, with what it does not say taken from `defaults`.
    fn over(&self, defaults: &HostEntry) -> HostEntry {
        let mut vars = defaults.vars.clone();
        vars.extend(self.vars.clone());
        HostEntry {
            target: self.target.or(defaults.target),
            address: self.address.clone().or_else(|| defaults.address.clone()),
            port: self.port.or(defaults.port),
            user: self.user.clone().or_else(|| defaults.user.clone()),
            auth: self.auth.or(defaults.auth),
            key: self.key.clone().or_else(|| defaults.key.clone()),
            shell: self.shell.or(defaults.shell),
            connect_timeout: self.connect_timeout.or(defaults.connect_timeout),
            vars,
        }
    }
}

/// Where one host's actions run, with everything needed to get there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostTarget {
    /// The host's name, as the role lists it.
    pub host: String,
    pub kind: TargetKind,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: AuthKind,
    pub key: Option<PathBuf>,
    pub shell: Shell,
    pub connect_timeout: u64,
    pub vars: BTreeMap<String, String>,
}

impl HostTarget {
    /// How the operator reads the target: `local`, `ssh hmcadmin@10.0.0.11:22 (powershell)`.
    pub fn describe(&self) -> String {
        match self.kind {
            TargetKind::Local => "local (this machine)".to_string(),
            TargetKind::Ssh => format!(
                "ssh {}@{}:{} ({})",
                self.user,
                self.address,
                self.port,
                self.shell.name()
            ),
        }
    }

    /// The short form for the journal and the as-run record: `local`, `ssh 10.0.0.11:22`.
    pub fn short(&self) -> String {
        match self.kind {
            TargetKind::Local => "local".to_string(),
            TargetKind::Ssh => format!("ssh {}:{}", self.address, self.port),
        }
    }
}

/// An inventory: host lists per role, and how hosts are reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Host lists per role; a role not listed keeps the runbook's (or the answers file's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Vec<String>>,
    /// Applied to every host that has no entry of its own in `hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<HostEntry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostEntry>,
    /// Where the host keys of SSH targets are pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self.defaults.is_none() && self.hosts.is_empty() && self.known_hosts.is_none()
    }

    /// The entry a host has (its own, matched ignoring case as Windows names are, over the
    /// defaults; or the defaults), `None` when the inventory says nothing about it.
    pub fn entry(&self, host: &str) -> Option<HostEntry> {
        let own = self.hosts.get(host).or_else(|| {
            self.hosts
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(host))
                .map(|(_, e)| e)
        });
        match (own, &self.defaults) {
            (Some(e), Some(d)) => Some(e.over(d)),
            (Some(e), None) => Some(e.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => None,
        }
    }

    /// Where a host's actions run. A host the inventory gives no target is local only when it
    /// is this machine (`this_machine` is its name); otherwise it has no target and its
    /// automated steps can only be done by hand.
    pub fn target(&self, host: &str, this_machine: &str) -> Option<HostTarget> {
        let entry = self.entry(host).unwrap_or_default();
        let kind = match entry.target {
            Some(kind) => kind,
            None if is_this_machine(host, this_machine) => TargetKind::Local,
            None => return None,
        };
        let auth = entry.auth.unwrap_or(if entry.key.is_some() {
            AuthKind::Key
        } else {
            AuthKind::Agent
        });
        Some(HostTarget {
            host: host.to_string(),
            kind,
            address: entry.address.clone().unwrap_or_else(|| host.to_string()),
            port: entry.port.unwrap_or(22),
            user: entry.user.clone().unwrap_or_else(current_user),
            auth,
            key: entry.key.clone(),
            shell: entry.shell.unwrap_or_default(),
            connect_timeout: entry.connect_timeout.unwrap_or(10),
            vars: entry.vars,
        })
    }

    /// Makes relative paths (keys, the known-hosts file) relative to `base`, the inventory's
    /// folder, and expands a leading `~`, so that the run keeps them wherever it is resumed.
    pub fn anchor(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| *p = anchored(base, p);
        for e in self.hosts.values_mut().chain(self.defaults.as_mut()) {
            if let Some(k) = e.key.as_mut() {
                fix(k);
            }
        }
        if let Some(k) = self.known_hosts.as_mut() {
            fix(k);
        }
    }

    /// Makes every host this machine: for a rehearsal, where a sandbox stands in for every
    /// folder of every host and no command is run.
    pub fn rehearse_locally(&mut self) {
        for e in self.hosts.values_mut() {
            e.target = Some(TargetKind::Local);
        }
        let mut defaults = self.defaults.take().unwrap_or_default();
        defaults.target = Some(TargetKind::Local);
        self.defaults = Some(defaults);
    }

    /// The known-hosts file: the inventory's, or `stepwise-known-hosts` in `fallback_dir`.
    pub fn known_hosts_file(&self, fallback_dir: &Path) -> PathBuf {
        self.known_hosts
            .clone()
            .unwrap_or_else(|| fallback_dir.join("stepwise-known-hosts"))
    }
}

fn anchored(base: &Path, p: &Path) -> PathBuf {
    let text = p.to_string_lossy();
    if let Some(rest) = text.strip_prefix("~/").or_else(|| text.strip_prefix("~\\"))
        && let Some(home) = home_dir()
    {
        return home.join(rest);
    }
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
}

/// The account `stepwise` runs as, the SSH user when the inventory names none.
fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "root".into())
}

/// Whether a host name names this machine: its own name (ignoring case and a domain), or
/// `localhost`.
pub fn is_this_machine(host: &str, this_machine: &str) -> bool {
    let short = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    host.eq_ignore_ascii_case("localhost")
        || (!this_machine.is_empty() && short(host) == short(this_machine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_without_a_target_is_local_only_when_it_is_this_machine() {
        let inv = Inventory::default();
        assert_eq!(inv.target("WEB01", "mps01"), None);
        let me = inv.target("MPS01", "mps01.corp.example").unwrap();
        assert_eq!(me.kind, TargetKind::Local);
        assert_eq!(
            inv.target("localhost", "x").unwrap().kind,
            TargetKind::Local
        );
    }

    #[test]
    fn defaults_fill_what_an_entry_does_not_say() {
        let inv: Inventory = serde_yaml::from_str(
            "defaults: { target: ssh, user: admin, shell: cmd, vars: { a: '1' } }\n\
             hosts:\n  WEB02: { address: 127.0.0.3, port: 2222, key: k, vars: { b: '2' } }\n",
        )
        .unwrap();
        let t = inv.target("web02", "me").unwrap();
        assert_eq!(t.kind, TargetKind::Ssh);
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("127.0.0.3", 2222, "admin")
        );
        assert_eq!((t.auth, t.shell), (AuthKind::Key, Shell::Cmd));
        assert_eq!(t.vars.len(), 2);
        let other = inv.target("WEB09", "me").unwrap();
        assert_eq!(
            (other.address.as_str(), other.auth),
            ("WEB09", AuthKind::Agent)
        );
    }
}
