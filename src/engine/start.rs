//! Starting and resuming a run: everything before the walk and after it.
//!
//! `run`: values and hosts (from `--set`, an inventory, an answers file or the operator), the
//! plan, the run folder, the dry-run checks, the walk. `resume`: the run folder, the lock, a
//! changed runbook, secrets asked again, the summary, the checks, the walk from where it stopped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::interrupt;
use super::{Ending, Walk};
use crate::actions::CheckEnv;
use crate::cli::PlanArgs;
use crate::dryrun::{self, CheckOptions};
use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::input;
use crate::journal::{self, EventKind, Identity, NewEvent, NewRun, Recorder, Run, RunState};
use crate::plan::{Bindings, Plan};
use crate::runbook::{self, ParamType, Runbook, Source, Step};
use crate::target::ssh::ConnectError;
use crate::target::{AuthKind, Hosts};
use crate::ui::scripted::Answers;
use crate::ui::terminal::TerminalPrompter;
use crate::ui::{Prompter, Stop};

fn journal_error(e: journal::Error) -> Error {
    match e {
        journal::Error::NotFound(m) => Error::Usage(m),
        e => Error::Failed(e.to_string()),
    }
}

/// The prompter for this process: an answers file, a terminal, or nobody (every prompt stops).
fn prompter(answers: Option<&Path>, rb: &Runbook) -> Result<Box<dyn Prompter>, Error> {
    if let Some(path) = answers {
        return Ok(Box::new(Answers::read(path, rb)?));
    }
    if TerminalPrompter::available() {
        return Ok(Box::new(TerminalPrompter::new()));
    }
    Ok(Box::new(Answers::none()))
}

/// How a prompt before the run exists ends the command: Ctrl-C leaves the terminal as it was
/// found and exits 130; anything else is an error.
fn not_started(s: Stop, prompter: &mut dyn Prompter) -> Result<ExitCode, Error> {
    match s {
        Stop::Missing(m) => Err(Error::Usage(format!("{m}; nothing was started"))),
        Stop::Interrupted => {
            prompter.restore();
            crate::errln!("\nInterrupted before the run started; nothing was started.");
            Ok(ExitCode::Interrupted)
        }
        Stop::Io(m) => Err(Error::Failed(format!("the terminal failed: {m}"))),
    }
}

/// Options of `stepwise run`.
pub struct RunOptions<'a> {
    pub runbook: &'a str,
    pub plan: &'a PlanArgs,
    pub answers: Option<&'a Path>,
    pub state_dir: Option<&'a Path>,
    pub rehearse: bool,
    /// `--operator`; see [`super::operator`].
    pub operator: Option<&'a str>,
}

