//! The commands: turns parsed arguments into work and work into an exit code.
//!
//! Each command loads what it needs through the stages (runbook -> plan -> consumer) and maps
//! every error to the exit code of the contract. Nothing here knows how a stage works inside.

use std::path::Path;

use clap::Parser;

use crate::cli::{Cli, Command, Format, PlanArgs};
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::input::{bindings, load_runbook, plural};
use crate::plan::{Bindings, Plan};
use crate::runbook::{self, Runbook, Source, bundled};

pub fn main() -> i32 {
    crate::completion::answer_if_asked();
    let cli = match Cli::try_parse() {
        Ok(cli) => {
            crate::color::apply(cli.color);
            cli
        }
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            let _ = e.print();
            return code.code();
        }
    };
    match run(cli.command) {
        Ok(code) => code.code(),
        Err(Error::InvalidRunbook) => ExitCode::Failure.code(),
        Err(e) => {
            crate::errln!("stepwise: {e}");
            e.exit_code().code()
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::List { json } => list(json),
        Command::Validate { runbooks, json } => validate(&runbooks, json),
        Command::Checklist {
            runbook,
            format,
            plan,
            run,
            output,
            change,
        } => {
            let (source, rb) = load_runbook(&runbook)?;
            let mut bindings = bindings(&rb, &plan)?;
            let as_run = match &run {
                Some(dir) => Some(as_run(&rb, &source, dir, &mut bindings)?),
                None => None,
            };
            let plan = Plan::new(&rb, &bindings);
            let record = crate::checklist::Record {
                hash: source.content_hash(),
                change: crate::checklist::Change {
                    number: change.change_number,
                    window: change.window,
                    operator: change.operator,
                    approver: change.approver,
                },
            };
            let format = match format {
                Format::Text => crate::checklist::Format::Text,
                Format::Md => crate::checklist::Format::Markdown,
                Format::Html => crate::checklist::Format::Html,
            };
            // Written as it is made, a phase at a time: the whole document of a large plan
            // would be a few hundred bytes per step instance.
            let write = |w: &mut dyn std::io::Write| {
                crate::checklist::write(format, &plan, as_run.as_ref(), &record, w)
            };
            // `-o -` is standard output, as with most tools that take an output file.
            match output.filter(|p| p.as_os_str() != "-") {
                Some(path) => crate::fsutil::write_atomic_with(&path, write)
                    .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?,
                None => {
                    let mut out = std::io::BufWriter::with_capacity(1 << 16, crate::stdio::Out);
                    write(&mut out)
                        .and_then(|()| std::io::Write::flush(&mut out))
                        .map_err(|e| Error::io("cannot write to standard output", &e))?;
                }
            }
            Ok(ExitCode::Success)
        }
        Command::Check {
            runbook,
            plan,
            json,
        } => check(&runbook, &plan, json),
        Command::Run {
            runbook,
            plan,
            answers,
            state_dir,
            rehearse,
            operator,
        } => crate::engine::start::run(crate::engine::start::RunOptions {
            runbook: &runbook,
            plan: &plan,
            answers: answers.as_deref(),
            state_dir: state_dir.as_deref(),
            rehearse,
            operator: operator.as_deref(),
        }),
        Command::Resume {
            run,
            answers,
            state_dir,
            operator,
        } => crate::engine::start::resume(crate::engine::start::ResumeOptions {
            run_dir: run.as_deref(),
            answers: answers.as_deref(),
            state_dir: state_dir.as_deref(),
            operator: operator.as_deref(),
        }),
        Command::Status {
            run,
            state_dir,
            json,
        } => crate::status::status(run.as_deref(), state_dir.as_deref(), json),
        Command::Log {
            run,
            state_dir,
            json,
        } => crate::status::log(run.as_deref(), state_dir.as_deref(), json),
        Command::Schema { of } => {
            let schema = match of {
                crate::cli::SchemaOf::Runbook => runbook::schema::runbook(),
                crate::cli::SchemaOf::Answers => runbook::schema::answers(),
                crate::cli::SchemaOf::Inventory => runbook::schema::inventory(),
            };
            emit(&json_text(&schema), None)?;
            Ok(ExitCode::Success)
        }
        Command::New { file } => crate::scaffold::new(&file),
        Command::Completions { shell } => {
            let script = crate::completion::script(shell)
                .map_err(|e| Error::io("cannot write the completion script", &e))?;
            emit(&String::from_utf8_lossy(&script), None)?;
            Ok(ExitCode::Success)
        }
        Command::Man => {
            let page = crate::completion::man_page()
                .map_err(|e| Error::io("cannot write the man page", &e))?;
            emit(&page, None)?;
            Ok(ExitCode::Success)
        }
        Command::HoldLock { run, state_dir } => {
            crate::status::hold_lock(&run, state_dir.as_deref())
        }
    }
}

