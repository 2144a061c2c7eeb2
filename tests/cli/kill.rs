//! Kills `stepwise run` with SIGKILL at 50 points of a run whose steps are automated (inside the
//! copy of the package, inside the commands, between two journal writes) and resumes it until it
//! finishes. After each kill the finished run must be whole:
//!
//! 1. the journal parses: every line is an event, except a torn line that the next `resumed`
//!    event says it repaired;
//! 2. replayed through the library, every step instance of the plan is done and the run finished;
//! 3. every instance has exactly one terminal event (`instance_done`, or `in_doubt_resolved` as
//!    done) after its last `instance_started`, and an instance that a kill left started and
//!    unfinished was asked about on resume (`in_doubt_resolved`) before anything else happened
//!    to it: never re-run or skipped silently;
//! 4. the command ran once per host plus at most once per attempt that a kill interrupted: it
//!    appends a line to `restarts.log` each time it runs, so the line count lies between the
//!    attempts the journal saw complete and that number plus the interrupted attempts;
//! 5. the share holds every package file at its manifest size and with the package's content,
//!    and no temporary file;
//! 6. the backups in the run folder hold the old `Alpha.msi` and the old configuration, never
//!    the new ones.
//!
//! The kill points come from an uninterrupted run measured first (after a warm-up run): two
//! thirds are times stratified over its length with jitter (the first one before the run folder
//! exists), one third are the moments just after each of its journal events was written (or a
//! few milliseconds later, still before the next one). Each point is anchored to the last event
//! before it: the test waits until the journal has that many events, waits the rest of the
//! delay, and kills, so that a run slower or faster than the measured one is still killed in the
//! same step. A kill that comes after the run ended is tried again. Every fourth resume answers
//! `in_doubt: done` for the steps where that is safe to check (the command, whose count is then
//! bounded; the manual step; the read-only check), the others `rerun`; every fifth first resume
//! is itself killed. The table printed at the end (`cargo test --test cli kill -- --nocapture`)
//! shows where each kill landed, per the journal and the share; `STEPWISE_KILL_SEED=N` repeats a
//! spread (timing aside).

#![cfg(unix)]

use crate::common;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stepwise::journal::{
    self, Event, EventKind, InstanceState, Lifecycle, Progress, Resolution, Run, RunOutcome,
};
use stepwise::plan::Plan;
use stepwise::runbook;

const KILLS: usize = 50;
const HOSTS: [&str; 2] = ["WEB01", "WEB02"];
/// The package: each file's name on disk (not spelled as the runbook spells it, on purpose), its
/// name in the runbook, and its size in the runbook's manifest.
const PACKAGE: [(&str, &str, usize); 4] = [
    ("ALPHA.MSI", "Alpha.msi", 3_000_000),
    ("beta.msi", "Beta.msi", 2_000_000),
    ("Gamma.msi", "Gamma.msi", 1_250_000),
    ("delta.MSI", "Delta.msi", 750_000),
];
const OLD_ALPHA: &[u8] = b"Alpha.msi of the previous rollup\n";
const OLD_CONFIG: &[u8] = b"<configuration><!-- before the rollup --></configuration>\n";
const NEW_CONFIG: &str = "<configuration>\n<runtime>\n<generatePublisherEvidence enabled=\"false\"/>\n</runtime>\n</configuration>\n";
/// Steps whose in-doubt instances every fourth resume answers `done` for.
const DONE_WHEN_IN_DOUBT: [&str; 3] = ["restart-web", "confirm-web", "verify"];
/// The command's `sleep`, plus room: by then a command orphaned by a kill has appended its line.
const ORPHAN_GRACE: Duration = Duration::from_millis(300);

fn runbook_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runbooks/kill.yaml")
}