pub fn run(opts: RunOptions) -> Result<ExitCode, Error> {
    let (source, rb) = input::load_runbook(opts.runbook)?;
    let mut prompter = prompter(opts.answers, &rb)?;
    // From the first prompt on, Ctrl-C is handled (nothing to save until the run exists).
    interrupt::install_before_start();
    let mut bindings = input::bindings(&rb, opts.plan)?;
    let operator = match super::operator::resolve(opts.operator, prompter.as_mut())? {
        Ok(name) => name,
        Err(s) => return not_started(s, prompter.as_mut()),
    };
    input::warn_secrets_on_command_line(&rb, opts.plan);
    let state_dir = journal::state_dir(opts.state_dir);

    let mut sandbox = None;
    if opts.rehearse {
        let s = super::rehearsal::Sandbox::build(&rb, &bindings)?;
        // The sandbox stands in for every host's folders too, and no command runs.
        bindings.inventory.rehearse_locally();
        for (name, path) in &s.paths {
            bindings.values.insert(
                name.clone(),
                runbook::Value::Text(path.display().to_string()),
            );
        }
        sandbox = Some(s);
    }

    prompter.show(&format!(
        "{}\n{} · {}{}",
        rb.title,
        rb.article,
        rb.product,
        if opts.rehearse {
            " · REHEARSAL (a sandbox stands in for every folder; commands are not run)"
        } else {
            ""
        }
    ));
    for p in &rb.parameters {
        if bindings.values.contains_key(&p.name) {
            continue;
        }
        match prompter.param(p) {
            Ok(value) => bindings.values.insert(p.name.clone(), value),
            Err(s) => return not_started(s, prompter.as_mut()),
        };
    }
    for (role, hosts) in prompter.given_hosts() {
        bindings.hosts.entry(role).or_insert(hosts);
    }
    let used_roles = crate::plan::used_roles(&rb, &bindings);
    for role in &rb.roles {
        if bindings.hosts.contains_key(&role.id) || !used_roles.contains(&role.id) {
            continue;
        }
        match prompter.hosts(role, &role.hosts) {
            Ok(hosts) => bindings.hosts.insert(role.id.clone(), hosts),
            Err(s) => return not_started(s, prompter.as_mut()),
        };
    }
    if opts.rehearse {
        mask_secrets(&rb, &mut bindings);
    }
    let plan = Plan::new(&rb, &bindings);
    let mut new_run = NewRun::new(&source, &plan, opts.rehearse);
    new_run.identity.operator = operator;
    // A rehearsal keeps everything it touches in its sandbox, backups included.
    new_run.backup_dir = sandbox.as_ref().map(|s| s.root.join("backup"));
    let recorder = Recorder::create(&state_dir, new_run).map_err(journal_error)?;
    // The run exists from here on: Ctrl-C leaves it to `resume`.
    interrupt::install(Box::new(|| {}));
    let run_dir = recorder.run().dir().to_path_buf();
    // The run refers to the sandbox from now on: it stays, whatever happens next.
    let sandbox_root = sandbox.map(|s| {
        let root = s.root.clone();
        s.keep();
        root
    });
    prompter.show(&format!(
        "Run {}  ·  state in {}\n{} step instances",
        recorder.run().id(),
        run_dir.display(),
        plan.instances.len()
    ));
    if let Some(root) = sandbox_root {
        prompter.show(&format!("Sandbox: {}", root.display()));
    }
    let recorder = Arc::new(Mutex::new(recorder));
    let ending = walk(
        &plan,
        &bindings,
        recorder.clone(),
        prompter.as_mut(),
        opts.rehearse,
    )?;
    show_summary(&ending, &plan, &recorder, &run_dir, prompter.as_mut());
    Ok(finish(ending, &run_dir, prompter.as_mut()))
}

/// The end-of-run summary (when the walk finished, paused or aborted): how each instance came
/// out, per host, the time, the run folder.
fn show_summary(
    ending: &Ending,
    plan: &Plan,
    recorder: &Arc<Mutex<Recorder>>,
    run_dir: &Path,
    prompter: &mut dyn Prompter,
) {
    if !matches!(ending, Ending::Finished | Ending::Paused | Ending::Aborted) {
        return;
    }
    let text = {
        let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        super::summary::end_of_run(plan, rec.progress(), run_dir, journal::Timestamp::now())
    };
    prompter.restore();
    prompter.show(&text);
}

/// A rehearsal works with `********` in place of every secret's value, so that nothing secret
/// reaches its sandbox (a `write_file` that holds a password, say), which stays after the run.
fn mask_secrets(rb: &Runbook, bindings: &mut Bindings) {
    for p in rb.parameters.iter().filter(|p| p.kind == ParamType::Secret) {
        if let Some(v) = bindings.values.get_mut(&p.name) {
            *v = runbook::Value::Text("********".into());
        }
    }
}

fn walk(
    plan: &Plan,
    bindings: &Bindings,
    recorder: Arc<Mutex<Recorder>>,
    prompter: &mut dyn Prompter,
    rehearsal: bool,
) -> Result<Ending, Error> {
    let hook_recorder = recorder.clone();
    interrupt::install(Box::new(move || {
        // Called from the signal thread; the main thread never holds this lock for long.
        if let Ok(mut rec) = hook_recorder.lock() {
            let _ = rec.record(interrupted_event());
        }
    }));
    let backup_dir = recorder
        .lock()
        .map(|r| r.run().backup_dir())
        .unwrap_or_default();
    let hosts = match reach_hosts(plan, &recorder, prompter) {
        Ok(h) => h,
        Err(s) => {
            let ending = match s {
                Stop::Interrupted => Ending::Interrupted,
                Stop::Missing(m) | Stop::Io(m) => Ending::Missing(m),
            };
            return Ok(ending);
        }
    };
    let opts = CheckOptions {
        interactive: false,
        env: CheckEnv {
            backup_dir: Some(backup_dir),
        },
        hosts: Some(hosts.clone()),
    };
    // Only what is not ok is kept: the rest is counted.
    let mut report = dryrun::check_plan(plan, bindings, &opts).problems();
    super::restart::while_restarting(&mut report, &recorder);
    let mut walk = Walk {
        plan,
        recorder,
        prompter,
        rehearsal,
        hosts,
    };
    if let Some(ending) = walk.preflight(&report)? {
        return Ok(record_ending(&walk, ending));
    }
    if let Some(ending) = walk.prerequisites()? {
        return Ok(record_ending(&walk, ending));
    }
    let ending = walk.walk()?;
    Ok(record_ending(&walk, ending))
}

