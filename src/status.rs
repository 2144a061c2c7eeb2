//! `stepwise status` and `stepwise log`: where runs stand, and what happened in one.
//!
//! Both read a run the way resume will: the runbook from the copy in the run folder, the plan
//! rebuilt with the run's parameter values and host lists, the journal replayed. They never take
//! a run's lock (they only look whether someone holds it) and never write anything. The hidden
//! `__hold-lock` command, which tests use to hold a run the way the engine will, lives here too.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::Error;
use crate::exit_codes::ExitCode;
use crate::journal::{
    self, Completion, Counts, EventKind, Identity, InstanceProgress, InstanceState, ItemState,
    JournalRead, LockState, ParamValue, Progress, Resolution, Run, RunLock, RunOutcome, RunState,
    Stamp, format_duration,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{self, Runbook};

/// A run read for showing: its runbook copy, its journal, its progress, and who holds it.
struct Examined {
    run: Run,
    runbook: Runbook,
    read: JournalRead,
    progress: Progress,
    lock: LockState,
    warnings: Vec<String>,
}

impl Examined {
    fn read(run: Run) -> Result<Examined, journal::Error> {
        let read = run.read_journal()?;
        let mut warnings = read.warnings(&run.journal_path());
        let source = run.runbook_source()?;
        let loaded = runbook::load(&source);
        let Some(runbook) = loaded.runbook else {
            let first = loaded.diagnostics.first();
            return Err(journal::Error::Corrupt {
                path: run.runbook_path(),
                line: first.map(|d| d.pos.line),
                message: format!(
                    "the runbook copy of the run is invalid: {}",
                    first.map_or("it cannot be read", |d| d.message.as_str())
                ),
            });
        };
        if source.content_hash() != run.header().runbook_sha256 {
            warnings.push(format!(
                "{}: the runbook copy does not match the SHA-256 recorded in run.json; it was changed after the run started",
                run.runbook_path().display()
            ));
        }
        let progress = Progress::replay(&read.events);
        let lock = run.lock_state();
        Ok(Examined {
            run,
            runbook,
            read,
            progress,
            lock,
            warnings,
        })
    }

    fn plan(&self) -> Plan<'_> {
        Plan::new(&self.runbook, &self.run.bindings(&self.progress))
    }

    fn held(&self) -> bool {
        matches!(self.lock, LockState::Held(_))
    }

    fn state(&self) -> RunState {
        let lifecycle = self
            .progress
            .lifecycle
            .unwrap_or(journal::Lifecycle::Active);
        RunState::of(lifecycle, self.held())
    }

    fn state_text(&self) -> String {
        let mut text = self.state().word().to_string();
        if self.run.header().rehearsal {
            text.push_str(" (rehearsal)");
        }
        text
    }
}

/// Says which run folders a process began to build and never finished; the next `run` or
/// `resume` removes them (this command only looks).
fn warn_abandoned(state_dir: &Path) -> Vec<String> {
    let found = journal::abandoned_creations(state_dir);
    for dir in &found {
        crate::errln!(
            "stepwise: warning: {}: a run folder left half-built by a process that stopped while \
             creating it; nothing in it ran, and the next `stepwise run` or `stepwise resume` \
             removes it",
            dir.display()
        );
    }
    found.iter().map(|d| d.display().to_string()).collect()
}

fn warn(warnings: &[String]) {
    for w in warnings {
        crate::errln!("stepwise: warning: {w}");
    }
}

fn print(text: &str) -> Result<(), Error> {
    crate::stdio::out(text)
}

/// `stepwise status [RUN_DIR] [--state-dir DIR] [--json]`.
pub fn status(run: Option<&str>, state_dir: Option<&Path>, json: bool) -> Result<ExitCode, Error> {
    let state_dir = journal::state_dir(state_dir);
    match run {
        Some(arg) => {
            let run = Run::find(&state_dir, arg)?;
            if let Some(parent) = run.dir().parent() {
                warn_abandoned(parent);
            }
            let examined = Examined::read(run)?;
            warn(&examined.warnings);
            if json {
                // Written as it is serialized, an instance at a time: the whole document of
                // a large plan would take a few kilobytes per step instance.
                let mut out = io::BufWriter::with_capacity(1 << 16, crate::stdio::Out);
                detail_json(&examined, &mut out)
                    .and_then(|()| io::Write::flush(&mut out))
                    .map_err(|e| Error::io("cannot write to standard output", &e))?;
            } else {
                // Written as it is made, an instance at a time, like the JSON.
                let mut out = io::BufWriter::with_capacity(1 << 16, crate::stdio::Out);
                write_detail_text(&examined, &mut out)
                    .and_then(|()| io::Write::flush(&mut out))
                    .map_err(|e| Error::io("cannot write to standard output", &e))?;
            }
            Ok(ExitCode::Success)
        }
        None => list(&state_dir, json),
    }
}