/// xorshift64*: the jitter of the kill points, and the package's bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The package folder, made once and only read by the runs.
fn make_package(dir: &Path) {
    for (i, (name, _, size)) in PACKAGE.iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
        let mut bytes = Vec::with_capacity(size + 8);
        while bytes.len() < *size {
            bytes.extend_from_slice(&rng.next().to_le_bytes());
        }
        bytes.truncate(*size);
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The file in `dir` whose name is `name` ignoring case.
fn find_ignoring_case(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        .map(|e| e.path())
        .collect();
    assert!(found.len() <= 1, "{name} twice in {}", dir.display());
    found.pop()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn is_temporary(name: &str) -> bool {
    name.ends_with(".stepwise-part") || (name.starts_with(".stepwise-") && name.ends_with(".tmp"))
}

/// One run in folders of its own: the share, the work folder, the state folder, the answers.
struct Case {
    dir: tempfile::TempDir,
    package: PathBuf,
    processes: usize,
}

impl Case {
    fn new(package: &Path, in_doubt_done: bool) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let case = Case {
            dir,
            package: package.to_path_buf(),
            processes: 0,
        };
        fs::create_dir(case.share()).unwrap();
        fs::create_dir(case.work()).unwrap();
        fs::write(case.share().join("Alpha.msi"), OLD_ALPHA).unwrap();
        fs::write(case.work().join("Service.exe.config"), OLD_CONFIG).unwrap();
        let quote = |p: PathBuf| format!("'{}'", p.display());
        let mut answers = format!(
            "params:\n  package_dir: {}\n  share: {}\n  work_dir: {}\nconfirm: true\ndefault: done\nin_doubt: rerun\n",
            quote(case.package.clone()),
            quote(case.share()),
            quote(case.work()),
        );
        if in_doubt_done {
            answers.push_str("steps:\n");
            for step in DONE_WHEN_IN_DOUBT {
                answers.push_str(&format!("  {step}: {{ in_doubt: done }}\n"));
            }
        }
        fs::write(case.answers(), answers).unwrap();
        case
    }

    fn share(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn answers(&self) -> PathBuf {
        self.dir.path().join("answers.yaml")
    }

    /// Starts `stepwise run` or `stepwise resume`; its output goes to files in the case folder.
    fn spawn(&mut self, command: &str) -> Child {
        self.processes += 1;
        let name = format!("{:02}-{command}", self.processes);
        let out = File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let err = File::create(self.dir.path().join(format!("{name}.err"))).unwrap();
        let mut cmd = common::stepwise_command();
        cmd.arg(command);
        if command == "run" {
            cmd.arg(runbook_path())
                .arg("--inventory")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/web-local.yaml"));
        }
        cmd.arg("--answers")
            .arg(self.answers())
            .arg("--state-dir")
            .arg(self.state())
            .current_dir(self.dir.path())
            .env_remove("STEPWISE_STATE_DIR")
            .env("STEPWISE_OPERATOR", "kill-test")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        cmd.spawn().unwrap()
    }

    /// What every process printed, for a failure message.
    fn outputs(&self) -> String {
        let mut text = String::new();
        for name in names(self.dir.path()) {
            if name.ends_with(".out") || name.ends_with(".err") {
                let body = fs::read_to_string(self.dir.path().join(&name)).unwrap_or_default();
                let tail: String = {
                    let lines: Vec<&str> = body.lines().collect();
                    lines[lines.len().saturating_sub(25)..].join("\n")
                };
                text.push_str(&format!("--- {name}\n{tail}\n"));
            }
        }
        if let Some(dir) = self.run_dir() {
            let journal = fs::read_to_string(dir.join("journal.jsonl")).unwrap_or_default();
            text.push_str(&format!("--- journal.jsonl\n{journal}"));
        }
        text
    }

    /// The run folder, once there is one (a folder being created is hidden).
    fn run_dir(&self) -> Option<PathBuf> {
        let runs: Vec<String> = names(&self.state())
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .collect();
        assert!(runs.len() <= 1, "more than one run: {runs:?}");
        runs.first().map(|n| self.state().join(n))
    }

    fn events(&self) -> Vec<Event> {
        let dir = self.run_dir().expect("a run folder");
        journal::read_journal(&dir.join("journal.jsonl"))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.outputs()))
            .events
    }

    fn finished(&self) -> bool {
        self.run_dir().is_some()
            && Progress::replay(&self.events()).lifecycle
                == Some(Lifecycle::Finished(RunOutcome::Completed))
    }

    fn package_bytes(&self, name: &str) -> Vec<u8> {
        fs::read(self.package.join(name)).unwrap()
    }
}

