//! A run folder left half-built by a process killed while it created a run (`.RUN_ID.XXXXXX.new`
//! in the state folder): `status` reports it without touching it, `resume` and `run` remove it,
//! and one that a live process is building right now is neither reported nor removed.

use crate::common::{DEMO_RUNBOOK, text};

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("demo.yaml"), DEMO_RUNBOOK).unwrap();
        fs::write(tmp.path().join("pause.yaml"), "default: pause\n").unwrap();
        Env { tmp }
    }

    fn state(&self) -> PathBuf {
        self.tmp.path().join("stepwise-runs")
    }

    fn stepwise(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stepwise"))
            .args(args)
            .current_dir(self.tmp.path())
            .env_remove("STEPWISE_STATE_DIR")
            .env("STEPWISE_OPERATOR", "alice")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A real run, paused at its first step; returns its folder.
    fn paused_run(&self) -> PathBuf {
        let out = self.stepwise(&["run", "demo.yaml", "--answers", "pause.yaml"]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        self.runs().pop().unwrap()
    }

    fn runs(&self) -> Vec<PathBuf> {
        let mut runs: Vec<PathBuf> = fs::read_dir(self.state())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && !name(p).starts_with('.'))
            .collect();
        runs.sort();
        runs
    }

    /// What a `stepwise run` killed while it created its run leaves: a complete run folder
    /// under its hidden name (killed just before the rename), and one with only the runbook
    /// copy in it (killed early).
    fn abandon(&self, like: &Path) -> Vec<PathBuf> {
        let whole = self.state().join(format!(
            ".{}.Qw3rty.new",
            name(like).replace("-demo-", "-demo-9")
        ));
        copy_dir(like, &whole);
        for f in ["lock", "lock.json"] {
            let _ = fs::remove_file(whole.join(f));
        }
        let early = self.state().join(".20261130-101010-demo-77aa.As5dfg.new");
        fs::create_dir(&early).unwrap();
        fs::write(early.join("runbook.yaml"), DEMO_RUNBOOK).unwrap();
        let mut both = vec![whole, early];
        both.sort();
        both
    }
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Every path under `dir`, with its modification time: what a command that must not write
/// may not change.
fn snapshot(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push((e.path(), e.metadata().unwrap().modified().unwrap()));
        if e.file_type().unwrap().is_dir() {
            out.extend(snapshot(&e.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn status_reports_a_half_built_run_folder_and_leaves_it() {
    let env = Env::new();
    let run = env.paused_run();
    let abandoned = env.abandon(&run);
    let before = snapshot(&env.state());

    let out = env.stepwise(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for dir in &abandoned {
        assert!(
            stderr.contains(&format!(
                "stepwise: warning: {}: a run folder left half-built by a process that stopped \
                 while creating it; nothing in it ran, and the next `stepwise run` or \
                 `stepwise resume` removes it",
                Path::new("stepwise-runs").join(name(dir)).display()
            )),
            "{stderr}"
        );
    }
    // Only the real run is listed.
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains(&name(&run)));

    let out = env.stepwise(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<String> = doc["abandoned_creations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| name(Path::new(v.as_str().unwrap())))
        .collect();
    let expected: Vec<String> = abandoned.iter().map(|p| name(p)).collect();
    assert_eq!(listed, expected);

    let out = env.stepwise(&["status", &name(&run)]);
    assert!(
        text(&out.stderr).contains("half-built"),
        "{}",
        text(&out.stderr)
    );
    // status wrote nothing.
    assert_eq!(snapshot(&env.state()), before);
}

#[test]
fn resume_removes_a_half_built_run_folder() {
    let env = Env::new();
    let run = env.paused_run();
    let abandoned = env.abandon(&run);
    let out = env.stepwise(&["resume", "--answers", "pause.yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    for dir in &abandoned {
        assert!(!dir.exists(), "{} was removed", dir.display());
    }
    assert_eq!(env.runs(), vec![run]);
}

#[test]
fn run_removes_a_half_built_run_folder_even_a_recent_one() {
    let env = Env::new();
    let run = env.paused_run();
    let abandoned = env.abandon(&run);
    env.paused_run();
    for dir in &abandoned {
        assert!(!dir.exists(), "{} was removed", dir.display());
    }
    assert_eq!(env.runs().len(), 2);
}

#[cfg(unix)]
#[test]
fn a_run_folder_being_built_now_is_neither_reported_nor_removed() {
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let run = env.paused_run();
    let abandoned = env.abandon(&run);
    // Another process holds the creation lock, as `stepwise run` does while it builds a run
    // folder (util-linux `flock` takes the same kind of lock).
    let lock = env.state().join(".create.lock");
    let mut holder = Command::new("flock")
        .arg("--exclusive")
        .arg(&lock)
        .args(["-c", "echo held; sleep 30"])
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("flock (util-linux) runs");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "held\n");

    let out = env.stepwise(&["status"]);
    assert!(
        !text(&out.stderr).contains("half-built"),
        "{}",
        text(&out.stderr)
    );
    let out = env.stepwise(&["resume", "--answers", "pause.yaml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    for dir in &abandoned {
        assert!(dir.exists(), "{} is being built: it stays", dir.display());
    }
    // The shell and its `sleep` hold the lock too: end the whole group.
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{}", holder.id()))
        .status();
    let _ = holder.wait();
    // Its holder gone, the lock is free: the folders are abandoned now.
    let out = env.stepwise(&["status"]);
    assert!(
        text(&out.stderr).contains("half-built"),
        "{}",
        text(&out.stderr)
    );
}

/// `stepwise run` killed (SIGKILL) at moments spread over its start: whatever each one left,
/// `status` reports every half-built folder, and the next `run` leaves none and no stray lock.
#[cfg(unix)]
#[test]
fn runs_killed_while_they_start_leave_nothing_the_next_run_does_not_sweep() {
    let env = Env::new();
    // A first run creates the state folder, so the kills land in what follows.
    env.paused_run();
    let mut killed = 0;
    for i in 0..40u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
            .args(["run", "demo.yaml", "--answers", "pause.yaml"])
            .current_dir(env.tmp.path())
            .env_remove("STEPWISE_STATE_DIR")
            .env("STEPWISE_OPERATOR", "alice")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(250 * i));
        if child.kill().is_ok() {
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed > 0);
    let staging: Vec<String> = fs::read_dir(env.state())
        .unwrap()
        .map(|e| name(&e.unwrap().path()))
        .filter(|n| n.starts_with('.') && n.ends_with(".new"))
        .collect();
    let out = env.stepwise(&["status"]);
    for n in &staging {
        assert!(
            text(&out.stderr).contains(n.as_str()),
            "{n} is reported: {}",
            text(&out.stderr)
        );
    }
    eprintln!(
        "{killed} runs killed while starting, {} left a half-built folder",
        staging.len()
    );
    env.paused_run();
    let left: Vec<String> = fs::read_dir(env.state())
        .unwrap()
        .map(|e| name(&e.unwrap().path()))
        .filter(|n| n.ends_with(".new"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
