//! Command-line input turned into what the stages take: a `RUNBOOK` argument into a loaded
//! runbook (its diagnostics printed when it is invalid), and `--set` and `--inventory` into
//! bindings checked against it. Shared by every command that builds a plan.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::PlanArgs;
use crate::error::Error;
use crate::plan::Bindings;
use crate::runbook::yaml::Seg;
use crate::runbook::{self, ParamType, Runbook, Source, bundled};
use crate::target::Inventory;

/// Resolves and loads a runbook, printing its diagnostics; an invalid one stops the command.
pub fn load_runbook(arg: &str) -> Result<(Source, Runbook), Error> {
    let source = bundled::resolve(arg).map_err(Error::Usage)?;
    let loaded = runbook::load(&source);
    if loaded.errors() > 0 {
        crate::stdio::err(&runbook::render_diagnostics(&source, &loaded.diagnostics));
        crate::errln!(
            "stepwise: {} is invalid ({} error{}); `stepwise validate` shows the same",
            source.name,
            loaded.errors(),
            plural(loaded.errors())
        );
        return Err(Error::InvalidRunbook);
    }
    let runbook = loaded.runbook.ok_or(Error::InvalidRunbook)?;
    Ok((source, runbook))
}

/// Turns `--set` and `--inventory` into bindings, checking each against the runbook.
pub fn bindings(rb: &Runbook, args: &PlanArgs) -> Result<Bindings, Error> {
    let mut b = Bindings::default();
    for set in &args.set {
        let Some((name, value)) = set.split_once('=') else {
            return Err(Error::Usage(format!("--set {set}: expected NAME=VALUE")));
        };
        let name = name.trim();
        let Some(param) = rb.parameter(name) else {
            let names = rb.parameters.iter().map(|p| p.name.as_str());
            let hint = match runbook::load::suggest(name, names) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => String::new(),
            };
            return Err(Error::Usage(format!(
                "--set {set}: runbook `{}` has no parameter `{name}`{hint}",
                rb.id
            )));
        };
        let value = param
            .parse_value(value)
            .map_err(|m| Error::Usage(format!("--set {set}: {m}")))?;
        b.values.insert(name.to_string(), value);
    }
    if let Some(path) = &args.inventory {
        let inventory = read_inventory(rb, path)?;
        b.hosts = inventory.roles.clone();
        b.inventory = inventory;
    }
    Ok(b)
}

/// Warns about each secret given with `--set`: its value is in the process list, for other
/// users to read, and in the shell history. Said by `run`, which uses the value.
pub fn warn_secrets_on_command_line(rb: &Runbook, args: &PlanArgs) {
    for set in &args.set {
        let name = set.split_once('=').map_or(set.as_str(), |(n, _)| n).trim();
        if rb
            .parameter(name)
            .is_some_and(|p| p.kind == ParamType::Secret)
        {
            crate::errln!(
                "stepwise: warning: --set {name}=…: a secret given on the command line is visible to other users in the process list and stays in the shell history; give it at the prompt or in the environment variable STEPWISE_SECRET_{} instead",
                name.to_uppercase()
            );
        }
    }
}