/// How a process that was to be killed ended.
enum Ended {
    Killed,
    /// It had ended by itself before the kill.
    Exited(ExitStatus),
}

fn kill_after(child: &mut Child, delay: Duration) -> Ended {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if let Some(status) = child.try_wait().unwrap() {
        return Ended::Exited(status);
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    if status.signal() == Some(9) {
        Ended::Killed
    } else {
        Ended::Exited(status)
    }
}

/// Where a kill landed, as the files tell it right after.
struct Landing {
    /// A category, for the totals: copy, write_file, command, manual, check, between events, ...
    category: &'static str,
    text: String,
}

const IN_COPY: &str = "inside the copy (action running)";
const IN_COMMAND: &str = "inside a command (action running)";
const IN_WRITE: &str = "inside write_file (action running)";
const IN_CHECK: &str = "inside the check (action running)";
const IN_MANUAL: &str = "manual step started, not done (between journal writes)";
const BETWEEN: &str = "between two instances (between journal writes)";
const BEFORE: &str = "before the run folder existed";
const FINISHED: &str = "after run_finished, before the process exited";
const MISSED: &str = "missed: the run had ended";

fn category_of(key: &str) -> &'static str {
    match key.split('@').next().unwrap_or(key) {
        "copy-package" => IN_COPY,
        "write-config" => IN_WRITE,
        "restart-web" => IN_COMMAND,
        "confirm-web" => IN_MANUAL,
        "verify" => IN_CHECK,
        other => panic!("no step {other} in the runbook"),
    }
}

fn where_it_landed(case: &Case) -> Landing {
    let Some(dir) = case.run_dir() else {
        return Landing {
            category: BEFORE,
            text: format!(
                "no run folder yet{}",
                if names(&case.state()).is_empty() {
                    ""
                } else {
                    " (a hidden one being built)"
                }
            ),
        };
    };
    let events = case.events();
    let progress = Progress::replay(&events);
    if progress.lifecycle == Some(Lifecycle::Finished(RunOutcome::Completed)) {
        return Landing {
            category: FINISHED,
            text: "after run_finished".into(),
        };
    }
    let last = events.last().expect("a journal has its first event");
    let last_text = event_name(last);
    let Some(key) = progress.in_doubt().first().map(|k| k.to_string()) else {
        return Landing {
            category: BETWEEN,
            text: format!("after {last_text}"),
        };
    };
    let mut text = key.clone();
    if key == "copy-package" {
        let copied = PACKAGE
            .iter()
            .filter(|(name, runbook_name, _)| {
                find_ignoring_case(&case.share(), runbook_name)
                    .is_some_and(|p| fs::read(p).unwrap() == case.package_bytes(name))
            })
            .count();
        let partial: Vec<String> = names(&case.share())
            .into_iter()
            .filter(|n| n.ends_with(".stepwise-part"))
            .collect();
        let backup = dir.join("backup/copy-package");
        let backed_up = backup.join("Alpha.msi").exists();
        text.push_str(&format!(
            ": {copied}/4 copied{}{}",
            match partial.first() {
                Some(p) => format!(", {p} partly written"),
                None => String::new(),
            },
            if backed_up {
                ", Alpha.msi backed up"
            } else if names(&backup).iter().any(|n| n.ends_with(".stepwise-part")) {
                ", backup of Alpha.msi partly written"
            } else {
                ", no backup yet"
            }
        ));
    } else if key.starts_with("restart-web") {
        let ran = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ActionOutput { key: k, .. } if *k == key));
        text.push_str(if ran {
            " (after the command ended)"
        } else {
            " (command running or starting)"
        });
    }
    if !matches!(last.kind, EventKind::InstanceStarted { .. }) {
        text.push_str(&format!("; last event {last_text}"));
    }
    Landing {
        category: category_of(&key),
        text,
    }
}