fn list(state_dir: &Path, json: bool) -> Result<ExitCode, Error> {
    let runs = journal::list_runs(state_dir)?;
    let abandoned = warn_abandoned(state_dir);
    let mut failed = false;
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut items = Vec::new();
    for journal::ListedRun { dir, run } in runs {
        let name = dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
        match run.and_then(Examined::read) {
            Ok(ex) => {
                warn(&ex.warnings);
                let counts = ex.progress.counts(&ex.plan());
                let last = ex.progress.last_activity.map(|t| t.to_string());
                let h = ex.run.header();
                items.push(json!({
                    "run_id": h.run_id,
                    "dir": ex.run.dir().display().to_string(),
                    "runbook_id": h.runbook_id,
                    "state": ex.state().word(),
                    "rehearsal": h.rehearsal,
                    "counts": counts_json(&counts),
                    "last_activity": last,
                }));
                rows.push([
                    h.run_id.clone(),
                    h.runbook_id.clone(),
                    ex.state_text(),
                    format!("{}/{}", counts.done, counts.total),
                    counts.left().to_string(),
                    last.unwrap_or_default(),
                ]);
            }
            Err(e) => {
                failed = true;
                crate::errln!("stepwise: {e}");
                items.push(json!({
                    "run_id": name,
                    "dir": dir.display().to_string(),
                    "state": "unreadable",
                    "error": e.to_string(),
                }));
                rows.push([
                    name,
                    "?".into(),
                    "unreadable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
        }
    }
    let text = if json {
        let doc = json!({
            "format": crate::app::JSON_FORMAT,
            "state_dir": state_dir.display().to_string(),
            "runs": items,
            "abandoned_creations": abandoned,
        });
        format!("{:#}\n", doc)
    } else if rows.is_empty() {
        format!("no runs under {}\n", state_dir.display())
    } else {
        let header = ["RUN", "RUNBOOK", "STATE", "DONE", "LEFT", "LAST ACTIVITY"];
        table(&header, &rows, &[false, false, false, true, true, false])
    };
    print(&text)?;
    Ok(if failed {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

/// Lays out rows under a header, columns two spaces apart; `right` aligns a column right.
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]], right: &[bool; N]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        widen(&mut widths, row);
    }
    let mut out = String::new();
    out.push_str(&table_line(header, &widths, right));
    for row in rows {
        out.push_str(&table_line(row, &widths, right));
    }
    out
}

/// Widens a table's columns to hold `row`.
fn widen<const N: usize>(widths: &mut [usize; N], row: &[impl AsRef<str>; N]) {
    for (w, cell) in widths.iter_mut().zip(row) {
        *w = (*w).max(cell.as_ref().chars().count());
    }
}

/// One line of a table whose columns are `widths` wide, with its newline.
fn table_line<const N: usize>(
    row: &[impl AsRef<str>; N],
    widths: &[usize; N],
    right: &[bool; N],
) -> String {
    let mut line = String::new();
    for (i, cell) in row.iter().map(AsRef::as_ref).enumerate() {
        let pad = widths[i] - cell.chars().count();
        if i > 0 {
            line.push_str("  ");
        }
        if right[i] {
            line.extend(std::iter::repeat_n(' ', pad));
            line.push_str(cell);
        } else {
            line.push_str(cell);
            if i + 1 < N {
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
    }
    let mut line = line.trim_end().to_string();
    line.push('\n');
    line
}

fn counts_text(c: &Counts) -> String {
    format!(
        "{} done ({} by hand), {} partly done, {} skipped, {} failed, {} in doubt, {} pending: {} left of {}",
        c.done,
        c.by_hand,
        c.partly_done,
        c.skipped,
        c.failed,
        c.in_doubt,
        c.pending,
        c.left(),
        c.total
    )
}

fn counts_json(c: &Counts) -> serde_json::Value {
    json!({
        "total": c.total,
        "done": c.done,
        "by_hand": c.by_hand,
        "partly_done": c.partly_done,
        "skipped": c.skipped,
        "failed": c.failed,
        "in_doubt": c.in_doubt,
        "pending": c.pending,
        "left": c.left(),
    })
}

/// The first 12 characters of a hash, as shown to people.
fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(i, _)| &hash[..i])
}

fn param_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Text(t) => t.clone(),
        ParamValue::Hosts(h) => h.join(", "),
    }
}

/// The parameter values in force, with the secrets named but not shown.
fn params_lines(ex: &Examined) -> Vec<String> {
    let bindings = ex.run.bindings(&ex.progress);
    let mut lines: BTreeMap<String, String> = bindings
        .values
        .iter()
        .map(|(k, v)| (k.clone(), format!("{k} = {}", v.render())))
        .collect();
    for secret in &ex.run.header().secret_params {
        lines.insert(secret.clone(), format!("{secret} = (secret, not recorded)"));
    }
    lines.into_values().collect()
}

fn hosts_lines(ex: &Examined) -> Vec<String> {
    ex.run
        .bindings(&ex.progress)
        .hosts
        .iter()
        .map(|(role, hosts)| format!("{role}: {}", hosts.join(", ")))
        .collect()
}