/// Reads an inventory file (see [`crate::target::inventory`] for its two shapes) and checks it
/// against the runbook: every role exists and has hosts, every host value names a parameter
/// and fits its type. Relative paths in it are made relative to its folder.
pub fn read_inventory(rb: &Runbook, path: &Path) -> Result<Inventory, Error> {
    let shown = path.display().to_string();
    let text = crate::fsutil::read_text(path)
        .map_err(|e| Error::Usage(e.describe(&format!("inventory {shown}"), &shown)))?;
    let at = |e: &serde_yaml::Error| {
        e.location()
            .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
            .unwrap_or_else(|| path.display().to_string())
    };
    let tree: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: an inventory is YAML: {}",
            at(&e),
            strip_location(&e.to_string())
        ))
    })?;
    let described = describes_hosts(&tree);
    let mut inventory = if described {
        serde_yaml::from_str::<Inventory>(&text).map_err(|e| {
            Error::Usage(format!(
                "{}: an inventory has `roles` (role to host names), `defaults`, `hosts` (host to how it is reached) and `known_hosts`: {}",
                at(&e),
                strip_location(&e.to_string())
            ))
        })?
    } else {
        let roles: BTreeMap<String, Vec<String>> = serde_yaml::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{}: an inventory is a map of role to a list of host names: {}",
                at(&e),
                strip_location(&e.to_string())
            ))
        })?;
        Inventory {
            roles,
            ..Inventory::default()
        }
    };
    for (role, list) in &inventory.roles {
        if rb.role(role).is_none() {
            let ids = rb.roles.iter().map(|r| r.id.as_str());
            let hint = match runbook::load::suggest(role, ids) {
                Some(s) => format!("; did you mean `{s}`?"),
                None => String::new(),
            };
            return Err(Error::Usage(format!(
                "{}: runbook `{}` has no role `{role}`{hint}",
                path.display(),
                rb.id
            )));
        }
        if list.is_empty() {
            return Err(Error::Usage(format!(
                "{}: role `{role}` has an empty host list",
                path.display()
            )));
        }
        if let Some((i, problem)) = runbook::host_list_problem(list) {
            let mut segs = Vec::new();
            if described {
                segs.push(Seg::Key("roles"));
            }
            segs.push(Seg::Key(role));
            segs.push(Seg::Index(i));
            let at = locate(&shown, &text, &segs);
            return Err(Error::Usage(format!("{at}: role `{role}`: {problem}")));
        }
    }
    let entries = inventory
        .hosts
        .iter()
        .map(|(h, e)| (format!("host {h}"), e))
        .chain(
            inventory
                .defaults
                .iter()
                .map(|e| ("defaults".to_string(), e)),
        );
    for (whose, entry) in entries {
        for (name, value) in &entry.vars {
            check_host_value(rb, name, value)
                .map_err(|m| Error::Usage(format!("{}: {whose}: vars: {m}", path.display())))?;
        }
    }
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let base = std::path::absolute(&base).unwrap_or(base);
    inventory.anchor(&base);
    if inventory.known_hosts.is_none()
        && inventory
            .hosts
            .values()
            .chain(&inventory.defaults)
            .any(|e| e.target == Some(crate::target::TargetKind::Ssh))
    {
        inventory.known_hosts = Some(inventory.known_hosts_file(&base));
    }
    Ok(inventory)
}

/// Whether an inventory is of the shape that describes hosts (not only role lists).
fn describes_hosts(tree: &serde_yaml::Value) -> bool {
    let Some(map) = tree.as_mapping() else {
        return false;
    };
    ["roles", "hosts", "defaults"]
        .iter()
        .any(|k| map.get(*k).is_some_and(serde_yaml::Value::is_mapping))
        || map
            .get("known_hosts")
            .is_some_and(serde_yaml::Value::is_string)
}

/// Checks one of a host's values: it names a parameter that is not a secret, and fits it.
fn check_host_value(rb: &Runbook, name: &str, value: &str) -> Result<(), String> {
    if name == crate::plan::HOST_NAME {
        return Err("`host` is the host's own name and cannot be given".to_string());
    }
    let Some(param) = rb.parameter(name) else {
        let names = rb.parameters.iter().map(|p| p.name.as_str());
        let hint = match runbook::load::suggest(name, names) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => String::new(),
        };
        return Err(format!(
            "runbook `{}` has no parameter `{name}`{hint}",
            rb.id
        ));
    };
    if param.kind == ParamType::Secret {
        return Err(format!(
            "`{name}` is a secret and is never written in a file; it is asked at the start of the run"
        ));
    }
    param
        .parse_value(value)
        .map(|_| ())
        .map_err(|m| format!("{name}={value}: {m}"))
}

/// `FILE:LINE:COL` of the node at `path` in a YAML text, or `FILE` when it cannot be found.
pub fn locate(file: &str, text: &str, path: &[Seg]) -> String {
    match runbook::yaml::parse(text)
        .ok()
        .flatten()
        .and_then(|root| root.locate(path))
    {
        Some(pos) => format!("{file}:{}:{}", pos.line, pos.col),
        None => file.to_string(),
    }
}

/// serde_yaml appends " at line L column C" to its messages; the position is printed first.
pub fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// `s` for a count other than one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