/// What the journal says happened to one step instance.
#[derive(Default, Debug)]
struct Tally {
    /// `instance_started` events.
    attempts: usize,
    /// Attempts that ended with `instance_done`.
    completed: usize,
    /// Attempts that a kill cut short (started, then `resumed` before any outcome).
    interrupted: usize,
    /// `instance_done`, or `in_doubt_resolved` as done.
    terminal: usize,
    resolved: Vec<Resolution>,
    open: bool,
    awaiting_resolution: bool,
}

/// Checks the journal event by event (assertion 3) and tallies each instance.
fn tally(events: &[Event], context: &dyn Fn() -> String) -> BTreeMap<String, Tally> {
    let mut t: BTreeMap<String, Tally> = BTreeMap::new();
    for e in events {
        let seq = e.seq;
        match &e.kind {
            EventKind::Resumed { .. } => {
                for x in t.values_mut().filter(|x| x.open) {
                    x.open = false;
                    x.interrupted += 1;
                    x.awaiting_resolution = true;
                }
            }
            EventKind::InstanceStarted { key, .. } => {
                let x = t.entry(key.clone()).or_default();
                assert!(
                    !x.awaiting_resolution,
                    "event {seq}: {key} started again without being asked about as in doubt\n{}",
                    context()
                );
                assert!(!x.open, "event {seq}: {key} started twice\n{}", context());
                assert_eq!(
                    x.terminal,
                    0,
                    "event {seq}: {key} started after it was done\n{}",
                    context()
                );
                x.open = true;
                x.attempts += 1;
            }
            EventKind::InstanceDone { key, .. } => {
                let x = t.entry(key.clone()).or_default();
                // A manual instance is journaled when the operator decides: no start before.
                let manual = key.starts_with("confirm-web@");
                assert!(
                    x.open || manual,
                    "event {seq}: {key} done without being started in this process\n{}",
                    context()
                );
                x.open = false;
                x.completed += 1;
                x.terminal += 1;
            }
            EventKind::ActionOutput { key, .. } => {
                let x = t.entry(key.clone()).or_default();
                assert!(
                    x.open,
                    "event {seq}: output of {key}, which is not running\n{}",
                    context()
                );
            }
            EventKind::InDoubtResolved {
                key, resolution, ..
            } => {
                let x = t.entry(key.clone()).or_default();
                assert!(
                    x.awaiting_resolution,
                    "event {seq}: {key} resolved, but no kill left it in doubt\n{}",
                    context()
                );
                x.awaiting_resolution = false;
                x.resolved.push(*resolution);
                if *resolution == Resolution::Done {
                    x.terminal += 1;
                }
            }
            EventKind::InstanceSkipped { key, .. } | EventKind::InstanceFailed { key, .. } => {
                panic!(
                    "event {seq}: {key}: {} was not expected\n{}",
                    e.kind.name(),
                    context()
                )
            }
            EventKind::RunFinished { .. } => {
                for (key, x) in &t {
                    assert!(
                        !x.open && !x.awaiting_resolution,
                        "event {seq}: the run finished with {key} unresolved\n{}",
                        context()
                    );
                }
            }
            _ => {}
        }
    }
    t
}

/// What one finished run showed, for the table.
struct Verdict {
    in_doubt: Vec<String>,
    lines: usize,
    bound: (usize, usize),
}