fn stamp_text(stamp: &Stamp) -> String {
    format!("{}, {}", stamp.operator, stamp.time)
}

/// The word for an instance's state; a started instance is in progress while the run is held.
fn state_word(state: &InstanceState, held: bool) -> String {
    match state {
        InstanceState::Started if held => "in progress".into(),
        InstanceState::Started => "IN DOUBT".into(),
        InstanceState::Done(how) => format!("done {}", how.word()),
        other => other.word().into(),
    }
}

/// `stepwise status RUN` as text: the run, then a table of every instance in the walk's order
/// (made twice, an instance at a time: once for the widths of its columns, once to write it),
/// then what the run recorded besides.
fn write_detail_text(ex: &Examined, w: &mut impl io::Write) -> io::Result<()> {
    let h = ex.run.header();
    let plan = ex.plan();
    let counts = ex.progress.counts(&plan);
    let held = ex.held();
    let mut out = String::new();
    let mut field = |label: &str, lines: &[String]| {
        for (i, line) in lines.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let _ = writeln!(out, "{label:<15}{line}");
        }
    };
    let rehearsal = if h.rehearsal { " (rehearsal)" } else { "" };
    field("Run:", &[format!("{}{rehearsal}", h.run_id)]);
    field("Folder:", &[ex.run.dir().display().to_string()]);
    field(
        "Runbook:",
        &[format!("{}: {}", h.runbook_id, h.runbook_title)],
    );
    field(
        "Source:",
        &[format!(
            "{} (sha256 {})",
            h.runbook_source,
            short(&h.runbook_sha256)
        )],
    );
    field(
        "Started:",
        &[format!("{} by {} on {}", h.started, h.operator, h.machine)],
    );
    field("Journal:", &[chain_text(&ex.read)]);
    let mut state = vec![ex.state().word().to_string()];
    match &ex.lock {
        LockState::Held(Some(holder)) => state[0].push_str(&format!(
            ": process {} on {} since {}",
            holder.pid, holder.machine, holder.since
        )),
        LockState::Held(None) => state[0].push_str(": by another process"),
        LockState::Free => {
            if ex.state() == RunState::Interrupted
                && ex.progress.lifecycle == Some(journal::Lifecycle::Active)
            {
                state[0].push_str(": the process stopped without recording why");
            }
        }
    }
    field("State:", &state);
    field(
        "Last activity:",
        &[ex.progress
            .last_activity
            .map_or("-".to_string(), |t| t.to_string())],
    );
    field("Progress:", &[counts_text(&counts)]);
    if !ex.runbook.prerequisites.is_empty() {
        let confirmed = match &ex.progress.prerequisites {
            Some(stamp) => format!("confirmed ({})", stamp_text(stamp)),
            None => "not confirmed yet".to_string(),
        };
        field("Prerequisites:", &[confirmed]);
    }
    field("Parameters:", &params_lines(ex));
    field("Hosts:", &hosts_lines(ex));
    let fleet = fleet_lines(ex, &plan);
    if !fleet.is_empty() {
        field("Host by host:", &fleet);
    }
    out.push('\n');

    w.write_all(out.as_bytes())?;
    out.clear();

    // In the walk's order: a host-major phase batch by batch.
    let walk = || crate::fleet::walk(&plan).map(|(i, _)| &plan.instances[i]);
    let row = |instance: &Instance| {
        let (by, at) = match ex
            .progress
            .instance(&instance.key)
            .and_then(|r| r.stamp.as_ref())
        {
            Some(s) => (s.operator.clone(), s.time.to_string()),
            None => (String::new(), String::new()),
        };
        [
            plan.step_of(instance).number.clone(),
            instance.key.clone(),
            state_word(ex.progress.state(&instance.key), held),
            by,
            at,
        ]
    };
    const HEADER: [&str; 5] = ["STEP", "INSTANCE", "STATE", "BY", "AT"];
    let mut widths = HEADER.map(|h| h.chars().count());
    for instance in walk() {
        widen(&mut widths, &row(instance));
    }
    w.write_all(table_line(&HEADER, &widths, &[false; 5]).as_bytes())?;
    for instance in walk() {
        w.write_all(table_line(&row(instance), &widths, &[false; 5]).as_bytes())?;
        for more in detail_lines(&plan, instance, ex.progress.instance(&instance.key), held) {
            writeln!(w, "       {more}")?;
        }
    }

    let unplanned = ex.progress.unplanned(&plan);
    if !unplanned.is_empty() {
        out.push_str("\nRecorded, but not in the plan (the runbook or the host lists changed):\n");
        for key in unplanned {
            let r = ex.progress.instance(key).expect("recorded");
            let when = r.stamp.as_ref().map(stamp_text).unwrap_or_default();
            let _ = writeln!(out, "  {key}: {} ({when})", state_word(&r.state, held));
        }
    }
    let mut run_lines: Vec<String> = Vec::new();
    for note in &ex.progress.notes {
        run_lines.push(format!("note: {} ({})", note.text, stamp_text(&note.stamp)));
    }
    for issue in &ex.progress.known_issues {
        run_lines.push(format!("known issue applied: {issue}"));
    }
    for (findings, stamp) in &ex.progress.checks_overridden {
        run_lines.push(format!(
            "went on despite blocking checks: {} ({})",
            findings.join("; "),
            stamp_text(stamp)
        ));
    }
    for (_, sha, steps) in &ex.progress.runbook_changes {
        run_lines.push(format!(
            "runbook change accepted (sha256 {}){}",
            short(sha),
            if steps.is_empty() {
                String::new()
            } else {
                format!(": {}", steps.join(", "))
            }
        ));
    }
    if !run_lines.is_empty() {
        out.push_str("\nRun:\n");
        for line in run_lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    if counts.in_doubt > 0 && !held {
        let _ = writeln!(
            out,
            "\n{} instance{} IN DOUBT: started and never finished; `stepwise resume` asks whether {} completed.",
            counts.in_doubt,
            if counts.in_doubt == 1 { " is" } else { "s are" },
            if counts.in_doubt == 1 { "it" } else { "each" }
        );
    }
    w.write_all(out.as_bytes())
}