/// Asks, hidden, the password of each host whose inventory says `auth: password`, when
/// standard input and error are a terminal; without one nothing is asked, and connecting to
/// such a host is a finding that says a password cannot be answered from a file.
fn ask_passwords(
    hosts: &crate::target::Hosts,
    needed: &[crate::target::HostTarget],
) -> Result<(), Error> {
    use std::io::IsTerminal;
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    for t in needed
        .iter()
        .filter(|t| t.auth == crate::target::AuthKind::Password)
    {
        if !terminal {
            continue;
        }
        let password = dialoguer::Password::new()
            .with_prompt(format!(
                "SSH password of {} on {} (not stored)",
                t.user, t.host
            ))
            .interact()
            .map_err(|e| Error::io("cannot read a password at the terminal", &e.into()))?;
        hosts.set_password(&t.host, password);
    }
    Ok(())
}

/// `stepwise check`: the dry-run. Reads only; exits 1 when a finding is blocking.
fn check(runbook: &str, args: &PlanArgs, json: bool) -> Result<ExitCode, Error> {
    let (_, rb) = load_runbook(runbook)?;
    let bindings = bindings(&rb, args)?;
    let plan = Plan::new(&rb, &bindings);
    // Every SSH host the plan needs, reached at once; nothing is pinned or changed there.
    let hosts = std::sync::Arc::new(crate::target::Hosts::new(&plan.inventory));
    let needed = crate::target::Hosts::needed(&plan);
    ask_passwords(&hosts, &needed)?;
    hosts.connect_all(&needed);
    let opts = crate::dryrun::CheckOptions {
        interactive: false,
        env: crate::actions::CheckEnv {
            backup_dir: Some(crate::journal::state_dir(None)),
        },
        hosts: Some(hosts),
    };
    let report = crate::dryrun::check_plan(&plan, &bindings, &opts);
    // Written as it is made: the plan's entries and findings of a large plan are never held.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, crate::stdio::Out);
    let summary = if json {
        crate::dryrun::write_json(&report, &mut out)
    } else {
        crate::dryrun::write_text(&report, console::colors_enabled(), &mut out)
    }
    .and_then(|summary| std::io::Write::flush(&mut out).map(|()| summary))
    .map_err(|e| Error::io("cannot write to standard output", &e))?;
    Ok(if summary.has_blocking() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

/// The as-run record of a run folder: its ticks, and its parameter values and hosts (those given
/// on the command line win).
fn as_run(
    rb: &Runbook,
    source: &Source,
    dir: &Path,
    bindings: &mut Bindings,
) -> Result<crate::checklist::AsRun, Error> {
    use crate::journal;
    let fail = |e: journal::Error| match e {
        journal::Error::NotFound(m) => Error::Usage(m),
        e => Error::Failed(e.to_string()),
    };
    let run =
        journal::Run::find(&journal::state_dir(None), &dir.display().to_string()).map_err(fail)?;
    if run.header().runbook_id != rb.id {
        return Err(Error::Usage(format!(
            "--run {}: that run is of runbook `{}`, not `{}`",
            dir.display(),
            run.header().runbook_id,
            rb.id
        )));
    }
    let read = run.read_journal().map_err(fail)?;
    let progress = journal::Progress::replay(&read.events);
    let recorded = run.bindings(&progress);
    for (k, v) in recorded.values {
        bindings.values.entry(k).or_insert(v);
    }
    for (k, v) in recorded.hosts {
        bindings.hosts.entry(k).or_insert(v);
    }
    if bindings.inventory.is_empty() {
        bindings.inventory = recorded.inventory;
    }
    let mut label = run.id().to_string();
    if run.header().rehearsal {
        label.push_str(" (rehearsal)");
    }
    let mut record = crate::checklist::as_run(&label, &read);
    let plan = Plan::new(rb, bindings);
    record.summary = run_summary(&run, &read.events, &progress.counts(&plan), source);
    Ok(record)
}

/// The run summary of an as-run record: start, end, operators, machines, counts by outcome, the
/// runbook's hash (and whether the runbook printed is the one that ran), rehearsal or not.
fn run_summary(
    run: &crate::journal::Run,
    events: &[crate::journal::Event],
    c: &crate::journal::Counts,
    source: &Source,
) -> Vec<(&'static str, String)> {
    use crate::journal::EventKind;
    let h = run.header();
    let ended = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::RunFinished { outcome } => Some(format!(
            "{} ({})",
            e.time.to_rfc3339_seconds(),
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        )),
        _ => None,
    });
    let mut operators: Vec<&str> = Vec::new();
    let mut machines: Vec<&str> = vec![h.machine.as_str()];
    for e in events {
        if !operators.contains(&e.operator.as_str()) {
            operators.push(&e.operator);
        }
        if let EventKind::Resumed { machine, .. } = &e.kind
            && !machines.contains(&machine.as_str())
        {
            machines.push(machine);
        }
    }
    let hash = if h.runbook_sha256 == source.content_hash() {
        h.runbook_sha256.clone()
    } else {
        format!(
            "{} (the runbook printed here has changed since: {})",
            h.runbook_sha256,
            source.content_hash()
        )
    };
    vec![
        ("Run", run.id().to_string()),
        ("Started", h.started.to_rfc3339_seconds()),
        ("Ended", ended.unwrap_or_else(|| "not finished".to_string())),
        ("Operators", operators.join(", ")),
        ("Machines", machines.join(", ")),
        (
            "Outcomes",
            format!(
                "{} done ({} by hand), {} partly done, {} skipped, {} failed, {} in doubt, {} pending, of {}",
                c.done,
                c.by_hand,
                c.partly_done,
                c.skipped,
                c.failed,
                c.in_doubt,
                c.pending,
                c.total
            ),
        ),
        ("Runbook SHA-256", hash),
        (
            "Rehearsal",
            if h.rehearsal {
                "yes: a sandbox stood in for every path; no command ran".to_string()
            } else {
                "no".to_string()
            },
        ),
    ]
}