/// Checks a finished run (assertions 1 to 6); `last_kill` is when a process was last killed.
fn verify(case: &Case, in_doubt_done: bool, last_kill: Option<Instant>) -> Verdict {
    let context = || case.outputs();
    let dir = case.run_dir().expect("a run folder");
    let path = dir.join("journal.jsonl");

    // 1. Every line is an event, except a torn one repaired by the `resumed` event after it.
    let bytes = fs::read(&path).unwrap();
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "the journal ends in a torn line\n{}",
        context()
    );
    let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|b| *b == b'\n').collect();
    let mut events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Event>(line) {
            Ok(e) => events.push(e),
            Err(err) => {
                let next = lines
                    .get(i + 1)
                    .and_then(|l| serde_json::from_slice::<Event>(l).ok());
                assert!(
                    matches!(
                        next.map(|e| e.kind),
                        Some(EventKind::Resumed {
                            repaired_torn_line: true,
                            ..
                        })
                    ),
                    "journal line {} is not an event ({err}), and the next line does not repair it\n{}",
                    i + 1,
                    context()
                );
            }
        }
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "event numbers\n{}", context());
    }
    let read = journal::read_journal(&path).unwrap();
    assert_eq!(read.events, events, "the library reads the same events");
    assert!(read.torn_lines.is_empty());

    // 2. Replayed, every instance of the plan is done and the run finished.
    let run = Run::open(&dir).unwrap();
    let progress = Progress::replay(&events);
    let source = run.runbook_source().unwrap();
    let rb = runbook::load(&source)
        .runbook
        .expect("the run's runbook loads");
    let bindings = run.bindings(&progress);
    let plan = Plan::new(&rb, &bindings);
    assert_eq!(plan.instances.len(), 7);
    for instance in &plan.instances {
        assert!(
            matches!(progress.state(&instance.key), InstanceState::Done(_)),
            "{} is {:?} after the run\n{}",
            instance.key,
            progress.state(&instance.key),
            context()
        );
    }
    assert!(progress.in_doubt().is_empty());
    assert!(progress.unplanned(&plan).is_empty());
    assert_eq!(
        progress.lifecycle,
        Some(Lifecycle::Finished(RunOutcome::Completed))
    );

    // 3. One terminal event per instance; every instance a kill cut short was asked about.
    let t = tally(&events, &context);
    let mut in_doubt = Vec::new();
    for instance in &plan.instances {
        let x = &t[&instance.key];
        assert_eq!(x.terminal, 1, "{}: {x:?}\n{}", instance.key, context());
        assert!(!x.open && !x.awaiting_resolution, "{}: {x:?}", instance.key);
        assert_eq!(x.resolved.len(), x.interrupted, "{}: {x:?}", instance.key);
        let expected = if in_doubt_done && DONE_WHEN_IN_DOUBT.contains(&instance.step_id()) {
            Resolution::Done
        } else {
            Resolution::NotDone
        };
        for r in &x.resolved {
            assert_eq!(*r, expected, "{}: {x:?}", instance.key);
            in_doubt.push(format!(
                "{}→{}",
                instance.key,
                if *r == Resolution::Done {
                    "done"
                } else {
                    "rerun"
                }
            ));
        }
    }
    assert_eq!(t.len(), plan.instances.len(), "{:?}", t.keys());

    // 4. The command appended one line per time it ran.
    let commands: Vec<&Tally> = HOSTS
        .iter()
        .map(|h| &t[&format!("restart-web@{h}")])
        .collect();
    let completed: usize = commands.iter().map(|x| x.completed).sum();
    let interrupted: usize = commands.iter().map(|x| x.interrupted).sum();
    let resolved_done = commands
        .iter()
        .flat_map(|x| &x.resolved)
        .filter(|r| **r == Resolution::Done)
        .count();
    assert_eq!(completed + resolved_done, HOSTS.len());
    // A command orphaned by a kill may still be about to append its line.
    if let Some(killed) = last_kill.filter(|_| interrupted > 0)
        && let Some(wait) = ORPHAN_GRACE.checked_sub(killed.elapsed())
    {
        std::thread::sleep(wait);
    }
    let log = fs::read_to_string(case.work().join("restarts.log")).unwrap_or_default();
    let expected_line = format!("restarted {}", case.work().display());
    assert!(log.lines().all(|l| l == expected_line), "{log}");
    let lines = log.lines().count();
    let bound = (completed, completed + interrupted);
    assert!(
        bound.0 <= lines && lines <= bound.1,
        "restarts.log has {lines} lines; the journal allows {} to {}\n{}",
        bound.0,
        bound.1,
        context()
    );

    // 5. The share holds the package, and nothing else.
    let mut expected_names = Vec::new();
    for (name, runbook_name, size) in PACKAGE {
        let found = find_ignoring_case(&case.share(), runbook_name)
            .unwrap_or_else(|| panic!("{runbook_name} is not in the share\n{}", context()));
        let bytes = fs::read(&found).unwrap();
        assert_eq!(bytes.len(), size, "size of {}", found.display());
        assert!(
            bytes == case.package_bytes(name),
            "{} is not the package's {name}",
            found.display()
        );
        expected_names.push(found.file_name().unwrap().to_string_lossy().into_owned());
    }
    expected_names.sort();
    let share = names(&case.share());
    assert!(
        !share.iter().any(|n| is_temporary(n)),
        "a temporary file is left in the share: {share:?}"
    );
    assert_eq!(share, expected_names, "what is in the share");

    // 6. The backups hold the old files, and the new configuration is in place.
    let backup = dir.join("backup");
    assert_eq!(names(&backup.join("copy-package")), ["Alpha.msi"]);
    assert_eq!(
        fs::read(backup.join("copy-package/Alpha.msi")).unwrap(),
        OLD_ALPHA,
        "the backup of Alpha.msi no longer holds the old file"
    );
    assert_eq!(names(&backup.join("write-config")), ["Service.exe.config"]);
    assert_eq!(
        fs::read(backup.join("write-config/Service.exe.config")).unwrap(),
        OLD_CONFIG,
        "the backup of Service.exe.config no longer holds the old file"
    );
    assert_eq!(
        fs::read_to_string(case.work().join("Service.exe.config")).unwrap(),
        NEW_CONFIG
    );
    let work = names(&case.work());
    assert!(
        !work.iter().any(|n| is_temporary(n)),
        "a temporary file is left in the work folder: {work:?}"
    );

    // And `stepwise status` reads the run as finished.
    let status = common::stepwise_command()
        .arg("status")
        .arg("--state-dir")
        .arg(case.state())
        .env_remove("STEPWISE_STATE_DIR")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && shown.contains(" finished ") && shown.contains(" 7/7 "),
        "stepwise status:\n{shown}{}",
        String::from_utf8_lossy(&status.stderr)
    );

    Verdict {
        in_doubt,
        lines,
        bound,
    }
}