/// The lines under an instance in the table: what it records, and each item that applies.
fn detail_lines(
    plan: &Plan,
    instance: &Instance,
    recorded: Option<&InstanceProgress>,
    held: bool,
) -> Vec<String> {
    let Some(r) = recorded else {
        return Vec::new();
    };
    let mut lines = instance_lines(r, held);
    if !r.items.is_empty() {
        let resolved = plan.resolved_for(instance);
        let items = plan
            .step_of(instance)
            .step
            .items
            .iter()
            .filter(|i| crate::plan::item_applies(i, &resolved).is_some());
        for item in items {
            lines.push(match r.items.get(&item.id) {
                Some(p) => format!(
                    "item {}: {} ({})",
                    item.id,
                    item_word(&p.state),
                    stamp_text(&p.stamp)
                ),
                None => format!("item {}: pending", item.id),
            });
        }
    }
    lines
}

/// Per host-major phase: how it walks its hosts, the batches gone on to, the hosts that
/// failed.
fn fleet_lines(ex: &Examined, plan: &crate::plan::Plan) -> Vec<String> {
    let mut lines = Vec::new();
    let fleet = &ex.progress.fleet;
    for (index, planned) in plan.phases.iter().enumerate() {
        let Some(order) = crate::fleet::describe(plan, index) else {
            continue;
        };
        let id = &planned.phase.id;
        lines.push(format!("phase {id}: {order}"));
        let batches = crate::fleet::batches(plan, index);
        for (b, batch) in batches.iter().enumerate().skip(1) {
            let number = u32::try_from(b + 1).unwrap_or(u32::MAX);
            let said = match fleet.confirmed.get(&(id.clone(), number)) {
                Some(stamp) => format!("went on ({})", stamp_text(stamp)),
                None => "not gone on to yet".to_string(),
            };
            lines.push(format!(
                "  batch {} of {} ({}): {said}",
                b + 1,
                batches.len(),
                crate::fleet::and_list(&batch.hosts)
            ));
        }
        if let Some(failed) = fleet.failed.get(id) {
            let list: Vec<String> = failed
                .iter()
                .map(|(host, key)| format!("{host} (at {key})"))
                .collect();
            lines.push(format!("  failed hosts: {}", list.join(", ")));
        }
    }
    lines
}

/// Per host-major phase, for `status --json`: how it walks its hosts, each batch (and who
/// went on to it, when), the hosts that failed.
fn fleet_json(ex: &Examined, plan: &crate::plan::Plan) -> serde_json::Value {
    let fleet = &ex.progress.fleet;
    let phases: Vec<serde_json::Value> = plan
        .phases
        .iter()
        .enumerate()
        .filter_map(|(index, planned)| {
            let order = crate::fleet::describe(plan, index)?;
            let id = &planned.phase.id;
            let batches = crate::fleet::batches(plan, index);
            let of = batches.len();
            let batches: Vec<serde_json::Value> = batches
                .iter()
                .enumerate()
                .map(|(b, batch)| {
                    let number = u32::try_from(b + 1).unwrap_or(u32::MAX);
                    let went_on = fleet
                        .confirmed
                        .get(&(id.clone(), number))
                        .map(|s| json!({ "operator": s.operator, "time": s.time.to_string() }));
                    json!({ "batch": b + 1, "of": of, "hosts": batch.hosts, "went_on": went_on })
                })
                .collect();
            let failed: Vec<serde_json::Value> = fleet
                .failed
                .get(id)
                .into_iter()
                .flatten()
                .map(|(host, key)| json!({ "host": host, "key": key }))
                .collect();
            Some(json!({
                "phase": id,
                "order": order,
                "batches": batches,
                "failed_hosts": failed,
                "failures_accepted": fleet.accepted.get(id).copied().unwrap_or(0),
            }))
        })
        .collect();
    json!(phases)
}

