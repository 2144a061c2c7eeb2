//! Journal benchmark: how many events per second can be appended durably on this disk, and how
//! long opening and replaying a journal of 100,000 events takes.
//!
//! Run with `cargo bench --bench journal`. The runs are written under `target/bench-journal`
//! (or `STEPWISE_BENCH_DIR`), i.e. on the project's disk, not in a memory file system; each
//! figure is the median of several runs. `docs/performance.md` records the figures.
#![allow(clippy::disallowed_macros)] // printing figures and progress is what this does

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use stepwise::journal::{
    Completion, Event, EventKind, Identity, NewEvent, NewRun, Progress, Recorder, Run, Timestamp,
};
use stepwise::plan::{Bindings, Plan};
use stepwise::runbook::{self, Runbook, Source, Value, bundled};

const APPENDS: usize = 300;
const APPEND_RUNS: usize = 5;
const REPLAY_EVENTS: u64 = 100_000;
const REPLAY_RUNS: usize = 9;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and gets a quick pass.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (appends, append_runs, replay_events, replay_runs) = if quick {
        (10, 1, 2_000, 1)
    } else {
        (APPENDS, APPEND_RUNS, REPLAY_EVENTS, REPLAY_RUNS)
    };
    let base = std::env::var_os("STEPWISE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-journal"));
    std::fs::create_dir_all(&base).expect("create the bench folder");
    let mut work = tempfile::tempdir_in(&base).expect("create a temporary folder");
    if std::env::var_os("STEPWISE_BENCH_KEEP").is_some() {
        work.disable_cleanup(true);
        println!("keeping the runs in {}", work.path().display());
    }
    let source = bundled::get("hmc45-ur6").expect("bundled runbook");
    let rb = runbook::load(&source).runbook.expect("valid runbook");
    let mut bindings = Bindings::default();
    bindings
        .values
        .insert("ur5_installed".into(), Value::Bool(false));
    bindings
        .values
        .insert("upgraded_from_hmc40".into(), Value::Bool(true));
    for role in &rb.roles {
        let hosts = (1..=4)
            .map(|n| format!("{}{n:02}", role.id.to_uppercase()))
            .collect();
        bindings.hosts.insert(role.id.clone(), hosts);
    }
    let plan = Plan::new(&rb, &bindings);
    println!("journal benchmark in {}", base.display());
    println!("plan: {} step instances of {}", plan.instances.len(), rb.id);

    // (a) Durable appends.
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    for run in 0..append_runs {
        let state = work.path().join(format!("appends-{run}"));
        let mut rec = Recorder::create(&state, NewRun::new(&source, &plan, true)).unwrap();
        let start = Instant::now();
        for n in 0..appends {
            let instance = &plan.instances[(n / 2) % plan.instances.len()];
            let event = if n % 2 == 0 {
                NewEvent::instance_started(instance)
            } else {
                NewEvent::instance_done(instance, Completion::Confirmed)
            };
            rec.record(event).unwrap();
        }
        let elapsed = start.elapsed();
        rates.push(appends as f64 / elapsed.as_secs_f64());
        latencies.push(elapsed.as_secs_f64() * 1000.0 / appends as f64);
    }
    println!(
        "appends (write_all + flush + sync_data per event), {appends} events x {append_runs} runs: \
         median {:.0} events/s, {:.3} ms per event (runs: {})",
        median(&mut rates),
        median(&mut latencies),
        rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // (b) Open and replay 100,000 events.
    let state = work.path().join("replay");
    let dir = big_run(&state, &source, &rb, &plan, replay_events);
    let size = std::fs::metadata(dir.join("journal.jsonl")).unwrap().len();
    let mut read_ms = Vec::new();
    let mut replay_ms = Vec::new();
    let mut total_ms = Vec::new();
    for _ in 0..replay_runs {
        let start = Instant::now();
        let run = Run::open(&dir).unwrap();
        let read = run.read_journal().unwrap();
        let after_read = start.elapsed();
        let progress = Progress::replay(&read.events);
        let copy = run.runbook_source().unwrap();
        let copy_rb = runbook::load(&copy).runbook.unwrap();
        let plan = Plan::new(&copy_rb, &run.bindings(&progress));
        let counts = progress.counts(&plan);
        let total = start.elapsed();
        assert_eq!(read.events.len() as u64, replay_events);
        assert!(counts.done > 0);
        read_ms.push(ms(after_read));
        replay_ms.push(ms(total - after_read));
        total_ms.push(ms(total));
    }
    println!(
        "open + replay {replay_events} events ({:.1} MB), {replay_runs} runs: median {:.1} ms \
         (read and parse {:.1} ms, replay + runbook copy + plan + counts {:.1} ms)",
        size as f64 / 1e6,
        median(&mut total_ms),
        median(&mut read_ms),
        median(&mut replay_ms)
    );

    // (c) The whole `stepwise status RUN` command on that run.
    let exe = env!("CARGO_BIN_EXE_stepwise");
    let mut status_ms = Vec::new();
    for _ in 0..replay_runs {
        let start = Instant::now();
        let out = Command::new(exe).arg("status").arg(&dir).output().unwrap();
        status_ms.push(ms(start.elapsed()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "`stepwise status RUN` on it, {replay_runs} runs: median {:.1} ms",
        median(&mut status_ms)
    );
}

/// A run whose journal holds exactly `events` events: started, items, a note now and
/// then, done, over the plan's instances again and again. The events after the first three are
/// written in one go (the format is the same; only the per-event sync is skipped).
fn big_run(state: &Path, source: &Source, rb: &Runbook, plan: &Plan, events: u64) -> PathBuf {
    let rec = Recorder::create(state, NewRun::new(source, plan, false)).unwrap();
    let dir = rec.run().dir().to_path_buf();
    let mut seq = rec.progress().last_seq;
    let operator = Identity::current().operator;
    drop(rec);
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("journal.jsonl"))
        .unwrap();
    let mut out = BufWriter::new(file);
    let mut time = Timestamp::now().unix_millis();
    let mut n = 0usize;
    'outer: loop {
        for instance in &plan.instances {
            let step = rb.step(instance.step_id()).unwrap();
            let mut kinds = vec![EventKind::InstanceStarted {
                key: instance.key.clone(),
                target: None,
            }];
            for item in &step.items {
                kinds.push(EventKind::ItemDone {
                    key: instance.key.clone(),
                    item: item.id.clone(),
                });
            }
            if n.is_multiple_of(7) {
                kinds.push(EventKind::NoteAdded {
                    key: Some(instance.key.clone()),
                });
            }
            kinds.push(EventKind::InstanceDone {
                key: instance.key.clone(),
                how: Completion::Confirmed,
            });
            for kind in kinds {
                if seq == events {
                    break 'outer;
                }
                seq += 1;
                time += 1500;
                let note = matches!(kind, EventKind::NoteAdded { .. })
                    .then(|| "checked the event log on this host: no errors".to_string());
                let event = Event {
                    seq,
                    time: Timestamp::from_unix_millis(time),
                    operator: operator.clone(),
                    kind,
                    host: instance.host().map(str::to_string),
                    note,
                };
                serde_json::to_writer(&mut out, &event).unwrap();
                out.write_all(b"\n").unwrap();
            }
            n += 1;
        }
    }
    out.into_inner().unwrap().sync_all().unwrap();
    dir
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}
