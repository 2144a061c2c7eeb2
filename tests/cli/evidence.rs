//! Every path to "done", scripted with an answers file: by automation, by hand, after a known
//! issue's workaround, rehearsed, and reopened (revisited) before the run finished. The journal,
//! `status --json` and the as-run checklist must agree on how each instance was done.

use crate::common::{self, only_run, text};

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};

use stepwise::journal::{self, Completion, EventKind, InstanceState};

const RUNBOOK: &str = r#"
id: paths
title: Every path to done
article: KB0
product: stepwise tests
parameters:
  - { name: work_dir, type: path, prompt: Work folder }
phases:
  - id: main
    title: Main
    steps:
      - id: automated
        title: Runs by its automation
        action: { type: command, program: sh, args: [-c, 'echo ran >> "$0/log"', '{{ work_dir }}'] }
      - id: by-hand
        title: Declined, then done by hand
        action: { type: command, program: sh, args: [-c, 'echo ran >> "$0/log"', '{{ work_dir }}'] }
      - id: worked-around
        title: Fails until its workaround is applied
        known_issues: [missing-flag]
        action: { type: command, program: sh, args: [-c, 'test -f "$0/flag"', '{{ work_dir }}'] }
      - id: confirmed
        title: A manual step
        items: [First, Second]
      - id: reopened
        title: Declined and skipped, then reopened and run
        action: { type: command, program: sh, args: [-c, 'echo reopened >> "$0/log"', '{{ work_dir }}'] }
known_issues:
  - id: missing-flag
    title: The flag file is missing
    symptom: The command exits with 1.
    workaround: Write the flag file.
    steps:
      - id: write-flag
        title: Write the flag
        action: { type: write_file, dir: '{{ work_dir }}', file: flag, content: "set\n" }
"#;

const ANSWERS: &str = r#"
confirm: true
default: done
steps:
  by-hand: { confirm: false, decision: by-hand, note: "ran it from the console on the server" }
  worked-around: { on_failure: [workaround:missing-flag] }
  reopened: { confirm: false, decision: skip, note: "not tonight" }
revisit:
  - { key: reopened, confirm: true }
"#;

fn stepwise(dir: &Path, args: &[&str]) -> Output {
    common::stepwise_command()
        .args(args)
        .current_dir(dir)
        .env_remove("STEPWISE_STATE_DIR")
        .env("USER", "alice")
        // A rehearsal's sandbox goes here, and goes away with the test.
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run stepwise")
}

/// How the journal says an instance was done: its last `instance_done`.
fn journal_how(events: &[journal::Event], key: &str) -> Option<Completion> {
    events.iter().rev().find_map(|e| match &e.kind {
        EventKind::InstanceDone { key: k, how } if k == key => Some(*how),
        _ => None,
    })
}