/// On what the word *done* rests, for the detail view.
fn done_how(how: Completion) -> &'static str {
    match how {
        Completion::Automated => "done by its automation (its outcome is journaled)",
        Completion::Confirmed => "done by hand: the operator confirmed the step",
        Completion::ByHand => "done by hand, on the operator's word (see the notes)",
        Completion::Workaround => "done after a known issue's workaround was applied",
        Completion::Rehearsed => "rehearsed: the command was shown, not run",
    }
}

/// The lines under an instance in the detail view: why, notes, outputs, known issues.
fn instance_lines(r: &InstanceProgress, held: bool) -> Vec<String> {
    let mut lines = Vec::new();
    match &r.state {
        InstanceState::Skipped { reason } => lines.push(format!("reason: {reason}")),
        InstanceState::Failed { error } => lines.push(format!("error: {error}")),
        InstanceState::Done(how) => lines.push(done_how(*how).into()),
        InstanceState::PartlyDone { left } => {
            lines.push(format!("partly done: items left: {}", left.join(", ")))
        }
        InstanceState::Started if !held => {
            lines.push("started and never finished: did it complete?".into())
        }
        _ => {}
    }
    if r.attempts > 1 {
        lines.push(format!("started {} times", r.attempts));
    }
    if r.reopened > 0 {
        lines.push(format!("reopened {} time(s)", r.reopened));
    }
    for note in &r.notes {
        lines.push(format!("note: {} ({})", note.text, stamp_text(&note.stamp)));
    }
    for (path, code) in &r.outputs {
        match code {
            Some(code) => lines.push(format!("output: {path} (exit code {code})")),
            None => lines.push(format!("output: {path}")),
        }
    }
    for issue in &r.known_issues {
        lines.push(format!("known issue applied: {issue}"));
    }
    for f in &r.files {
        let what = if f.in_place { "in place" } else { "copied" };
        lines.push(format!(
            "{what}: {} sha256 {} ({})",
            f.path,
            f.sha256,
            crate::actions::fsops::human_bytes(f.bytes)
        ));
    }
    lines
}

fn item_word(state: &ItemState) -> String {
    match state {
        ItemState::Done => "done".into(),
        ItemState::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// What the journal's chain says: verified up to its last event, or not verifiable.
fn chain_text(read: &JournalRead) -> String {
    let events = match read.events.len() {
        1 => "1 event".to_string(),
        n => format!("{n} events"),
    };
    match &read.chain {
        journal::Chain::Linked { last, .. } => {
            format!("{events}, chain verified; last sha256 {last}")
        }
        journal::Chain::Unlinked => format!(
            "{events}, not chained (recorded by a stepwise before run format 2): cannot be verified"
        ),
    }
}

fn chain_json(read: &JournalRead) -> serde_json::Value {
    match &read.chain {
        journal::Chain::Linked { last, .. } => {
            json!({ "events": read.events.len(), "chained": true, "last_sha256": last })
        }
        journal::Chain::Unlinked => {
            json!({ "events": read.events.len(), "chained": false, "last_sha256": null })
        }
    }
}

/// A JSON array serialized one element at a time, as the iterator makes them.
struct Each<I>(std::cell::RefCell<Option<I>>);

impl<I: Iterator<Item = serde_json::Value>> serde::Serialize for Each<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.borrow_mut().take() {
            Some(items) => s.collect_seq(items),
            None => s.collect_seq(std::iter::empty::<serde_json::Value>()),
        }
    }
}

/// A JSON object: the fields of `doc` and a field whose value is serialized lazily, in the
/// order of their names (as `serde_json::Value` writes its objects).
struct WithField<'a, T> {
    doc: &'a serde_json::Map<String, serde_json::Value>,
    name: &'a str,
    value: T,
}

impl<T: serde::Serialize> serde::Serialize for WithField<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut keys: Vec<&str> = self.doc.keys().map(String::as_str).collect();
        keys.push(self.name);
        keys.sort_unstable();
        let mut map = s.serialize_map(Some(keys.len()))?;
        for key in keys {
            if key == self.name {
                map.serialize_entry(key, &self.value)?;
            } else {
                map.serialize_entry(key, &self.doc[key])?;
            }
        }
        map.end()
    }
}

