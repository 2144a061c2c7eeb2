//! Shared helpers for the integration tests: run the real `stepwise` executable in a temporary
//! folder, compare whole outputs with stored snapshots, and find the bundled runbooks.
//!
//! The same modules make two test binaries: `cli` runs the Linux build, `windows` runs the
//! Windows build under Wine (`tests/windows/main.rs`), through [`stepwise_command`]. A test that
//! needs Unix is wrapped in `unix_only!` (defined by each binary's `main.rs`), which ignores it
//! in the Windows binary with the reason.
//!
//! Snapshots live under `tests/snapshots/`. `STEPWISE_BLESS=1 cargo test` rewrites them; without
//! it a missing or different snapshot fails the test.

#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether this test binary runs the Windows build (under Wine).
pub fn windows() -> bool {
    crate::WINDOWS
}

/// The program the tests run: the Linux build, or in the Windows suite the wrapper named by
/// `STEPWISE_WINDOWS_BIN` that runs `stepwise.exe` under Wine.
pub fn stepwise_program() -> PathBuf {
    if windows() {
        PathBuf::from(
            std::env::var_os("STEPWISE_WINDOWS_BIN")
                .expect("STEPWISE_WINDOWS_BIN names the Wine wrapper (scripts/windows.sh)"),
        )
    } else {
        PathBuf::from(env!("CARGO_BIN_EXE_stepwise"))
    }
}

/// A command that runs `stepwise` (see [`stepwise_program`]).
pub fn stepwise_command() -> Command {
    Command::new(stepwise_program())
}

/// A runbook of two manual steps, `stop-engine` and `start-engine`.
pub const DEMO_RUNBOOK: &str = "id: demo
title: Demo rollup
article: KB000001
product: Demo 1.0
phases:
  - id: prepare
    title: Prepare
    steps:
      - { id: stop-engine, title: Stop the provisioning engine }
      - { id: start-engine, title: Start the provisioning engine }
";

/// `stepwise run` of the test's `rb.yaml`, answered by its `a.yaml`, journaled under `runs`.
pub const RUN_RB: [&str; 6] = [
    "run",
    "rb.yaml",
    "--answers",
    "a.yaml",
    "--state-dir",
    "runs",
];

/// `stepwise ARGS` in `dir` as the operator `alice`, with no state folder from the
/// environment and no standard input: the process's own output, bytes and status.
pub fn stepwise_in(dir: &Path, args: &[&str]) -> std::process::Output {
    stepwise_command()
        .args(args)
        .current_dir(dir)
        .env_remove("STEPWISE_STATE_DIR")
        .env("USER", "alice")
        .stdin(Stdio::null())
        .output()
        .expect("run stepwise")
}

