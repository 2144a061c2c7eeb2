//! Who the journal says drove a run: `--operator`, `STEPWISE_OPERATOR`, the answers file's
//! `operator`, `USER`, `USERNAME`, in that order; with none and no terminal, nothing starts.
//! (Asked at a terminal: `terminal::the_operator_is_asked_once_when_nothing_names_them`.)

use crate::common::{self, DEMO_RUNBOOK, text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use stepwise::journal;

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        fs::write(t.join("demo.yaml"), DEMO_RUNBOOK).unwrap();
        fs::write(t.join("done.yaml"), "default: done\n").unwrap();
        fs::write(t.join("named.yaml"), "operator: Frank\ndefault: done\n").unwrap();
        fs::write(
            t.join("pause.yaml"),
            "default: done\nsteps:\n  start-engine: pause\n",
        )
        .unwrap();
        Env { tmp }
    }

    /// `stepwise ARGS` with exactly the given operator-related variables set.
    fn stepwise(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = common::stepwise_command();
        cmd.args(args)
            .current_dir(self.tmp.path())
            .env_remove("STEPWISE_STATE_DIR")
            .env_remove("STEPWISE_OPERATOR")
            .env_remove("USER")
            .env_remove("USERNAME")
            .env_remove("LOGNAME")
            .stdin(Stdio::null());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn runs(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.tmp.path().join("stepwise-runs")) else {
            return Vec::new();
        };
        let mut runs: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("journal.jsonl").exists())
            .collect();
        runs.sort();
        runs
    }

    /// Runs the demo with `answers` and returns the operator of every event.
    fn operators(&self, extra: &[&str], answers: &str, vars: &[(&str, &str)]) -> Vec<String> {
        let mut args = vec!["run", "demo.yaml", "--answers", answers];
        args.extend_from_slice(extra);
        let out = self.stepwise(&args, vars);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let run = self.runs().pop().unwrap();
        let ops = operators(&run);
        fs::remove_dir_all(run).unwrap();
        ops
    }
}

fn operators(run: &Path) -> Vec<String> {
    let read = journal::read_journal(&run.join("journal.jsonl")).unwrap();
    read.events.into_iter().map(|e| e.operator).collect()
}

fn all(ops: &[String], name: &str) -> bool {
    !ops.is_empty() && ops.iter().all(|o| o == name)
}

#[test]
fn every_source_of_the_operators_name_in_order() {
    let env = Env::new();
    let every = [
        ("STEPWISE_OPERATOR", "Carol"),
        ("USER", "alice"),
        ("USERNAME", "jdoe"),
    ];
    // The flag wins over everything, the answers file's name included.
    let ops = env.operators(&["--operator", "Bob Smith"], "named.yaml", &every);
    assert!(all(&ops, "Bob Smith"), "{ops:?}");
    // Then STEPWISE_OPERATOR, over the answers file and the login.
    let ops = env.operators(&[], "named.yaml", &every);
    assert!(all(&ops, "Carol"), "{ops:?}");
    // Then the answers file's `operator`, over the login.
    let ops = env.operators(&[], "named.yaml", &every[1..]);
    assert!(all(&ops, "Frank"), "{ops:?}");
    // Then USER, then USERNAME (Windows).
    let ops = env.operators(&[], "done.yaml", &every[1..]);
    assert!(all(&ops, "alice"), "{ops:?}");
    let ops = env.operators(&[], "done.yaml", &every[2..]);
    assert!(all(&ops, "jdoe"), "{ops:?}");
    // An empty USER is no name.
    let ops = env.operators(&[], "done.yaml", &[("USER", ""), ("USERNAME", "jdoe")]);
    assert!(all(&ops, "jdoe"), "{ops:?}");
}

#[test]
fn without_any_name_and_without_a_terminal_nothing_starts() {
    let env = Env::new();
    let out = env.stepwise(&["run", "demo.yaml", "--answers", "done.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "stepwise: who is the operator? Give --operator NAME or set STEPWISE_OPERATOR (USER and \
         USERNAME are not set either, and there is no terminal to ask at); nothing was started\n"
    );
    assert!(env.runs().is_empty(), "no run folder");
}

#[test]
fn a_name_that_cannot_be_recorded_is_refused_naming_where_it_came_from() {
    let env = Env::new();
    let out = env.stepwise(
        &[
            "run",
            "demo.yaml",
            "--answers",
            "done.yaml",
            "--operator",
            " ",
        ],
        &[("USER", "alice")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "stepwise: --operator: an operator name cannot be empty\n"
    );
    let out = env.stepwise(
        &["run", "demo.yaml", "--answers", "done.yaml"],
        &[("STEPWISE_OPERATOR", "bob\u{1b}[2J"), ("USER", "alice")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "stepwise: STEPWISE_OPERATOR: an operator name is one line of text without control \
         characters\n"
    );
    assert!(env.runs().is_empty(), "no run folder");
}

#[test]
fn resume_records_who_took_the_run_up() {
    let env = Env::new();
    let out = env.stepwise(
        &["run", "demo.yaml", "--answers", "pause.yaml"],
        &[("USER", "alice")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let run = env.runs().pop().unwrap();
    let before = operators(&run).len();

    // Without any name, resume does not start either.
    let out = env.stepwise(&["resume", "--answers", "done.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("who is the operator?"));
    assert_eq!(operators(&run).len(), before, "nothing was journaled");

    let out = env.stepwise(
        &["resume", "--answers", "done.yaml", "--operator", "Dave"],
        &[("USER", "alice"), ("STEPWISE_OPERATOR", "Carol")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ops = operators(&run);
    assert!(all(&ops[..before], "alice"), "{ops:?}");
    assert!(all(&ops[before..], "Dave"), "{ops:?}");
    let status = env.stepwise(&["status", "--json"], &[]);
    assert!(text(&status.stdout).contains("\"finished\""));
}
