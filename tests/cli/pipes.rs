//! A closed standard output is success for every command (`stepwise … | head -1`), and never
//! breaks a run: the run goes on to its end (or pauses where its answers say), its folder and its
//! rehearsal sandbox stay, and `resume` takes it up.
//!
//! Two ways of closing the pipe: the reading end closed before `stepwise` starts (every write to
//! standard output fails, deterministically), and the real `| head -1` through bash, where
//! `PIPESTATUS` gives `stepwise`'s own exit code (so these tests need bash and head: Unix).
#![cfg(unix)]

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OPERATOR: &str = "pipes";

/// What a command into a closed pipe left.
#[derive(Debug)]
struct Piped {
    code: Option<i32>,
    stderr: String,
}

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_stepwise")
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("STEPWISE_STATE_DIR")
        .env("STEPWISE_OPERATOR", OPERATOR)
        .stdin(Stdio::null());
    cmd
}

/// Runs `stepwise ARGS` with standard output into a pipe whose reading end is already closed.
fn into_closed_pipe(dir: &Path, args: &[&str]) -> Piped {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = command(dir, args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("stepwise runs");
    Piped {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `stepwise ARGS | head -1` in bash; returns stepwise's own exit code, the one line head
/// printed, and stepwise's standard error.
fn into_head(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let script = r#"exe="$1"; shift; "$exe" "$@" 2>stderr.txt | head -1; exit "${PIPESTATUS[0]}""#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(exe())
        .args(args)
        .current_dir(dir)
        .env_remove("STEPWISE_STATE_DIR")
        .env("STEPWISE_OPERATOR", OPERATOR)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stderr = fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Runs `stepwise ARGS` with standard output and error into files; returns the exit code and
/// both texts.
fn plain(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = command(dir, args).output().expect("stepwise runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A run folder and the rehearsal answers that pause it after the MSIs were copied.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        fs::copy(
            common::root().join("examples/hmc45-rehearsal.yaml"),
            t.join("rehearsal.yaml"),
        )
        .unwrap();
        // The same answers, but the run pauses at the IIS restart on PROV01.
        let pausing: String = fs::read_to_string(t.join("rehearsal.yaml"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("restart-iis@PROV01:"))
            .map(|l| format!("{l}\n"))
            .chain(["  restart-iis@PROV01: pause\n".to_string()])
            .collect();
        fs::write(t.join("pausing.yaml"), pausing).unwrap();
        Setup { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn runs(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.path().join("stepwise-runs")) else {
            return Vec::new();
        };
        let mut runs: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("journal.jsonl").exists())
            .collect();
        runs.sort();
        runs
    }
}

/// The sandbox a rehearsal run works in, from its recorded backup folder (`SANDBOX/backup`).
fn sandbox_of(run: &Path) -> PathBuf {
    let header: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let backup = header["backup_dir"]
        .as_str()
        .unwrap_or_else(|| panic!("run.json names its backup folder: {header}"));
    Path::new(backup).parent().unwrap().to_path_buf()
}

fn no_panic(what: &str, code: Option<i32>, stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what}: stderr:\n{stderr}"
    );
    assert_eq!(code, Some(0), "{what}: exit code; stderr:\n{stderr}");
}

/// Every command that reads (no run is started), in every format; each one succeeds. The checks
/// look at the rehearsal's sandbox, where nothing blocks.
fn reading_commands(run_id: &str, sandbox: &Path) -> Vec<Vec<String>> {
    let package = format!("package_dir={}", sandbox.join("package_dir").display());
    let share = format!("msi_share={}", sandbox.join("msi_share").display());
    let check = [
        "check",
        "hmc45-ur6",
        "--set",
        "ur5_installed=false",
        "--set",
        "upgraded_from_hmc40=false",
        "--set",
        &package,
        "--set",
        &share,
    ];
    let check_json: Vec<&str> = check.iter().copied().chain(["--json"]).collect();
    let mut cmds: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["list"],
        vec![
            "validate",
            "hmc45-ur6",
            "hmc40-rollup-2011",
            "exchange2007-ur1",
        ],
        check.to_vec(),
        check_json,
        vec!["status"],
        vec!["status", "--json"],
        vec!["status", run_id],
        vec!["status", run_id, "--json"],
        vec!["log"],
        vec!["log", run_id],
        vec!["log", run_id, "--json"],
        vec!["list", "--json"],
        vec!["validate", "hmc45-ur6", "exchange2007-ur1", "--json"],
        vec!["--color", "always", "status", run_id],
        vec!["schema"],
        vec!["schema", "answers"],
        vec!["schema", "inventory"],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["completions", "fish"],
        vec!["completions", "powershell"],
        vec!["completions", "elvish"],
    ];
    for format in ["text", "md", "html"] {
        cmds.push(vec!["checklist", "hmc45-ur6", "--format", format]);
        cmds.push(vec![
            "checklist",
            "hmc45-ur6",
            "--format",
            format,
            "--run",
            run_id,
        ]);
    }
    cmds.into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect()
}

#[test]
fn every_reading_command_into_a_closed_pipe_or_head_succeeds() {
    let setup = Setup::new();
    let t = setup.path();
    let (code, _, stderr) = plain(
        t,
        &[
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            "rehearsal.yaml",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let run = setup.runs().pop().unwrap();
    let run_id = run.file_name().unwrap().to_string_lossy().into_owned();
    let sandbox = sandbox_of(&run);
    let mut problems = Vec::new();
    for cmd in reading_commands(&run_id, &sandbox) {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let closed = into_closed_pipe(t, &args);
        let (head_code, line, head_err) = into_head(t, &args);
        let (_, full, _) = plain(t, &args);
        let first = full.lines().next().unwrap_or("");
        let result = std::panic::catch_unwind(|| {
            no_panic(
                &format!("{cmd:?} into a closed pipe"),
                closed.code,
                &closed.stderr,
            );
            no_panic(&format!("{cmd:?} | head -1"), head_code, &head_err);
            assert_eq!(
                line.trim_end(),
                first,
                "{cmd:?} | head -1 prints the first line"
            );
        });
        if let Err(e) = result {
            let text = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            problems.push(text);
        }
    }
    common::assert_no_problems(&problems);
    let _ = fs::remove_dir_all(sandbox);
}

#[test]
fn new_into_a_closed_pipe_or_head_writes_its_runbook_and_succeeds() {
    let setup = Setup::new();
    let t = setup.path();
    let closed = into_closed_pipe(t, &["new", "closed.yaml"]);
    no_panic("new into a closed pipe", closed.code, &closed.stderr);
    let (code, _, stderr) = into_head(t, &["new", "head.yaml"]);
    no_panic("new | head -1", code, &stderr);
    for f in ["closed.yaml", "head.yaml"] {
        let (code, _, stderr) = plain(t, &["validate", f]);
        assert_eq!(code, Some(0), "{f} validates: {stderr}");
    }
}

#[test]
fn a_rehearsal_into_a_closed_pipe_pauses_keeps_its_sandbox_and_resumes_to_the_end() {
    let setup = Setup::new();
    let t = setup.path();
    let args = [
        "run",
        "hmc45-ur6",
        "--rehearse",
        "--answers",
        "pausing.yaml",
    ];
    let piped = into_closed_pipe(t, &args);
    assert!(!piped.stderr.contains("panicked"), "{}", piped.stderr);
    // The answers pause the run: exit 3, as with any standard output.
    assert_eq!(piped.code, Some(3), "{}", piped.stderr);
    let run = setup.runs().pop().expect("the run folder stays");
    let sandbox = sandbox_of(&run);
    assert!(sandbox.join("msi_share").is_dir(), "the sandbox stays");
    let journal = fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"kind\":\"paused\""), "{journal}");

    // `stepwise resume | head -1`: the sandbox is whole, so no finding blocks; the run ends.
    let (code, line, stderr) = into_head(t, &["resume", "--answers", "rehearsal.yaml"]);
    no_panic("resume | head -1", code, &stderr);
    assert!(line.starts_with("Resuming run"), "{line}");
    assert!(!stderr.contains("blocking"), "{stderr}");
    let (_, status, _) = plain(t, &["status", "--json"]);
    assert!(status.contains("\"finished\""), "{status}");
    let _ = fs::remove_dir_all(sandbox);
}

#[test]
fn a_run_into_head_goes_on_to_its_end_and_copies_for_real() {
    let setup = Setup::new();
    let t = setup.path();
    let (code, line, stderr) = into_head(
        t,
        &[
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            "rehearsal.yaml",
        ],
    );
    no_panic("run | head -1", code, &stderr);
    assert!(line.starts_with("Description of Update Rollup 6"), "{line}");
    let run = setup.runs().pop().expect("the run folder stays");
    let sandbox = sandbox_of(&run);
    // The copy ran after the reader went away: the share holds the package's files.
    let copied = fs::read_dir(sandbox.join("msi_share"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| fs::read(e.path()).is_ok_and(|b| b.starts_with(b"NEW ")))
        .count();
    assert!(copied > 0, "the MSIs were copied into the sandbox's share");
    let (_, status, _) = plain(t, &["status", "--json"]);
    assert!(status.contains("\"finished\""), "{status}");
    let _ = fs::remove_dir_all(sandbox);
}

#[test]
fn standard_output_and_error_both_into_head_is_still_success() {
    let setup = Setup::new();
    let t = setup.path();
    let script =
        r#"exe="$1"; shift; "$exe" "$@" 2>&1 | head -1 >/dev/null; exit "${PIPESTATUS[0]}""#;
    for args in [
        vec![
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            "rehearsal.yaml",
        ],
        vec![
            "validate",
            "hmc45-ur6",
            "hmc40-rollup-2011",
            "nonexistent-runbook",
        ],
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("bash")
            .arg(exe())
            .args(&args)
            .current_dir(t)
            .env_remove("STEPWISE_STATE_DIR")
            .env("STEPWISE_OPERATOR", OPERATOR)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // validate's exit code is its own (1: a runbook is missing), never a panic's 101.
        let expected = if args[0] == "validate" { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "{args:?}");
    }
    for run in setup.runs() {
        let _ = fs::remove_dir_all(sandbox_of(&run));
    }
}

/// The subcommands `stepwise --help` lists.
fn subcommands() -> Vec<String> {
    let out = Command::new(exe()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// Every subcommand there is, the ones added after these tests were written included: with
/// the arguments of a case above when it has one, else bare (wrong usage for some, which is
/// exit 2 and no panic); and `help` for each.
#[test]
fn every_subcommand_into_a_closed_pipe_never_panics() {
    let setup = Setup::new();
    let t = setup.path();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            "rehearsal.yaml",
        ],
        vec!["resume", "--answers", "rehearsal.yaml"],
        vec!["validate", "hmc45-ur6"],
        vec!["checklist", "hmc45-ur6"],
        vec!["check", "hmc45-ur6"],
        vec!["completions", "bash"],
        vec!["new", "new-runbook.yaml"],
    ];
    let mut problems = Vec::new();
    for sub in subcommands() {
        let mut runs: Vec<Vec<&str>> = cases.iter().filter(|c| c[0] == sub).cloned().collect();
        if runs.is_empty() {
            runs.push(vec![sub.as_str()]);
        }
        runs.push(vec!["help", sub.as_str()]);
        for args in runs {
            let piped = into_closed_pipe(t, &args);
            if piped.stderr.contains("panicked") || piped.code == Some(101) || piped.code.is_none()
            {
                problems.push(format!("{args:?}: {:?}\n{}", piped.code, piped.stderr));
            }
        }
    }
    common::assert_no_problems(&problems);
    for run in setup.runs() {
        let _ = fs::remove_dir_all(sandbox_of(&run));
    }
}

/// A runbook whose checklist is half a megabyte long or more: 200 steps on 30 hosts, in 10 phases.
fn large_runbook() -> String {
    let hosts: Vec<String> = (1..=30).map(|i| format!("WEB{i:02}")).collect();
    let mut text = format!(
        "id: large\ntitle: Large\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [{}] }}\nphases:\n",
        hosts.join(", ")
    );
    for s in 0..200 {
        if s % 20 == 0 {
            text.push_str(&format!(
                "  - id: phase-{0}\n    title: Phase {0}\n    steps:\n",
                s / 20
            ));
        }
        text.push_str(&format!(
            "      - {{ id: step-{s}, title: Step {s}, on: web, items: [First, Second] }}\n"
        ));
    }
    text
}

/// A checklist is written a phase at a time: when the reader goes away part-way through a
/// long one (`| head -1`, or a pipe closed from the start), the command still succeeds, and
/// with `-o` the file holds exactly what standard output gets.
#[test]
fn a_long_checklist_written_as_it_goes_into_head_or_a_closed_pipe_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    fs::write(t.join("large.yaml"), large_runbook()).unwrap();
    for format in ["text", "md", "html"] {
        let args = ["checklist", "large.yaml", "--format", format];
        let (code, full, stderr) = plain(t, &args);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            full.len() > 1 << 18,
            "{format}: the checklist is longer than a pipe's buffer ({} bytes)",
            full.len()
        );
        let (head_code, line, head_err) = into_head(t, &args);
        no_panic(&format!("{format} | head -1"), head_code, &head_err);
        assert_eq!(line.trim_end(), full.lines().next().unwrap());
        let closed = into_closed_pipe(t, &args);
        no_panic(
            &format!("{format} into a closed pipe"),
            closed.code,
            &closed.stderr,
        );
        let file = format!("checklist.{format}");
        let (code, _, stderr) = plain(t, &[&args[..], &["-o", &file]].concat());
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            fs::read_to_string(t.join(&file)).unwrap() == full,
            "{format}: -o writes what standard output gets"
        );
    }
}