/// Bytes a process printed, as text (invalid UTF-8 replaced).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fails unless the process exited with `code`, showing what it printed.
#[track_caller]
pub fn assert_code(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The one run folder under a state folder.
pub fn only_run(state: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().unwrap()
}

/// Waits (at most `limit`) until the journal of a run under the state folder `state` says a
/// command started: the run's folder and the command's process id.
pub fn command_started(state: &Path, limit: Duration) -> (PathBuf, u32) {
    use stepwise::journal::{self, EventKind};
    let started = Instant::now();
    loop {
        let run = fs::read_dir(state).ok().and_then(|runs| {
            runs.flatten()
                .map(|e| e.path())
                .find(|p| p.join("journal.jsonl").exists())
        });
        let pid = run.as_ref().and_then(|run| {
            let read = journal::read_journal(&run.join("journal.jsonl")).ok()?;
            read.events.iter().find_map(|e| match &e.kind {
                EventKind::CommandStarted { pid, .. } => Some(*pid),
                _ => None,
            })
        });
        if let (Some(run), Some(pid)) = (run, pid) {
            return (run, pid);
        }
        assert!(started.elapsed() < limit, "the command never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` (`-INT`, `-TERM`, …) to a running `stepwise` with `kill`, and waits (at most
/// 15 s) for it to end: how it ended.
pub fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    assert!(
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "stepwise did not end within 15 s of kill {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A text with the separators of the paths the Windows build joins into a state folder (`runs\\ID\\journal.jsonl`)
/// turned into `/`, to compare with what the Linux build prints (as it is for the Linux build).
pub fn run_paths(text: &str) -> String {
    if !windows() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Every `\` between a word character (or `.`) and a run id, a run file or a run folder.
    while let Some(i) = rest.find('\\') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let after = &after[1..];
        let next_is_run = after.starts_with(|c: char| c.is_ascii_digit())
            || [
                "journal.jsonl",
                "run.json",
                "lock",
                "output",
                "backup",
                "sandbox",
                "checklist",
            ]
            .iter()
            .any(|f| after.starts_with(f));
        let prev_is_runs =
            before.ends_with("runs") || before.ends_with(|c: char| c.is_ascii_alphanumeric());
        out.push(if next_is_run && prev_is_runs {
            '/'
        } else {
            '\\'
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The Wine prefix the Windows build runs in: `WINEPREFIX`, or the `export WINEPREFIX='…'` line
/// of the wrapper `scripts/windows.sh` writes.
pub fn wine_prefix() -> PathBuf {
    if let Some(p) = std::env::var_os("WINEPREFIX") {
        return PathBuf::from(p);
    }
    let wrapper = fs::read_to_string(stepwise_program()).expect("read the Wine wrapper");
    let line = wrapper
        .lines()
        .find_map(|l| l.strip_prefix("export WINEPREFIX='"))
        .expect("the wrapper sets WINEPREFIX");
    PathBuf::from(&line[..line.find('\'').expect("a quoted prefix")])
}

/// A path the Windows build printed, as a path of this (Linux) machine: `Z:\\tmp\\x` is
/// `/tmp/x`, `C:\\x` is `x` under the Wine prefix's `drive_c`, `runs\\ID` is `runs/ID` (as it
/// is for the Linux build).
pub fn local_path(printed: &str) -> PathBuf {
    if !windows() {
        return PathBuf::from(printed);
    }
    let drive = printed.get(..2).map(str::to_ascii_uppercase);
    let rest = printed.get(2..).unwrap_or_default().replace('\\', "/");
    match drive.as_deref() {
        Some("Z:") => PathBuf::from(rest),
        Some("C:") => wine_prefix()
            .join("drive_c")
            .join(rest.trim_start_matches('/')),
        _ => PathBuf::from(printed.replace('\\', "/")),
    }
}

/// `dir/name`, or for the Windows build the entry of `dir` whose name is `name` ignoring case:
/// Windows keeps the spelling of a file it replaces.
pub fn entry(dir: &Path, name: &str) -> PathBuf {
    let exact = dir.join(name);
    if !windows() || exact.exists() {
        return exact;
    }
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(name))
        })
        .unwrap_or(exact)
}

/// A test runbook under `tests/runbooks/`: for the Windows build, its variant under
/// `tests/runbooks/windows/` when there is one (the same runbook, its commands run by `cmd`).
pub fn test_runbook(name: &str) -> PathBuf {
    let windows_variant = root().join("tests/runbooks/windows").join(name);
    if windows() && windows_variant.exists() {
        windows_variant
    } else {
        root().join("tests/runbooks").join(name)
    }
}

/// The folder of the package: where `runbooks/` and `tests/` are.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The ids of the bundled runbooks: every `runbooks/*.yaml`, sorted.
pub fn bundled_ids() -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(root().join("runbooks"))
        .expect("runbooks/ is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// What a finished `stepwise` process left.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A `stepwise` command line, run in its own temporary folder.
pub struct Stepwise {
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    dir: tempfile::TempDir,
    cwd: Option<PathBuf>,
}

impl Stepwise {
    pub fn new() -> Stepwise {
        Stepwise {
            args: Vec::new(),
            envs: Vec::new(),
            dir: tempfile::tempdir().expect("a temporary folder"),
            cwd: None,
        }
    }

    /// Runs the command in `dir` instead of its own temporary folder.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Stepwise {
        self.cwd = Some(dir.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Stepwise {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Stepwise
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Stepwise {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// The temporary folder the command runs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the temporary folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).expect("write a test file");
        path
    }

    pub fn run(&self) -> Output {
        let mut cmd = stepwise_command();
        // A login name, as an operator's shell has one (cargo test may run without USER): the
        // lowest-ranked source of the operator's name, so --operator, STEPWISE_OPERATOR and an
        // answers file's `operator` still win.
        cmd.args(&self.args)
            .current_dir(self.cwd.as_deref().unwrap_or(self.dir.path()))
            .env_remove("STEPWISE_STATE_DIR")
            .env("USER", "test-operator")
            .stdin(Stdio::null());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("stepwise runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs and expects success with nothing on standard error; returns standard output.
    pub fn stdout(&self) -> String {
        let out = self.run();
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, ""),
            "stepwise {:?} failed",
            self.args
        );
        out.stdout
    }
}

/// Whether `STEPWISE_BLESS=1` asks for snapshots to be rewritten.
pub fn blessing() -> bool {
    std::env::var("STEPWISE_BLESS").is_ok_and(|v| v == "1")
}

pub fn snapshot_dir() -> PathBuf {
    root().join("tests").join("snapshots")
}

/// Compares `actual` with the snapshot `name` under `tests/snapshots/`, whole. With
/// `STEPWISE_BLESS=1` the snapshot is written instead. Returns a description of the problem.
pub fn check_snapshot(name: &str, actual: &str) -> Result<(), String> {
    let path = snapshot_dir().join(name);
    if blessing() {
        fs::create_dir_all(snapshot_dir()).expect("create tests/snapshots");
        let same = fs::read_to_string(&path).is_ok_and(|old| old == actual);
        if !same {
            fs::write(&path, actual).expect("write a snapshot");
        }
        return Ok(());
    }
    let expected = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            return Err(format!(
                "{}: no snapshot; run `STEPWISE_BLESS=1 cargo test --test cli checklist` to write it",
                path.display()
            ));
        }
    };
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "{}: output differs from the snapshot{}\n(`STEPWISE_BLESS=1 cargo test --test cli checklist` rewrites it)",
        path.display(),
        first_difference(&expected, actual)
    ))
}

/// Where two texts first differ, with a few lines of context.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let at = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = at.saturating_sub(2);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(5)
            .map(|(i, l)| format!("  {:>5} | {l}\n", i + 1))
            .collect::<String>()
    };
    format!(
        " at line {} ({} lines expected, {} given)\nexpected:\n{}actual:\n{}",
        at + 1,
        e.len(),
        a.len(),
        show(&e),
        show(&a)
    )
}

/// Fails with every problem at once.
pub fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Runs a program to its end, killing it after `limit`; returns its exit status success,
/// standard output and standard error.
pub fn run_with_limit(
    cmd: &mut Command,
    limit: Duration,
) -> Result<(bool, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let start = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    let err = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    Ok((status.success(), out, err))
}
