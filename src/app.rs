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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
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
        Command::List => list(),
        Command::Validate { runbooks } => validate(&runbooks),
        Command::Checklist {
            runbook,
            format,
            plan,
            run,
            output,
        } => {
            let (_, rb) = load_runbook(&runbook)?;
            let mut bindings = bindings(&rb, &plan)?;
            let as_run = match &run {
                Some(dir) => Some(as_run(&rb, dir, &mut bindings)?),
                None => None,
            };
            let plan = Plan::new(&rb, &bindings);
            let text = match format {
                Format::Text => crate::checklist::text(&plan, as_run.as_ref()),
                Format::Md => crate::checklist::markdown(&plan, as_run.as_ref()),
                Format::Html => crate::checklist::html(&plan, as_run.as_ref()),
            };
            emit(&text, output.as_deref())?;
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
        Command::Log { run, state_dir } => crate::status::log(run.as_deref(), state_dir.as_deref()),
        Command::HoldLock { run, state_dir } => {
            crate::status::hold_lock(&run, state_dir.as_deref())
        }
    }
}

/// `stepwise check`: the dry-run. Reads only; exits 1 when a finding is blocking.
fn check(runbook: &str, args: &PlanArgs, json: bool) -> Result<ExitCode, Error> {
    let (_, rb) = load_runbook(runbook)?;
    let bindings = bindings(&rb, args)?;
    let plan = Plan::new(&rb, &bindings);
    let opts = crate::dryrun::CheckOptions {
        interactive: false,
        env: crate::actions::CheckEnv {
            backup_dir: Some(crate::journal::state_dir(None)),
        },
    };
    let report = crate::dryrun::check_plan(&plan, &bindings, &opts);
    // Written as it goes: the whole document of a large plan would be hundreds of megabytes.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, crate::stdio::Out);
    if json {
        crate::dryrun::write_json(&report, &mut out)
    } else {
        crate::dryrun::write_text(&report, &mut out)
    }
    .and_then(|()| std::io::Write::flush(&mut out))
    .map_err(|e| Error::io("cannot write to standard output", &e))?;
    Ok(if report.has_blocking() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

/// The as-run record of a run folder: its ticks, and its parameter values and hosts (those given
/// on the command line win).
fn as_run(
    rb: &Runbook,
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
    let mut label = run.id().to_string();
    if run.header().rehearsal {
        label.push_str(" (rehearsal)");
    }
    Ok(crate::checklist::as_run(&label, &read))
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

fn list() -> Result<ExitCode, Error> {
    let mut rows = Vec::new();
    for (id, text) in bundled::BUNDLED {
        let source = Source {
            name: format!("runbooks/{id}.yaml"),
            text: (*text).to_string(),
        };
        let loaded = runbook::load(&source);
        let (title, article) = match &loaded.runbook {
            Some(rb) => (rb.title.clone(), rb.article.clone()),
            None => (
                "(invalid: run `stepwise validate`)".to_string(),
                String::new(),
            ),
        };
        rows.push((id.to_string(), article, title));
    }
    let id_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(2).max(2);
    let art_w = rows.iter().map(|r| r.1.len()).max().unwrap_or(7).max(7);
    let mut out = format!("{:id_w$}  {:art_w$}  TITLE\n", "ID", "ARTICLE");
    for (id, article, title) in rows {
        out.push_str(&format!("{id:id_w$}  {article:art_w$}  {title}\n"));
    }
    emit(&out, None)?;
    Ok(ExitCode::Success)
}

fn validate(args: &[String]) -> Result<ExitCode, Error> {
    let mut failed = false;
    for arg in args {
        let source = match bundled::resolve(arg) {
            Ok(s) => s,
            Err(message) => {
                crate::errln!("stepwise: {message}");
                failed = true;
                continue;
            }
        };
        let loaded = runbook::load(&source);
        let rendered = runbook::render_diagnostics(&source, &loaded.diagnostics);
        crate::stdio::err(&rendered);
        if loaded.errors() > 0 {
            failed = true;
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
    Ok(if failed {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}