/// Runs the runbook with the answers, and checks the three records against `expected`.
fn walk_and_compare(rehearse: bool, expected: &[(&str, Completion, &str, &str)]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::create_dir(t.join("work")).unwrap();
    fs::write(t.join("paths.yaml"), RUNBOOK).unwrap();
    fs::write(
        t.join("a.yaml"),
        format!(
            "params: {{ work_dir: '{}' }}\n{ANSWERS}",
            t.join("work").display()
        ),
    )
    .unwrap();
    let mut args = vec![
        "run",
        "paths.yaml",
        "--answers",
        "a.yaml",
        "--state-dir",
        "runs",
    ];
    if rehearse {
        args.push("--rehearse");
    }
    let out = stepwise(t, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run = only_run(&t.join("runs"));
    let events = journal::read_journal(&run.join("journal.jsonl"))
        .unwrap()
        .events;
    let progress = journal::Progress::replay(&events);
    let run_arg = run.display().to_string();
    let status = stepwise(t, &["status", "--state-dir", "runs", "--json", &run_arg]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let sheet = text(&stepwise(t, &["checklist", "paths.yaml", "--run", &run_arg]).stdout);
    let md = text(
        &stepwise(
            t,
            &[
                "checklist",
                "paths.yaml",
                "--run",
                &run_arg,
                "--format",
                "md",
            ],
        )
        .stdout,
    );
    let html = text(
        &stepwise(
            t,
            &[
                "checklist",
                "paths.yaml",
                "--run",
                &run_arg,
                "--format",
                "html",
            ],
        )
        .stdout,
    );
    for (key, how, done_by, words) in expected {
        assert_eq!(journal_how(&events, key), Some(*how), "journal: {key}");
        assert_eq!(
            progress.state(key),
            &InstanceState::Done(*how),
            "replay: {key}"
        );
        let instance = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == *key)
            .unwrap();
        assert_eq!(instance["state"], "done", "status: {key}");
        assert_eq!(instance["done_by"], *done_by, "status: {key}");
        assert_eq!(
            instance["how"],
            serde_json::to_value(how).unwrap(),
            "status: {key}"
        );
        let tick = format!("done ({words}) by alice at ");
        for (format, out) in [("text", &sheet), ("md", &md), ("html", &html)] {
            assert!(
                out.contains(&tick),
                "{format} checklist: `{tick}` for {key}:\n{out}"
            );
        }
    }
    assert_eq!(status["counts"]["done"], expected.len());
    sheet
}

#[test]
fn every_path_to_done_is_recorded_the_same_in_journal_status_and_checklist() {
    let sheet = walk_and_compare(
        false,
        &[
            (
                "automated",
                Completion::Automated,
                "automation",
                "by automation",
            ),
            ("by-hand", Completion::ByHand, "by_hand", "by hand"),
            (
                "worked-around",
                Completion::Workaround,
                "workaround",
                "after a workaround",
            ),
            ("confirmed", Completion::Confirmed, "by_hand", "by hand"),
            (
                "reopened",
                Completion::Automated,
                "automation",
                "by automation",
            ),
        ],
    );
    // The by-hand note and the skip before the revisit stay on the record, in order.
    assert!(
        sheet.contains("Note by alice at ")
            && sheet.contains(": ran it from the console on the server"),
        "{sheet}"
    );
}

#[test]
fn a_rehearsal_records_its_commands_as_rehearsed() {
    walk_and_compare(
        true,
        &[
            (
                "automated",
                Completion::Rehearsed,
                "rehearsed",
                "rehearsed, not run",
            ),
            ("by-hand", Completion::ByHand, "by_hand", "by hand"),
            // Not run, so it cannot fail: no workaround is needed.
            (
                "worked-around",
                Completion::Rehearsed,
                "rehearsed",
                "rehearsed, not run",
            ),
            ("confirmed", Completion::Confirmed, "by_hand", "by hand"),
            (
                "reopened",
                Completion::Rehearsed,
                "rehearsed",
                "rehearsed, not run",
            ),
        ],
    );
}

#[test]
fn declined_automation_is_never_done_without_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::create_dir(t.join("work")).unwrap();
    fs::write(t.join("paths.yaml"), RUNBOOK).unwrap();
    let work = t.join("work").display().to_string();
    // `confirm: false` with `done`: refused, the run stops and nothing is marked.
    fs::write(
        t.join("a.yaml"),
        format!("params: {{ work_dir: '{work}' }}\nconfirm: false\ndefault: done\n"),
    )
    .unwrap();
    let out = stepwise(
        t,
        &[
            "run",
            "paths.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "stepwise: stopped: the automated action of `automated` was not run (`confirm: false`), and only evidence makes it done: answer `automated: { decision: by-hand, note: \"what was done\" }`, or skip or pause"
        ),
        "{}",
        text(&out.stderr)
    );
    let run = only_run(&t.join("runs"));
    let progress = journal::Progress::replay(
        &journal::read_journal(&run.join("journal.jsonl"))
            .unwrap()
            .events,
    );
    assert_eq!(progress.state("automated"), &InstanceState::Pending);
    // `by-hand` without a note is refused before anything runs.
    fs::write(
        t.join("b.yaml"),
        format!("params: {{ work_dir: '{work}' }}\nsteps:\n  automated: by-hand\n"),
    )
    .unwrap();
    let out = stepwise(
        t,
        &[
            "run",
            "paths.yaml",
            "--answers",
            "b.yaml",
            "--state-dir",
            "runs2",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "stepwise: b.yaml:3:3: steps: `automated`: `by-hand` needs a note saying what was done: write `automated: { decision: by-hand, note: \"what was done\" }`\n"
    );
}