/// Writes command output to a file (atomically) or to standard output; a closed pipe is not an
/// error.
fn emit(text: &str, output: Option<&Path>) -> Result<(), Error> {
    match output {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e)),
        None => crate::stdio::out(text),
    }
}

/// The version of the JSON documents of `list`, `validate`, `status` and `log` (docs/json.md).
pub const JSON_FORMAT: u32 = 1;

fn json_text(doc: &serde_json::Value) -> String {
    format!("{doc:#}\n")
}

fn list(json: bool) -> Result<ExitCode, Error> {
    let mut rows = Vec::new();
    for (id, text) in bundled::BUNDLED {
        let source = Source {
            name: format!("runbooks/{id}.yaml"),
            text: (*text).to_string(),
        };
        let loaded = runbook::load(&source);
        rows.push((id.to_string(), source, loaded.runbook));
    }
    if json {
        let runbooks: Vec<serde_json::Value> = rows
            .iter()
            .map(|(id, source, rb)| {
                serde_json::json!({
                    "id": id,
                    "valid": rb.is_some(),
                    "title": rb.as_ref().map(|r| &r.title),
                    "article": rb.as_ref().map(|r| &r.article),
                    "product": rb.as_ref().map(|r| &r.product),
                    "released": rb.as_ref().and_then(|r| r.released.as_ref()),
                    "sha256": source.content_hash(),
                })
            })
            .collect();
        let doc = serde_json::json!({ "format": JSON_FORMAT, "runbooks": runbooks });
        emit(&json_text(&doc), None)?;
        return Ok(ExitCode::Success);
    }
    let rows: Vec<(String, String, String)> = rows
        .into_iter()
        .map(|(id, _, rb)| match rb {
            Some(rb) => (id, rb.article, rb.title),
            None => (
                id,
                String::new(),
                "(invalid: run `stepwise validate`)".to_string(),
            ),
        })
        .collect();
    let id_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(2).max(2);
    let art_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(7).max(7);
    let mut out = format!("{:id_w$}  {:art_w$}  TITLE\n", "ID", "ARTICLE");
    for (id, article, title) in rows {
        out.push_str(&format!("{id:id_w$}  {article:art_w$}  {title}\n"));
    }
    emit(&out, None)?;
    Ok(ExitCode::Success)
}

