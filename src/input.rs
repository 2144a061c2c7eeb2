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
        b.hosts = read_inventory(rb, path)?;
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

/// Reads an inventory file: a YAML map of role id to a list of host names.
pub fn read_inventory(rb: &Runbook, path: &Path) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let shown = path.display().to_string();
    let text = crate::fsutil::read_text(path)
        .map_err(|e| Error::Usage(e.describe(&format!("inventory {shown}"), &shown)))?;
    let hosts: BTreeMap<String, Vec<String>> = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
            .unwrap_or_else(|| path.display().to_string());
        Error::Usage(format!(
            "{at}: an inventory is a map of role to a list of host names: {}",
            strip_location(&e.to_string())
        ))
    })?;
    for (role, list) in &hosts {
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
            let at = locate(&shown, &text, &[Seg::Key(role), Seg::Index(i)]);
            return Err(Error::Usage(format!("{at}: role `{role}`: {problem}")));
        }
    }
    Ok(hosts)
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