/// Connects to every SSH host the plan needs, in parallel. A host key that is not pinned yet is
/// shown by its fingerprint and pinned only when the operator (or the answers file's
/// `host_keys`) accepts that very fingerprint; the acceptance is journaled.
fn reach_hosts(
    plan: &Plan,
    recorder: &Arc<Mutex<Recorder>>,
    prompter: &mut dyn Prompter,
) -> Result<Arc<Hosts>, Stop> {
    let hosts = Arc::new(Hosts::new(&plan.inventory));
    let needed = Hosts::needed(plan);
    if needed.is_empty() {
        return Ok(hosts);
    }
    for t in needed.iter().filter(|t| t.auth == AuthKind::Password) {
        if let Some(password) = prompter.host_password(&t.host, &t.user)? {
            hosts.set_password(&t.host, password);
        }
    }
    prompter.show(&format!(
        "Connecting to {} over SSH…",
        needed
            .iter()
            .map(|t| t.host.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    hosts.connect_all(&needed);
    for t in &needed {
        let Some(Err(ConnectError::UnknownHostKey {
            algorithm,
            fingerprint,
            ..
        })) = hosts.result(&t.host)
        else {
            continue;
        };
        if !prompter.accept_host_key(&t.host, &algorithm, &fingerprint)? {
            continue;
        }
        hosts.accept(&t.host, &fingerprint);
        if hosts.session(t).is_ok()
            && let Ok(mut rec) = recorder.lock()
        {
            let _ = rec.record(NewEvent::note_added(
                None,
                format!(
                    "host key of {} ({}:{}) accepted and pinned in {}: {algorithm} {fingerprint}",
                    t.host,
                    t.address,
                    t.port,
                    hosts.known_hosts().display()
                ),
            ));
        }
    }
    Ok(hosts)
}

/// The `interrupted` event, with the signal as its note when it was not Ctrl-C.
fn interrupted_event() -> NewEvent {
    let event = NewEvent::new(EventKind::Interrupted);
    match interrupt::cause() {
        Some(cause) => event.note(cause),
        None => event,
    }
}

/// Journals how a walk stopped, where the walk itself did not.
fn record_ending(walk: &Walk, ending: Ending) -> Ending {
    let event = match &ending {
        Ending::Missing(m) => Some(NewEvent::new(EventKind::Paused).note(format!("stopped: {m}"))),
        Ending::Interrupted => Some(interrupted_event()),
        _ => None,
    };
    if let Some(e) = event {
        let mut rec = walk.recorder.lock().unwrap_or_else(|e| e.into_inner());
        let _ = rec.record(e);
    }
    ending
}

fn finish(ending: Ending, run_dir: &Path, prompter: &mut dyn Prompter) -> ExitCode {
    prompter.restore();
    let shown = run_dir.display();
    match &ending {
        Ending::Finished => prompter.show(&format!("Run finished. The record is in {shown}.")),
        Ending::Paused => prompter.show(&format!(
            "Paused. Progress is saved; `stepwise resume {shown}` goes on from here."
        )),
        Ending::Missing(m) => crate::errln!(
            "stepwise: stopped: {m}\nProgress is saved; `stepwise resume {shown}` goes on from here."
        ),
        Ending::Interrupted => crate::errln!(
            "\n{}: progress is saved; `stepwise resume {shown}` goes on from here.",
            interrupt::headline()
        ),
        Ending::Aborted => crate::errln!(
            "stepwise: the run stopped. Progress is saved in {shown}; `stepwise resume` takes it up again."
        ),
    }
    ending.exit_code()
}

/// Options of `stepwise resume`.
pub struct ResumeOptions<'a> {
    pub run_dir: Option<&'a Path>,
    pub answers: Option<&'a Path>,
    pub state_dir: Option<&'a Path>,
    /// `--operator`; see [`super::operator`].
    pub operator: Option<&'a str>,
}

pub fn resume(opts: ResumeOptions) -> Result<ExitCode, Error> {
    let state_dir = journal::state_dir(opts.state_dir);
    let run = match opts.run_dir {
        Some(dir) => Run::find(&state_dir, &dir.display().to_string()).map_err(journal_error)?,
        None => newest_unfinished(&state_dir)?,
    };
    // The folder the run lives in: a run folder a killed `stepwise run` left half-built goes.
    if let Some(parent) = run.dir().parent() {
        journal::sweep_abandoned_creations(parent);
    }
    let header = run.header().clone();
    let recorded = run.runbook_source().map_err(journal_error)?;
    let current = current_source(&header.runbook_source);
    let (source, changes) = match current {
        Some(cur) if cur.content_hash() != header.runbook_sha256 => {
            let changes = changed_steps(&recorded, &cur);
            (cur, Some(changes))
        }
        Some(cur) => (cur, None),
        None => (recorded.clone(), None),
    };
    let loaded = runbook::load(&source);
    let Some(rb) = loaded.runbook else {
        crate::stdio::err(&runbook::render_diagnostics(&source, &loaded.diagnostics));
        return Err(Error::InvalidRunbook);
    };
    let mut prompter = prompter(opts.answers, &rb)?;
    interrupt::install(Box::new(|| {}));
    let mut identity = Identity::current();
    identity.operator = match super::operator::resolve(opts.operator, prompter.as_mut())? {
        Ok(name) => name,
        Err(s) => return not_started(s, prompter.as_mut()),
    };
    let mut recorder = Recorder::resume(run, identity).map_err(journal_error)?;
    let run_dir = recorder.run().dir().to_path_buf();
    for w in recorder.warnings() {
        prompter.show(&format!("warning: {w}"));
    }
    let mut bindings = recorder.run().bindings(recorder.progress());
    for p in rb.parameters.iter().filter(|p| p.kind == ParamType::Secret) {
        match prompter.param(p) {
            Ok(v) => {
                bindings.values.insert(p.name.clone(), v);
            }
            Err(s) => {
                let ending = match s {
                    Stop::Interrupted => {
                        let _ = recorder.record(interrupted_event());
                        Ending::Interrupted
                    }
                    _ => Ending::Missing(format!("the secret `{}` must be given again", p.name)),
                };
                return Ok(finish(ending, &run_dir, prompter.as_mut()));
            }
        }
    }
    if recorder.run().header().rehearsal {
        mask_secrets(&rb, &mut bindings);
    }
    let recorder = Arc::new(Mutex::new(recorder));
    if let Some(changes) = changes {
        let mut text = String::from("The runbook changed since this run started:\n");
        for c in &changes {
            text.push_str(&format!("  {c}\n"));
        }
        prompter.show(text.trim_end());
        match prompter.accept_changed_runbook(&changes) {
            Ok(true) => {
                let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
                rec.record(NewEvent::new(EventKind::RunbookChangedAccepted {
                    previous_sha256: header.runbook_sha256.clone(),
                    sha256: source.content_hash(),
                    changed_steps: changes.clone(),
                }))
                .map_err(journal_error)?;
            }
            Ok(false) => {
                let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
                let _ = rec.record(
                    NewEvent::new(EventKind::Paused)
                        .note("not resumed: the runbook changed and the change was not accepted"),
                );
                drop(rec);
                crate::errln!(
                    "stepwise: not resumed: the runbook changed and the change was not accepted"
                );
                return Ok(ExitCode::Paused);
            }
            Err(s) => {
                let ending = match s {
                    Stop::Interrupted => {
                        let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
                        let _ = rec.record(interrupted_event());
                        Ending::Interrupted
                    }
                    Stop::Missing(m) | Stop::Io(m) => Ending::Missing(m),
                };
                return Ok(finish(ending, &run_dir, prompter.as_mut()));
            }
        }
    }
    let plan = Plan::new(&rb, &bindings);
    {
        let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let counts = rec.progress().counts(&plan);
        let in_doubt = rec.progress().in_doubt();
        let mut text = format!(
            "Resuming run {} of {} ({})\n  started by {} on {} at {}{}\n  {} done, {}{} skipped, {} failed, {} left of {}",
            header.run_id,
            rb.id,
            rb.article,
            header.operator,
            header.machine,
            header.started.to_rfc3339_seconds(),
            if header.rehearsal {
                " · REHEARSAL"
            } else {
                ""
            },
            counts.done,
            if counts.partly_done > 0 {
                format!("{} partly done, ", counts.partly_done)
            } else {
                String::new()
            },
            counts.skipped,
            counts.failed,
            counts.left(),
            counts.total,
        );
        if !in_doubt.is_empty() {
            text.push_str(&format!(
                "\n  in doubt (started, never finished): {}",
                in_doubt.join(", ")
            ));
        }
        prompter.show(&text);
    }
    let ending = walk(
        &plan,
        &bindings,
        recorder.clone(),
        prompter.as_mut(),
        header.rehearsal,
    )?;
    show_summary(&ending, &plan, &recorder, &run_dir, prompter.as_mut());
    Ok(finish(ending, &run_dir, prompter.as_mut()))
}

/// The runbook as it is now, found the way the run first found it (a bundled id or a path).
fn current_source(name: &str) -> Option<Source> {
    if let Some(id) = name
        .strip_prefix("runbooks/")
        .and_then(|n| n.strip_suffix(".yaml"))
        && let Some(s) = runbook::bundled::get(id)
    {
        return Some(s);
    }
    let path = PathBuf::from(name);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(Source {
        name: name.to_string(),
        text,
    })
}

fn newest_unfinished(state_dir: &Path) -> Result<Run, Error> {
    if !state_dir.exists() {
        return Err(Error::Usage(format!(
            "no run to resume: there is no state folder {} (give --state-dir, or set STEPWISE_STATE_DIR)",
            state_dir.display()
        )));
    }
    let runs = journal::list_runs(state_dir).map_err(journal_error)?;
    for listed in runs {
        let Ok(run) = listed.run else { continue };
        let Ok(read) = run.read_journal() else {
            continue;
        };
        let progress = journal::Progress::replay(&read.events);
        let held = matches!(run.lock_state(), journal::LockState::Held(_));
        match RunState::of(
            progress.lifecycle.unwrap_or(journal::Lifecycle::Active),
            held,
        ) {
            RunState::Finished => continue,
            _ => return Ok(run),
        }
    }
    Err(Error::Usage(format!(
        "no unfinished run under {}; `stepwise status --state-dir {}` lists the runs",
        state_dir.display(),
        state_dir.display()
    )))
}

/// The steps that were added, removed or changed between two versions of a runbook.
pub fn changed_steps(old: &Source, new: &Source) -> Vec<String> {
    let load = |s: &Source| runbook::load(s).runbook;
    let (Some(a), Some(b)) = (load(old), load(new)) else {
        return vec!["the runbook as a whole (one version does not load)".into()];
    };
    let steps = |rb: &Runbook| -> Vec<(String, String)> {
        rb.steps()
            .map(|(_, s)| s)
            .chain(rb.known_issues.iter().flat_map(|k| k.steps.iter()))
            .map(|s| (s.id.clone(), fingerprint(s)))
            .collect()
    };
    let (sa, sb) = (steps(&a), steps(&b));
    // Looked up by id rather than scanned: linear in the number of steps.
    fn by_id(list: &[(String, String)]) -> std::collections::HashMap<&str, &str> {
        let mut map = std::collections::HashMap::new();
        for (id, fp) in list {
            map.entry(id.as_str()).or_insert(fp.as_str());
        }
        map
    }
    let (ia, ib) = (by_id(&sa), by_id(&sb));
    let mut out = Vec::new();
    for (id, fp) in &sb {
        match ia.get(id.as_str()) {
            None => out.push(format!("added: {id}")),
            Some(old_fp) if *old_fp != fp => out.push(format!("changed: {id}")),
            _ => {}
        }
    }
    for (id, _) in &sa {
        if !ib.contains_key(id.as_str()) {
            out.push(format!("removed: {id}"));
        }
    }
    if out.is_empty() {
        out.push("no step changed (metadata, notes or manifests did)".into());
    }
    out
}

/// What a step says and does, without where it stands in the file.
fn fingerprint(step: &Step) -> String {
    let text = format!("{step:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("pos: Pos {") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