/// Where to kill a run: once its journal has `after` events (counting from the start of the
/// process when 0), wait `delay`, then SIGKILL.
#[derive(Clone)]
struct Point {
    after: usize,
    delay: Duration,
    /// When the calibration run got there, in milliseconds after its start.
    target_ms: f64,
    /// Aimed at the moment just after an event was written.
    aimed: bool,
    in_doubt_done: bool,
    /// Kill the first resume too, this long after it starts.
    kill_resume: Option<Duration>,
}

struct Row {
    point: Point,
    /// Runs it took: a kill that came after the run had ended is tried again.
    tries: usize,
    landing: Landing,
    resume_landing: Option<Landing>,
    processes: usize,
    verdict: Verdict,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn unix_millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn event_name(e: &Event) -> String {
    format!(
        "{}{}",
        e.kind.name(),
        e.kind.key().map(|k| format!(" {k}")).unwrap_or_default()
    )
}

/// Waits until the run's journal has `events` lines, or the process ends. It looks every 0.1 ms,
/// so that a kill aimed just after an event lands before the next one when it can.
fn wait_for_events(case: &Case, child: &mut Child, events: usize) -> Option<ExitStatus> {
    if events == 0 {
        return None;
    }
    let mut journal: Option<PathBuf> = None;
    let mut seen_len = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if journal.is_none() {
            journal = case.run_dir().map(|dir| dir.join("journal.jsonl"));
        }
        if let Some(path) = &journal {
            let len = fs::metadata(path).map_or(0, |m| m.len());
            if len != seen_len {
                seen_len = len;
                let bytes = fs::read(path).unwrap_or_default();
                if bytes.iter().filter(|c| **c == b'\n').count() >= events {
                    return None;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Kills one run at a point, resumes it until it finishes, and checks it.
fn kill_and_resume(package: &Path, point: Point, tries: usize) -> Row {
    let mut case = Case::new(package, point.in_doubt_done);
    let mut child = case.spawn("run");
    let ended = match wait_for_events(&case, &mut child, point.after) {
        Some(status) => Ended::Exited(status),
        None => kill_after(&mut child, point.delay),
    };
    let mut last_kill = None;
    let landing = match ended {
        Ended::Killed => {
            last_kill = Some(Instant::now());
            where_it_landed(&case)
        }
        Ended::Exited(status) => {
            assert!(status.success(), "{status}\n{}", case.outputs());
            Landing {
                category: MISSED,
                text: MISSED.into(),
            }
        }
    };
    let mut resume_landing = None;
    if case.run_dir().is_none() {
        // Killed before the run folder was renamed into place: nothing has happened yet.
        assert_eq!(names(&case.share()), ["Alpha.msi"]);
        assert_eq!(fs::read(case.share().join("Alpha.msi")).unwrap(), OLD_ALPHA);
        assert_eq!(names(&case.work()), ["Service.exe.config"]);
        let status = case.spawn("run").wait().unwrap();
        assert!(status.success(), "{status}\n{}", case.outputs());
    }
    let mut resumes = 0;
    while !case.finished() {
        resumes += 1;
        assert!(resumes <= 3, "the run does not finish\n{}", case.outputs());
        let mut child = case.spawn("resume");
        if let (Some(delay), 1) = (point.kill_resume, resumes) {
            match kill_after(&mut child, delay) {
                Ended::Killed => {
                    last_kill = Some(Instant::now());
                    resume_landing = Some(where_it_landed(&case));
                }
                Ended::Exited(status) => {
                    assert!(status.success(), "{status}\n{}", case.outputs());
                    resume_landing = Some(Landing {
                        category: MISSED,
                        text: "missed: the resume had ended".into(),
                    });
                }
            }
            continue;
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "resume: {status}\n{}", case.outputs());
    }
    let verdict = verify(&case, point.in_doubt_done, last_kill);
    Row {
        point,
        tries,
        landing,
        resume_landing,
        processes: case.processes,
        verdict,
    }
}

/// An uninterrupted run: its length, and when each event was written, in milliseconds after the
/// start of the process.
fn calibrate(package: &Path) -> (f64, Vec<(String, f64)>) {
    let mut case = Case::new(package, false);
    let spawned_at = unix_millis_now();
    let t0 = Instant::now();
    let status = case.spawn("run").wait().unwrap();
    let length = millis(t0.elapsed());
    assert!(status.success(), "{status}\n{}", case.outputs());
    let verdict = verify(&case, false, None);
    assert_eq!(verdict.lines, HOSTS.len());
    assert!(verdict.in_doubt.is_empty());
    let marks = case
        .events()
        .iter()
        .map(|e| (event_name(e), (e.time.unix_millis() - spawned_at) as f64))
        .collect();
    (length, marks)
}

/// The 50 kill points: two thirds spread over the calibrated run's length (stratified, with
/// jitter; the first one before the run folder exists), one third just after one of its events
/// was written (half of them at once, half within the next few milliseconds). Each is anchored to the last event written before it, so that a run slower or
/// faster than the calibration one still gets killed in the same step.
fn kill_points(rng: &mut Rng, length: f64, marks: &[(String, f64)]) -> Vec<Point> {
    let aimed = KILLS / 3;
    let spread = KILLS - aimed;
    let (mut next_aimed, mut next_spread) = (0, 0);
    let mut points = Vec::new();
    for i in 0..KILLS {
        let aim = i % 3 == 2 && next_aimed < aimed;
        let (after, delay_ms, target_ms) = if aim {
            // Events 1 to 3 are written together, before the run folder appears. Every other
            // aimed kill comes at once, the others a little later, before the next event was
            // written in the calibration run (at most 5 ms later): inside a short step.
            let k = 3 + next_aimed * (marks.len() - 2) / aimed;
            let gap = marks.get(k).map_or(0.0, |next| next.1 - marks[k - 1].1);
            let delay = if next_aimed % 2 == 1 {
                gap.min(5.0) * rng.unit()
            } else {
                0.0
            };
            next_aimed += 1;
            (k, delay, marks[k - 1].1 + delay)
        } else {
            // The first one before the run folder appears, the others over the whole run.
            let target = if next_spread == 0 {
                marks[0].1 * rng.unit()
            } else {
                let slot = (next_spread as f64 - 1.0 + rng.unit()) / (spread - 1) as f64;
                length * (0.01 + 0.98 * slot)
            };
            next_spread += 1;
            match marks.iter().rposition(|(_, at)| *at <= target) {
                Some(k) => (k + 1, target - marks[k].1, target),
                None => (0, target, target),
            }
        };
        points.push(Point {
            after,
            delay: Duration::from_secs_f64(delay_ms.max(0.0) / 1000.0),
            target_ms,
            aimed: aim,
            in_doubt_done: i % 4 == 1,
            kill_resume: (i % 5 == 3)
                .then(|| Duration::from_secs_f64(length * 0.6 * rng.unit() / 1000.0)),
        });
    }
    points
}

#[test]
fn killed_anywhere_a_run_resumes_to_a_whole_result() {
    let started = Instant::now();
    let seed = std::env::var("STEPWISE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| unix_millis_now() as u64)
        | 1;
    let mut rng = Rng(seed);
    let package = tempfile::tempdir().unwrap();
    make_package(package.path());

    // The first run warms the caches up; the second one is measured.
    calibrate(package.path());
    let (length, marks) = calibrate(package.path());
    println!(
        "uninterrupted run: {length:.0} ms, {} events; seed {seed}",
        marks.len()
    );
    for (name, at) in &marks {
        println!("  {at:>5.0} ms  {name}");
    }

    let rows: Vec<Row> = kill_points(&mut rng, length, &marks)
        .into_iter()
        .map(|point| {
            // A kill that comes after the run ended kills nothing: try that point again.
            let mut tries = 1;
            loop {
                let row = kill_and_resume(package.path(), point.clone(), tries);
                if row.landing.category != MISSED || tries == 3 {
                    return row;
                }
                tries += 1;
            }
        })
        .collect();

    println!(
        "\n  #  target   anchor      in_doubt  procs  restarts.log  in doubt → resolved                          landed in (per the journal and the share)"
    );
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        *totals.entry(r.landing.category).or_default() += 1;
        let p = &r.point;
        let in_doubt = if r.verdict.in_doubt.is_empty() {
            "-".to_string()
        } else {
            r.verdict.in_doubt.join(", ")
        };
        let retried = match r.tries {
            1 => String::new(),
            n => format!(" (try {n})"),
        };
        println!(
            "{:>3}  {:>4.0} ms{} ev {:>2} +{:>3.0}  {:<8}  {:>5}  {} in [{}, {}]   {in_doubt:<44} {}{retried}",
            i + 1,
            p.target_ms,
            if p.aimed { "*" } else { " " },
            p.after,
            millis(p.delay),
            if p.in_doubt_done { "done*" } else { "rerun" },
            r.processes,
            r.verdict.lines,
            r.verdict.bound.0,
            r.verdict.bound.1,
            r.landing.text,
        );
        if let (Some(l), Some(d)) = (&r.resume_landing, p.kill_resume) {
            println!(
                "{:>83}resume killed {:.0} ms after its start: {}",
                "",
                millis(d),
                l.text
            );
        }
    }
    println!("\nwhere the {KILLS} kills of `stepwise run` landed:");
    for (category, n) in &totals {
        println!("  {n:>3}  {category}");
    }
    println!(
        "(target: when the calibration run got there, * just after an event; anchor: killed D ms \
         after the journal had K events; done*: in_doubt: done for {}; {:.1} s in all)",
        DONE_WHEN_IN_DOUBT.join(", "),
        started.elapsed().as_secs_f64()
    );

    let landed = |c: &[&str]| {
        c.iter()
            .map(|c| totals.get(c).copied().unwrap_or(0))
            .sum::<usize>()
    };
    assert!(
        landed(&[IN_COPY]) >= 5
            && landed(&[IN_COMMAND]) >= 5
            && landed(&[IN_WRITE, IN_CHECK, IN_MANUAL, BETWEEN, FINISHED]) >= 3,
        "the kills did not spread over the run: {totals:?}"
    );
}