/// `validate`: every diagnostic of every runbook, as text on standard error with a line per
/// file on standard output, or (`--json`) one document on standard output.
fn validate(args: &[String], json: bool) -> Result<ExitCode, Error> {
    let mut failed = false;
    let mut reports = Vec::new();
    for arg in args {
        let source = match bundled::resolve(arg) {
            Ok(s) => s,
            Err(message) => {
                crate::errln!("stepwise: {message}");
                failed = true;
                reports.push(serde_json::json!({
                    "runbook": arg,
                    "file": null,
                    "valid": false,
                    "error": message,
                    "errors": 0,
                    "warnings": 0,
                    "diagnostics": [],
                }));
                continue;
            }
        };
        let loaded = runbook::load(&source);
        if loaded.errors() > 0 {
            failed = true;
        }
        if json {
            reports.push(validate_json(arg, &source, &loaded));
            continue;
        }
        let rendered = runbook::render_diagnostics(&source, &loaded.diagnostics);
        crate::stdio::err(&rendered);
        if loaded.errors() > 0 {
            crate::errln!(
                "{}: invalid: {} error{}, {} warning{}",
                source.name,
                loaded.errors(),
                plural(loaded.errors()),
                loaded.warnings(),
                plural(loaded.warnings())
            );
        } else {
            crate::stdio::out(&format!(
                "{}: ok ({} warning{})\n",
                source.name,
                loaded.warnings(),
                plural(loaded.warnings())
            ))?;
        }
    }
    if json {
        let doc = serde_json::json!({
            "format": JSON_FORMAT,
            "valid": !failed,
            "runbooks": reports,
        });
        emit(&json_text(&doc), None)?;
    }
    Ok(if failed {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

fn validate_json(arg: &str, source: &Source, loaded: &runbook::Loaded) -> serde_json::Value {
    let diagnostics: Vec<serde_json::Value> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            serde_json::json!({
                "file": source.name,
                "line": d.pos.line,
                "column": d.pos.col,
                "severity": d.severity.word(),
                "code": d.code.as_str(),
                "message": d.message,
            })
        })
        .collect();
    serde_json::json!({
        "runbook": arg,
        "file": source.name,
        "valid": loaded.errors() == 0,
        "errors": loaded.errors(),
        "warnings": loaded.warnings(),
        "diagnostics": diagnostics,
    })
}