fn detail_json(ex: &Examined, w: &mut impl io::Write) -> io::Result<()> {
    let h = ex.run.header();
    let plan = ex.plan();
    let held = ex.held();
    let stamp = |s: Option<&Stamp>| match s {
        Some(s) => json!({ "operator": s.operator, "time": s.time.to_string() }),
        None => serde_json::Value::Null,
    };
    let instance_json = |key: &str, number: Option<&str>, host: Option<&str>| {
        let state = ex.progress.state(key);
        let r = ex.progress.instance(key);
        let mut v = json!({
            "number": number,
            "key": key,
            "host": host,
            "state": match state {
                InstanceState::Started if held => "in_progress",
                InstanceState::Started => "in_doubt",
                InstanceState::PartlyDone { .. } => "partly_done",
                other => other.word(),
            },
            "in_doubt": *state == InstanceState::Started && !held,
            "by": stamp(r.and_then(|r| r.stamp.as_ref())),
        });
        match state {
            InstanceState::Skipped { reason } => v["reason"] = json!(reason),
            InstanceState::Failed { error } => v["error"] = json!(error),
            InstanceState::Done(how) => {
                v["how"] = json!(how);
                v["done_by"] = json!(how.kind());
            }
            InstanceState::PartlyDone { left } => v["items_left"] = json!(left),
            _ => {}
        }
        if let Some(r) = r {
            v["attempts"] = json!(r.attempts);
            v["items"] = r
                .items
                .iter()
                .map(|(id, p)| {
                    let mut item = json!({ "id": id, "by": stamp(Some(&p.stamp)) });
                    match &p.state {
                        ItemState::Done => item["state"] = json!("done"),
                        ItemState::Skipped { reason } => {
                            item["state"] = json!("skipped");
                            item["reason"] = json!(reason);
                        }
                    }
                    item
                })
                .collect();
            v["notes"] = r
                .notes
                .iter()
                .map(|n| json!({ "text": n.text, "by": stamp(Some(&n.stamp)) }))
                .collect();
            v["outputs"] = r
                .outputs
                .iter()
                .map(|(path, code)| json!({ "path": path, "exit_code": code }))
                .collect();
            v["known_issues"] = json!(r.known_issues);
            v["files"] = r
                .files
                .iter()
                .map(|f| {
                    json!({
                        "file": f.file,
                        "path": f.path,
                        "bytes": f.bytes,
                        "sha256": f.sha256,
                        "in_place": f.in_place,
                        "by": stamp(Some(&f.stamp)),
                    })
                })
                .collect();
        }
        v
    };
    let instances = Each(std::cell::RefCell::new(Some(plan.instances.iter().map(
        |i| {
            let number = &plan.step_of(i).number;
            instance_json(&i.key, Some(number), i.host())
        },
    ))));
    let unplanned: Vec<_> = ex
        .progress
        .unplanned(&plan)
        .into_iter()
        .map(|k| {
            let host = ex.progress.instance(k).and_then(|r| r.host.as_deref());
            instance_json(k, None, host)
        })
        .collect();
    let holder = match &ex.lock {
        LockState::Held(Some(h)) => {
            json!({ "pid": h.pid, "machine": h.machine, "operator": h.operator, "since": h.since.to_string() })
        }
        LockState::Held(None) => json!({}),
        LockState::Free => serde_json::Value::Null,
    };
    let bindings = ex.run.bindings(&ex.progress);
    let params: BTreeMap<&String, ParamValue> = bindings
        .values
        .iter()
        .map(|(k, v)| (k, ParamValue::from(v)))
        .collect();
    let doc = json!({
        "format": crate::app::JSON_FORMAT,
        "run_id": h.run_id,
        "dir": ex.run.dir().display().to_string(),
        "runbook_id": h.runbook_id,
        "runbook_title": h.runbook_title,
        "runbook_source": h.runbook_source,
        "runbook_sha256": h.runbook_sha256,
        "rehearsal": h.rehearsal,
        "started": h.started.to_string(),
        "operator": h.operator,
        "machine": h.machine,
        "journal": chain_json(&ex.read),
        "state": ex.state().word(),
        "held_by": holder,
        "last_activity": ex.progress.last_activity.map(|t| t.to_string()),
        "counts": counts_json(&ex.progress.counts(&plan)),
        "prerequisites_confirmed": stamp(ex.progress.prerequisites.as_ref()),
        "params": params,
        "secret_params": h.secret_params,
        "hosts": bindings.hosts,
        "fleet": fleet_json(ex, &plan),
        "unplanned": unplanned,
        "notes": ex.progress.notes.iter().map(|n| json!({ "text": n.text, "by": stamp(Some(&n.stamp)) })).collect::<Vec<_>>(),
        "warnings": ex.warnings,
    });
    let no_fields = serde_json::Map::new();
    let doc = WithField {
        doc: doc.as_object().unwrap_or(&no_fields),
        name: "instances",
        value: instances,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    w.write_all(b"\n")
}

/// `stepwise log [RUN_DIR] [--state-dir DIR] [--json]`: the journal as a timeline.
pub fn log(run: Option<&str>, state_dir: Option<&Path>, json: bool) -> Result<ExitCode, Error> {
    let state_dir = journal::state_dir(state_dir);
    let run = match run {
        Some(arg) => Run::find(&state_dir, arg)?,
        None => Run::newest(&state_dir)?
            .ok_or_else(|| Error::Failed(format!("no runs under {}", state_dir.display())))?,
    };
    let ex = Examined::read(run)?;
    warn(&ex.warnings);
    print(&if json {
        timeline_json(&ex)
    } else {
        timeline(&ex)
    })?;
    Ok(ExitCode::Success)
}

fn timeline(ex: &Examined) -> String {
    let h = ex.run.header();
    let width = ex
        .read
        .events
        .iter()
        .map(|e| e.operator.chars().count())
        .max()
        .unwrap_or(0);
    let rehearsal = if h.rehearsal { " (rehearsal)" } else { "" };
    let mut out = format!(
        "Run {}{rehearsal}: {}, {}\nJournal: {}\n",
        h.run_id,
        h.runbook_id,
        h.runbook_title,
        chain_text(&ex.read)
    );
    for (e, text) in ex.read.events.iter().zip(event_texts(ex)) {
        let _ = writeln!(out, "{}  {:<width$}  {text}", e.time, e.operator);
    }
    let counts = ex.progress.counts(&ex.plan());
    let _ = writeln!(out, "State: {}: {}", ex.state_text(), counts_text(&counts));
    out
}

/// `log --json`: the run, then every journal event as written, with its timeline sentence.
fn timeline_json(ex: &Examined) -> String {
    let h = ex.run.header();
    let events: Vec<serde_json::Value> = ex
        .read
        .events
        .iter()
        .zip(event_texts(ex))
        .map(|(e, text)| {
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["text"] = json!(text);
            v
        })
        .collect();
    let doc = json!({
        "format": crate::app::JSON_FORMAT,
        "run_id": h.run_id,
        "dir": ex.run.dir().display().to_string(),
        "runbook_id": h.runbook_id,
        "runbook_title": h.runbook_title,
        "rehearsal": h.rehearsal,
        "state": ex.state().word(),
        "counts": counts_json(&ex.progress.counts(&ex.plan())),
        "events": events,
        "warnings": ex.warnings,
    });
    format!("{doc:#}\n")
}

/// What each journal event says, in the timeline's words, in journal order.
fn event_texts(ex: &Examined) -> Vec<String> {
    let plan = ex.plan();
    let numbers: HashMap<&str, &str> = plan
        .instances
        .iter()
        .map(|i| (i.key.as_str(), plan.step_of(i).number.as_str()))
        .collect();
    let label = |key: &str| match numbers.get(key) {
        Some(n) => format!("{n} {key}"),
        None => key.to_string(),
    };
    let mut out = Vec::with_capacity(ex.read.events.len());
    let mut started: HashMap<&str, journal::Timestamp> = HashMap::new();
    // Items skipped per instance since it was last reopened: a journal written before items
    // were honest says `done` for an instance with such items, which is partly done.
    let mut items_skipped: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut attempts: HashMap<&str, u32> = HashMap::new();
    let run_start = ex.read.events.first().map(|e| e.time);
    for e in &ex.read.events {
        let mut took = |key: &str| {
            started
                .remove(key)
                .map(|t| format!(" after {}", format_duration(e.time.millis_since(t))))
                .unwrap_or_default()
        };
        let what = match &e.kind {
            EventKind::RunStarted {
                machine, rehearsal, ..
            } => format!(
                "run started on {machine}{}",
                if *rehearsal { " (rehearsal)" } else { "" }
            ),
            EventKind::ParamsSet { params } => {
                let list: Vec<String> = params
                    .iter()
                    .map(|(k, v)| format!("{k}={}", param_text(v)))
                    .collect();
                format!(
                    "parameters: {}",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                )
            }
            EventKind::HostsSet { hosts } => {
                let list: Vec<String> = hosts
                    .iter()
                    .map(|(role, h)| format!("{role}: {}", h.join(", ")))
                    .collect();
                format!("hosts: {}", list.join("; "))
            }
            EventKind::PrerequisitesConfirmed => "prerequisites confirmed".to_string(),
            EventKind::InstanceStarted { key, target } => {
                started.insert(key, e.time);
                let n = attempts.entry(key).or_default();
                *n += 1;
                let on = target
                    .as_ref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default();
                if *n > 1 {
                    format!("{}: started{on} (attempt {n})", label(key))
                } else {
                    format!("{}: started{on}", label(key))
                }
            }
            EventKind::InstanceDone { key, how } => match items_skipped.get(key.as_str()) {
                Some(left) if !left.is_empty() => format!(
                    "{}: partly done{} (recorded as done): items left: {}",
                    label(key),
                    took(key),
                    left.join(", ")
                ),
                _ => format!("{}: done {}{}", label(key), how.word(), took(key)),
            },
            EventKind::InstancePartlyDone { key, left } => format!(
                "{}: partly done{}: items left: {}",
                label(key),
                took(key),
                left.join(", ")
            ),
            EventKind::InstanceReopened { key } => {
                items_skipped.remove(key.as_str());
                format!("{}: reopened: to do again", label(key))
            }
            EventKind::InstanceSkipped { key, reason } => {
                format!("{}: skipped{}: {reason}", label(key), took(key))
            }
            EventKind::InstanceFailed { key, error } => {
                format!("{}: failed{}: {error}", label(key), took(key))
            }
            EventKind::ItemDone { key, item } => format!("{}: item {item} done", label(key)),
            EventKind::ItemSkipped { key, item, reason } => {
                items_skipped.entry(key).or_default().push(item);
                format!("{}: item {item} skipped: {reason}", label(key))
            }
            EventKind::NoteAdded { key } => {
                let text = e.note.as_deref().unwrap_or_default();
                match key {
                    Some(key) => format!("{}: note: {text}", label(key)),
                    None => format!("note: {text}"),
                }
            }
            EventKind::ActionOutput {
                key,
                path,
                exit_code,
            } => match exit_code {
                Some(code) => format!("{}: output saved to {path} (exit code {code})", label(key)),
                None => format!("{}: output saved to {path}", label(key)),
            },
            EventKind::CommandStarted { key, pid, machine } => {
                format!(
                    "{}: command started as process {pid} on {machine}",
                    label(key)
                )
            }
            EventKind::Restart { key, phase, boot } => match boot {
                Some(b) => format!("{}: {} (boot identity {b})", label(key), phase.word()),
                None if *phase == crate::journal::RestartPhase::BootRead => format!(
                    "{}: no boot identity could be read before the restart",
                    label(key)
                ),
                None => format!("{}: {}", label(key), phase.word()),
            },
            EventKind::KnownIssueApplied { key, issue } => match key {
                Some(key) => format!("{}: known issue {issue} applied", label(key)),
                None => format!("known issue {issue} applied"),
            },
            EventKind::BatchConfirmed { phase, batch, of } => {
                format!("phase {phase}: went on to batch {batch} of {of}")
            }
            EventKind::HostFailed { phase, key } => format!(
                "phase {phase}: host {} failed at {}; the rest of the phase is not done on it",
                e.host.as_deref().unwrap_or("?"),
                label(key)
            ),
            EventKind::FailuresAccepted { phase, failed } => {
                format!("phase {phase}: went on with {failed} failed host(s)")
            }
            EventKind::Paused => "paused".to_string(),
            EventKind::Resumed {
                machine,
                repaired_torn_line,
                ..
            } => {
                // What was started before the stop is not timed across it.
                started.clear();
                if *repaired_torn_line {
                    format!("resumed on {machine} (the journal's torn last line was closed)")
                } else {
                    format!("resumed on {machine}")
                }
            }
            EventKind::Interrupted => "interrupted".to_string(),
            EventKind::ChecksOverridden { findings } => {
                format!("went on despite blocking checks: {}", findings.join("; "))
            }
            EventKind::RunFinished { outcome } => {
                let outcome = match outcome {
                    RunOutcome::Completed => "completed",
                    RunOutcome::Aborted => "aborted",
                };
                let after = run_start
                    .map(|t| format!(" after {}", format_duration(e.time.millis_since(t))))
                    .unwrap_or_default();
                format!("run finished: {outcome}{after}")
            }
            EventKind::InDoubtResolved {
                key,
                resolution,
                how,
            } => {
                let as_what = match (resolution, how) {
                    (Resolution::Done, Some(Completion::Automated | Completion::Rehearsed)) => {
                        "it had completed (the evidence shows it)"
                    }
                    (Resolution::Done, Some(_)) => "it had completed (on the operator's word)",
                    (Resolution::Done, None) => "it had completed",
                    (Resolution::NotDone, _) => "it had not completed; pending again",
                };
                format!("{}: in doubt, resolved: {as_what}", label(key))
            }
            EventKind::RunbookChangedAccepted {
                sha256,
                changed_steps,
                ..
            } => {
                let steps = if changed_steps.is_empty() {
                    String::new()
                } else {
                    format!("; changed steps: {}", changed_steps.join(", "))
                };
                format!(
                    "runbook change accepted (now sha256 {}){steps}",
                    short(sha256)
                )
            }
            EventKind::FileCopied {
                key,
                file,
                path,
                bytes,
                sha256,
                in_place,
            } => {
                let what = if *in_place {
                    "found in place at"
                } else {
                    "copied to"
                };
                format!(
                    "{}: {file} {what} {path} ({}), sha256 {sha256}",
                    label(key),
                    crate::actions::fsops::human_bytes(*bytes)
                )
            }
        };
        let note = match (&e.kind, &e.note) {
            (EventKind::NoteAdded { .. }, _) | (_, None) => String::new(),
            (_, Some(note)) => format!("; note: {note}"),
        };
        out.push(format!("{what}{note}"));
    }
    out
}

/// The hidden `__hold-lock RUN_DIR`: takes a run's lock, says so on standard output, and holds it
/// until standard input closes (or the process is killed).
pub fn hold_lock(run: &str, state_dir: Option<&Path>) -> Result<ExitCode, Error> {
    let state_dir: PathBuf = journal::state_dir(state_dir);
    let run = Run::find(&state_dir, run)?;
    let lock = RunLock::acquire(run.dir(), run.id(), &Identity::current())?;
    print(&format!(
        "holding run {} as process {}\n",
        run.id(),
        lock.holder().pid
    ))?;
    let _ = io::copy(&mut io::stdin().lock().take(u64::MAX), &mut io::sink());
    drop(lock);
    Ok(ExitCode::Success)
}
