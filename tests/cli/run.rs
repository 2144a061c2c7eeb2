//! `stepwise run`, `resume`, `status` and `log` through the real binary, driven by answers files:
//! a whole HMC 4.5 rollup against real files, pause and resume, every guided-failure choice, a
//! runbook that changed under a run, a second process refused by the lock, and a run with no
//! terminal and no answer.

use crate::common::{self, assert_code, only_run, stepwise_in as stepwise, text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use stepwise::journal::{self, EventKind, InstanceState};
use stepwise::runbook::{self, Action, bundled};

fn events(run: &Path) -> Vec<EventKind> {
    let read = journal::read_journal(&run.join("journal.jsonl")).unwrap();
    read.events.into_iter().map(|e| e.kind).collect()
}

fn progress(run: &Path) -> journal::Progress {
    let read = journal::read_journal(&run.join("journal.jsonl")).unwrap();
    journal::Progress::replay(&read.events)
}

/// A folder of files named as the manifest spells them, at the manifest's sizes.
fn package_from_manifest(id: &str, dir: &Path) {
    let rb = runbook::load(&bundled::get(id).unwrap()).runbook.unwrap();
    fs::create_dir_all(dir).unwrap();
    for m in &rb.manifests {
        for f in &m.files {
            let size = f.size.unwrap_or(1024) as usize;
            fs::write(dir.join(&f.name), vec![b'N'; size]).unwrap();
        }
    }
}

#[test]
fn a_whole_hmc45_rollup_without_update_rollup_5_updates_the_share_and_keeps_the_old_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let pkg = t.join("QFERollupPackage");
    let share = t.join("MSIShare");
    package_from_manifest("hmc45-ur6", &pkg);
    fs::create_dir_all(&share).unwrap();
    let rb = runbook::load(&bundled::get("hmc45-ur6").unwrap())
        .runbook
        .unwrap();
    let mut copied = Vec::new();
    for (_, step) in rb.steps() {
        if let Some(Action::Copy(c)) = step.automated() {
            copied.extend(c.files.iter().map(|f| f.value.clone()));
        }
    }
    assert_eq!(copied.len(), 23);
    // The share holds the previous version of every MSI the rollup replaces.
    for name in &copied {
        fs::write(share.join(name), format!("previous {name}")).unwrap();
    }
    for d in ["dotnet", "agent"] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
    let answers = t.join("answers.yaml");
    fs::write(
        &answers,
        format!(
            "params:\n  ur5_installed: false\n  upgraded_from_hmc40: false\n  package_dir: '{}'\n  msi_share: '{}'\n  dotnet_framework_dir: '{}'\n  categorizer_agent_dir: '{}'\nconfirm: true\ndefault: done\n",
            pkg.display(),
            share.display(),
            t.join("dotnet").display(),
            t.join("agent").display()
        ),
    )
    .unwrap();
    let out = stepwise(
        t,
        &[
            "run",
            "hmc45-ur6",
            "--answers",
            "answers.yaml",
            "--state-dir",
            "runs",
        ],
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("Run finished."));
    let run = only_run(&t.join("runs"));
    for name in &copied {
        let size = rb.manifest_file(None, name).unwrap().size.unwrap();
        let now = fs::read(share.join(name)).unwrap();
        assert_eq!(now.len() as u64, size, "{name} in the share");
        assert!(now.iter().all(|b| *b == b'N'), "{name} is not the new file");
    }
    // Every replaced file is backed up, with its old content.
    let mut backed_up = 0;
    for step in ["copy-msis", "copy-msis-ur5"] {
        for e in fs::read_dir(run.join("backup").join(step)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(fs::read_to_string(&p).unwrap(), format!("previous {name}"));
            backed_up += 1;
        }
    }
    assert_eq!(backed_up, 23);
    // Every instance of the plan is done, and the run is finished.
    let p = progress(&run);
    let (_, plan_rb) = (0, &rb);
    let mut b = stepwise::plan::Bindings::default();
    for (k, v) in [("ur5_installed", false), ("upgraded_from_hmc40", false)] {
        b.values.insert(k.into(), runbook::Value::Bool(v));
    }
    let plan = stepwise::plan::Plan::new(plan_rb, &b);
    for i in &plan.instances {
        assert!(
            matches!(p.state(&i.key), InstanceState::Done(_)),
            "{} is {:?}",
            i.key,
            p.state(&i.key)
        );
    }
    assert!(matches!(
        events(&run).last(),
        Some(EventKind::RunFinished { .. })
    ));
    let status = stepwise(t, &["status", "--state-dir", "runs"]);
    assert_code(&status, 0);
    assert!(
        text(&status.stdout).contains("finished"),
        "{}",
        text(&status.stdout)
    );
}

/// A temporary folder with the automated test runbook's package, share and work folder.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        for d in ["pkg", "share", "work"] {
            fs::create_dir_all(t.join(d)).unwrap();
        }
        for (n, s) in [
            ("alpha.msi", 300_000),
            ("beta.msi", 200_000),
            ("GAMMA.msi", 150_000),
            ("delta.msi", 100_000),
        ] {
            fs::write(t.join("pkg").join(n), vec![b'N'; s]).unwrap();
        }
        fs::write(t.join("share/Alpha.msi"), "old alpha").unwrap();
        fs::copy(
            common::test_runbook("automated.yaml"),
            t.join("automated.yaml"),
        )
        .unwrap();
        fs::copy(common::test_runbook("failing.yaml"), t.join("failing.yaml")).unwrap();
        fs::copy(
            common::root().join("tests/fixtures/web-local.yaml"),
            t.join("web-local.yaml"),
        )
        .unwrap();
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn answers(&self, name: &str, extra: &str) -> String {
        let t = self.path();
        fs::write(
            t.join(name),
            format!(
                "params: {{ package_dir: '{}', share: '{}', work_dir: '{}' }}\n{extra}",
                t.join("pkg").display(),
                t.join("share").display(),
                t.join("work").display()
            ),
        )
        .unwrap();
        name.to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        stepwise(self.path(), args)
    }

    /// `stepwise resume` of the run under `runs/` with an answers file.
    fn resume(&self, answers: &str) -> Output {
        self.run(&["resume", "--answers", answers, "--state-dir", "runs"])
    }

    /// `stepwise run automated.yaml` with an answers file, runs under `runs/`.
    fn run_automated(&self, answers: &str) -> Output {
        self.run(&[
            "run",
            "automated.yaml",
            "--inventory",
            "web-local.yaml",
            "--answers",
            answers,
            "--state-dir",
            "runs",
        ])
    }
}

#[test]
fn pause_then_resume_finishes_where_it_stopped() {
    let f = Fixture::new();
    let a = f.answers(
        "pause.yaml",
        "confirm: true\ndefault: done\nsteps:\n  confirm-web@WEB02: pause\n",
    );
    let out = f.run_automated(&a);
    assert_code(&out, 3);
    assert!(
        text(&out.stdout).contains("Paused."),
        "{}",
        text(&out.stdout)
    );
    let run = only_run(&f.path().join("runs"));
    let p = progress(&run);
    assert!(matches!(
        p.state("confirm-web@WEB01"),
        InstanceState::Done(_)
    ));
    assert!(!matches!(
        p.state("confirm-web@WEB02"),
        InstanceState::Done(_)
    ));
    let status = f.run(&["status", "--state-dir", "runs"]);
    assert!(
        text(&status.stdout).contains("paused"),
        "{}",
        text(&status.stdout)
    );

    let b = f.answers(
        "rest.yaml",
        "confirm: true\ndefault: done\nin_doubt: rerun\n",
    );
    let out = f.resume(&b);
    assert_code(&out, 0);
    let shown = text(&out.stdout);
    assert!(shown.contains("Resuming run"), "{shown}");
    assert!(shown.contains("started by alice"), "{shown}");
    // Only what was left is walked again: the copy and the commands are not repeated.
    assert!(!shown.contains("[1/7]"), "{shown}");
    assert_eq!(
        fs::read_to_string(f.path().join("work/restarts.log"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    let kinds: Vec<&'static str> = events(&run).iter().map(|e| e.name()).collect();
    assert!(
        kinds.contains(&"paused") && kinds.contains(&"resumed"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"run_finished"));
    let log = f.run(&["log", "--state-dir", "runs"]);
    assert_code(&log, 0);
    assert!(text(&log.stdout).contains("confirm-web@WEB02"));

    // The as-run record ticks every box with who and when, in text and in HTML.
    let run_arg = run.display().to_string();
    let out = f.run(&["checklist", "automated.yaml", "--run", &run_arg]);
    assert_code(&out, 0);
    let sheet = text(&out.stdout);
    assert!(sheet.contains("As-run record of run"), "{sheet}");
    assert_eq!(sheet.matches("[x] ").count(), 7, "{sheet}");
    assert!(!sheet.contains("[ ] "), "{sheet}");
    assert!(
        sheet.contains("[x] WEB02 (done (by hand) by alice at "),
        "{sheet}"
    );
    let out = f.run(&[
        "checklist",
        "automated.yaml",
        "--run",
        &run_arg,
        "--format",
        "html",
    ]);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("alice"));
    let other = f.run(&["checklist", "failing.yaml", "--run", &run_arg]);
    assert_code(&other, 2);
    assert!(text(&other.stderr).contains("that run is of runbook `automated`, not `failing`"));
}

/// Runs `failing.yaml` with one failure answer and returns the exit code, the run folder and its
/// events.
fn failing_run(on_failure: &str) -> (i32, PathBuf, Vec<EventKind>, Fixture) {
    let f = Fixture::new();
    let t = f.path();
    fs::write(
        t.join("a.yaml"),
        format!(
            "params: {{ work_dir: '{}' }}\nconfirm: true\ndefault: done\nsteps:\n  start-service:\n    note: tested\n    on_failure: {on_failure}\n",
            t.join("work").display()
        ),
    )
    .unwrap();
    let out = f.run(&[
        "run",
        "failing.yaml",
        "--inventory",
        "web-local.yaml",
        "--answers",
        "a.yaml",
        "--state-dir",
        "runs",
    ]);
    let run = only_run(&t.join("runs"));
    let ev = events(&run);
    (out.status.code().unwrap(), run, ev, f)
}

fn count(ev: &[EventKind], name: &str) -> usize {
    ev.iter().filter(|e| e.name() == name).count()
}

#[test]
fn a_failed_command_then_retry_then_done_by_hand() {
    let (code, run, ev, _f) = failing_run("[retry, done]");
    assert_eq!(code, 0);
    // WEB01: fails, retried, fails again, done by hand; WEB02: the same.
    assert_eq!(count(&ev, "instance_failed"), 4);
    let p = progress(&run);
    assert!(matches!(
        p.state("start-service@WEB01"),
        InstanceState::Done(journal::Completion::ByHand)
    ));
    let out = fs::read_dir(run.join("output")).unwrap().count();
    assert!(out >= 4, "each attempt's output is kept ({out} files)");
}

#[test]
fn a_failed_command_then_the_known_issue_workaround_then_success() {
    let (code, run, ev, f) = failing_run("[workaround:error-1053]");
    assert_eq!(code, 0);
    assert_eq!(count(&ev, "known_issue_applied"), 1);
    assert!(f.path().join("work/fixed").exists());
    let p = progress(&run);
    // After the workaround the retry succeeds on WEB01 (recorded as done after a workaround),
    // and WEB02 never fails.
    assert!(matches!(
        p.state("start-service@WEB01"),
        InstanceState::Done(journal::Completion::Workaround)
    ));
    assert!(matches!(
        p.state("start-service@WEB02"),
        InstanceState::Done(journal::Completion::Automated)
    ));
    assert_eq!(count(&ev, "instance_failed"), 1);
}

#[test]
fn a_failed_command_then_skip_this_host() {
    let (code, run, ev, _f) = failing_run("skip-host");
    assert_eq!(code, 0);
    assert_eq!(count(&ev, "instance_skipped"), 2);
    let p = progress(&run);
    assert!(matches!(
        p.state("start-service@WEB02"),
        InstanceState::Skipped { .. }
    ));
    assert!(matches!(p.state("after"), InstanceState::Done(_)));
}

#[test]
fn a_failed_command_then_skip_the_step_for_all_hosts() {
    let (code, run, ev, _f) = failing_run("skip-step");
    assert_eq!(code, 0);
    // One failure only: WEB02 is skipped with the step, never tried.
    assert_eq!(count(&ev, "instance_failed"), 1);
    let p = progress(&run);
    match p.state("start-service@WEB02") {
        InstanceState::Skipped { reason } => {
            assert_eq!(reason, "step skipped for all hosts: tested")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_command_then_abort_saves_and_exits_1_and_resume_takes_it_up() {
    let (code, run, ev, f) = failing_run("abort");
    assert_eq!(code, 1);
    assert!(matches!(ev.last(), Some(EventKind::RunFinished { .. })));
    let status = f.run(&["status", "--state-dir", "runs"]);
    assert!(
        text(&status.stdout).contains("failed"),
        "{}",
        text(&status.stdout)
    );
    // Fix the cause by hand, then resume: the failed instance is tried again.
    fs::write(f.path().join("work/fixed"), "by hand").unwrap();
    fs::write(
        f.path().join("go.yaml"),
        format!(
            "params: {{ work_dir: '{}' }}\nconfirm: true\ndefault: done\n",
            f.path().join("work").display()
        ),
    )
    .unwrap();
    let out = f.run(&["resume", &run.display().to_string(), "--answers", "go.yaml"]);
    assert_code(&out, 0);
    assert!(matches!(
        progress(&run).state("start-service@WEB01"),
        InstanceState::Done(_)
    ));
}

#[test]
fn a_failure_with_no_answer_stops_with_exit_3_and_says_what_is_missing() {
    let (code, _run, ev, _f) = failing_run("[retry]");
    assert_eq!(code, 3);
    assert_eq!(ev.last().map(|e| e.name()), Some("paused"));
}

#[test]
fn a_changed_runbook_is_listed_on_resume_and_needs_an_answer() {
    let f = Fixture::new();
    let a = f.answers(
        "pause.yaml",
        "confirm: true\ndefault: done\nsteps:\n  confirm-web@WEB01: pause\n",
    );
    let out = f.run_automated(&a);
    assert_code(&out, 3);
    let path = f.path().join("automated.yaml");
    let changed = fs::read_to_string(&path)
        .unwrap()
        .replace(
            "Confirm the web site answers",
            "Confirm the web site answers over HTTPS",
        )
        .replace(
            "      - id: verify\n",
            "      - id: extra\n        title: A new step\n      - id: verify\n",
        );
    fs::write(&path, changed).unwrap();

    let refuse = f.answers("no.yaml", "default: done\naccept_changed_runbook: false\n");
    let out = f.resume(&refuse);
    assert_code(&out, 3);
    let shown = text(&out.stdout);
    assert!(shown.contains("changed: confirm-web"), "{shown}");
    assert!(shown.contains("added: extra"), "{shown}");
    assert!(
        text(&out.stderr).contains("not resumed"),
        "{}",
        text(&out.stderr)
    );

    let unanswered = f.answers("none.yaml", "default: done\n");
    let out = f.resume(&unanswered);
    assert_code(&out, 3);
    assert!(
        text(&out.stderr).contains("accept_changed_runbook"),
        "{}",
        text(&out.stderr)
    );

    let accept = f.answers(
        "yes.yaml",
        "default: done\nconfirm: true\nin_doubt: done\naccept_changed_runbook: true\n",
    );
    let out = f.resume(&accept);
    assert_code(&out, 0);
    let run = only_run(&f.path().join("runs"));
    assert!(
        events(&run)
            .iter()
            .any(|e| e.name() == "runbook_changed_accepted")
    );
    assert!(matches!(
        progress(&run).state("extra"),
        InstanceState::Done(_)
    ));
}

#[test]
fn a_second_process_is_refused_by_the_lock() {
    let f = Fixture::new();
    let a = f.answers(
        "pause.yaml",
        "confirm: true\ndefault: done\nsteps:\n  confirm-web@WEB01: pause\n",
    );
    assert_code(&f.run_automated(&a), 3);
    let run = only_run(&f.path().join("runs"));
    let mut holder = common::stepwise_command()
        .args(["__hold-lock", &run.display().to_string()])
        .current_dir(f.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The holder says when it has the lock.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let b = f.answers("b.yaml", "confirm: true\ndefault: done\n");
    let out = f.run(&["resume", &run.display().to_string(), "--answers", &b]);
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert_code(&out, 1);
    let err = text(&out.stderr);
    // The holder's process as it says it (under Wine, a Windows process id).
    let holder_id = line
        .trim_end()
        .rsplit(' ')
        .next()
        .and_then(|id| id.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    if !common::windows() {
        assert_eq!(holder_id, holder.id());
    }
    assert!(
        err.contains("is in use by process") && err.contains(&format!("process {holder_id} ")),
        "{err}"
    );
    // Once the holder is gone, the run can be resumed.
    let out = f.run(&["resume", &run.display().to_string(), "--answers", &b]);
    assert_code(&out, 0);
}

#[test]
fn without_a_terminal_or_answers_a_run_stops_and_names_what_is_missing() {
    let f = Fixture::new();
    let out = f.run(&["run", "automated.yaml", "--state-dir", "runs"]);
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: no value for parameter `package_dir` (Package folder), and it has no default: there is no terminal to ask, and no --answers file; nothing was started\n"
    );
    // With every value given but no decisions, the run stops at the first prompt, saved.
    let t = f.path();
    let out = f.run(&[
        "run",
        "automated.yaml",
        "--inventory",
        "web-local.yaml",
        "--state-dir",
        "runs",
        "--set",
        &format!("package_dir={}", t.join("pkg").display()),
        "--set",
        &format!("share={}", t.join("share").display()),
        "--set",
        &format!("work_dir={}", t.join("work").display()),
    ]);
    assert_code(&out, 3);
    assert!(
        text(&out.stderr)
            .contains("no `confirm` answer for the automated action of `copy-package`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn answers_files_that_do_not_fit_are_refused_before_anything_runs() {
    let f = Fixture::new();
    let cases = [
        (
            "params: { ur5_installed: true }\n",
            "bad.yaml:1:11: params: runbook `automated` has no parameter `ur5_installed`\n",
        ),
        (
            "steps: { copy-pakage: done }\n",
            "bad.yaml:1:10: steps: `copy-pakage`: runbook `automated` has no step `copy-pakage`; did you mean `copy-package`?\n",
        ),
        (
            "steps: { copy-package: skip }\n",
            "bad.yaml:1:10: steps: `copy-package`: a skip needs a note: write `copy-package: { decision: skip, note: \"why\" }`\n",
        ),
        (
            "default: maybe\n",
            "bad.yaml:1:10: default: unknown variant `maybe`, expected one of `done`, `by-hand`, `by_hand`, `skip`, `fail`, `pause`, `automate`\n",
        ),
        (
            "hosts: { webb: [W1] }\n",
            "bad.yaml:1:10: hosts: runbook `automated` has no role `webb`; did you mean `web`?\n",
        ),
    ];
    for (body, expected) in cases {
        fs::write(f.path().join("bad.yaml"), body).unwrap();
        let out = f.run_automated("bad.yaml");
        assert_code(&out, 2);
        assert_eq!(text(&out.stderr), format!("stepwise: {expected}"), "{body}");
    }
    assert!(!f.path().join("runs").exists(), "nothing was started");
}

#[test]
fn a_rehearsal_of_hmc45_runs_end_to_end_in_a_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("a.yaml"),
        "params: { ur5_installed: false, upgraded_from_hmc40: true }\nconfirm: true\ndefault: done\n",
    )
    .unwrap();
    let out = stepwise(
        t,
        &[
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ],
    );
    assert_code(&out, 0);
    let shown = text(&out.stdout);
    assert!(shown.contains("REHEARSAL"), "{shown}");
    let sandbox = t.join(common::local_path(
        shown
            .lines()
            .find_map(|l| l.strip_prefix("Sandbox: "))
            .expect("the sandbox is named"),
    ));
    let share = sandbox.join("msi_share");
    let run = only_run(&t.join("runs"));
    let rb = runbook::load(&bundled::get("hmc45-ur6").unwrap())
        .runbook
        .unwrap();
    let mut copied = 0;
    for (_, step) in rb.steps() {
        let Some(Action::Copy(c)) = step.automated() else {
            continue;
        };
        for f in &c.files {
            let size = rb.manifest_file(None, &f.value).unwrap().size.unwrap();
            assert_eq!(
                fs::metadata(common::entry(&share, &f.value)).unwrap().len(),
                size
            );
            // A rehearsal keeps its backups in its sandbox.
            let backup = common::entry(&sandbox.join("backup").join(&step.id), &f.value);
            assert!(
                fs::read_to_string(&backup)
                    .unwrap()
                    .starts_with("old version of"),
                "{}",
                backup.display()
            );
            copied += 1;
        }
    }
    assert_eq!(copied, 23);
    // Commands are journaled as rehearsed, never run; the run is marked as a rehearsal.
    let header = fs::read_to_string(run.join("run.json")).unwrap();
    assert!(header.contains("\"rehearsal\": true"), "{header}");
    let status = stepwise(t, &["status", "--state-dir", "runs"]);
    assert!(
        text(&status.stdout).contains("rehearsal"),
        "{}",
        text(&status.stdout)
    );
    let sheet = stepwise(
        t,
        &[
            "checklist",
            "hmc45-ur6",
            "--run",
            &run.display().to_string(),
        ],
    );
    assert!(text(&sheet.stdout).contains("(rehearsal)"));
    fs::remove_dir_all(&sandbox).unwrap();
}

/// The README's main-job command works from a clean folder.
#[test]
fn the_readme_rehearsal_command_finishes() {
    let readme = fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(readme.contains(
        "cargo run --release -- run hmc45-ur6 --rehearse --answers examples/hmc45-rehearsal.yaml"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let answers = common::root().join("examples/hmc45-rehearsal.yaml");
    let out = stepwise(
        tmp.path(),
        &[
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--answers",
            &answers.display().to_string(),
        ],
    );
    assert_code(&out, 0);
    let shown = text(&out.stdout);
    if let Some(sandbox) = shown.lines().find_map(|l| l.strip_prefix("Sandbox: ")) {
        let _ = fs::remove_dir_all(sandbox);
    }
    // The answers file names the operator, and the journal records it.
    let run = only_run(&tmp.path().join("stepwise-runs"));
    let read = journal::read_journal(&run.join("journal.jsonl")).unwrap();
    assert!(read.events.iter().all(|e| e.operator == "rehearsal"));
}

#[test]
fn blocking_findings_stop_a_run_before_its_first_step_unless_overridden_with_a_reason() {
    let f = Fixture::new();
    fs::remove_file(f.path().join("pkg/delta.msi")).unwrap();
    let a = f.answers("a.yaml", "confirm: true\ndefault: done\n");
    let out = f.run_automated(&a);
    assert_code(&out, 1);
    let shown = text(&out.stdout);
    assert!(shown.contains("1 blocking"), "{shown}");
    assert!(
        shown.contains("blocking copy-package: file Delta.msi"),
        "{shown}"
    );
    let run = only_run(&f.path().join("runs"));
    assert!(
        progress(&run).instances().next().is_none(),
        "no step was started"
    );

    // With the file back, resume checks again and goes on.
    fs::write(f.path().join("pkg/delta.msi"), vec![b'N'; 100_000]).unwrap();
    let out = f.resume(&a);
    assert_code(&out, 0);

    // Overridden: the reason is journaled, and the walk goes on.
    let g = Fixture::new();
    fs::remove_file(g.path().join("pkg/delta.msi")).unwrap();
    let b = g.answers(
        "b.yaml",
        "confirm: true\ndefault: done\noverride_checks: \"Delta.msi is copied by hand from the old package\"\nsteps:\n  copy-package: { note: by hand, on_failure: done }\n  verify: { note: checked by hand, on_failure: done }\n",
    );
    let out = g.run_automated(&b);
    assert_code(&out, 0);
    let run = only_run(&g.path().join("runs"));
    let read = journal::read_journal(&run.join("journal.jsonl")).unwrap();
    let overridden = read
        .events
        .iter()
        .find(|e| e.kind.name() == "checks_overridden")
        .expect("the override is journaled");
    assert_eq!(
        overridden.note.as_deref(),
        Some("Delta.msi is copied by hand from the old package")
    );
}

/// Every bundled runbook can be rehearsed from start to finish.
#[test]
fn every_bundled_runbook_rehearses_to_the_end() {
    let cases = [
        (
            "exchange2007-ur1",
            "params: { interim_updates_installed: true, issue1_seen_before: false }\n",
        ),
        (
            "hmc40-rollup-2011",
            "params: { near_oab_limit: true }\nhosts: { web_services: [WEB01, WEB02] }\n",
        ),
        (
            "hmc45-ur6",
            "params: { ur5_installed: false, upgraded_from_hmc40: true }\n",
        ),
        ("ocs2007-kb961569", ""),
        ("ocs2007r2-avmcu-kb2028578", ""),
    ];
    assert_eq!(
        cases.iter().map(|c| c.0.to_string()).collect::<Vec<_>>(),
        common::bundled_ids()
    );
    for (id, params) in cases {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("a.yaml"),
            format!("{params}default: done\nconfirm: true\n"),
        )
        .unwrap();
        let out = stepwise(
            tmp.path(),
            &["run", id, "--rehearse", "--answers", "a.yaml"],
        );
        assert_code(&out, 0);
        let shown = text(&out.stdout);
        assert!(shown.contains("Run finished."), "{id}: {shown}");
        // The sandbox's package is whole: the check finds nothing missing and no file unlisted.
        assert!(!shown.contains("files present; missing:"), "{id}: {shown}");
        assert!(!shown.contains("does not exist yet"), "{id}: {shown}");
        if let Some(sandbox) = shown.lines().find_map(|l| l.strip_prefix("Sandbox: ")) {
            let _ = fs::remove_dir_all(sandbox);
        }
    }
}

#[test]
fn resume_and_run_say_clearly_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cases: [(&[&str], &str); 5] = [
        (
            &["resume"],
            "stepwise: no run to resume: there is no state folder stepwise-runs (give --state-dir, or set STEPWISE_STATE_DIR)\n",
        ),
        (
            &["resume", "--state-dir", "."],
            "stepwise: no unfinished run under .; `stepwise status --state-dir .` lists the runs\n",
        ),
        (
            &["resume", "nosuch", "--state-dir", "."],
            "stepwise: no run `nosuch`: not a run folder, and not a run id under .\n",
        ),
        (
            &["run", "hmc45-ur7"],
            "stepwise: unknown runbook `hmc45-ur7`; did you mean `hmc45-ur6`? (`stepwise list` shows the bundled ones)\n",
        ),
        (
            &["run", "hmc45-ur6", "--set", "ur5_installed=maybe"],
            "stepwise: --set ur5_installed=maybe: parameter `ur5_installed` is a bool: expected true or false, got `maybe`\n",
        ),
    ];
    for (args, message) in cases {
        let out = stepwise(t, args);
        assert_code(&out, 2);
        assert_eq!(text(&out.stderr), message, "{args:?}");
    }
}

/// A secret reaches the command that needs it and nothing that is written: not the header, the
/// journal, the saved output, the checklist, nor the screen. Resume asks for it again.
#[test]
fn a_secret_is_used_but_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let yaml = r#"id: secret
title: Secret test
article: KB0
product: stepwise tests
parameters:
  - { name: sa_password, type: secret, prompt: SQL sa password }
  - { name: work_dir, type: path, prompt: Work folder }
phases:
  - id: main
    title: Main
    steps:
      - id: use-it
        title: Use the password
        action:
          type: command
          program: sh
          args: [-c, 'test "$1" = "$(cat "$0/expected")" && echo password ok > "$0/used"', '{{ work_dir }}', '{{ sa_password }}']
      - id: after
        title: After
"#;
    // cmd has no `test`: the Windows build's command compares the secret with the same value.
    let yaml = if common::windows() {
        yaml.replace(
            r#"program: sh
          args: [-c, 'test "$1" = "$(cat "$0/expected")" && echo password ok > "$0/used"', '{{ work_dir }}', '{{ sa_password }}']"#,
            r#"program: cmd
          args: [/c, 'if {{ sa_password }}==%STEPWISE_TEST_EXPECTED% echo password ok> {{ work_dir }}\used']"#,
        )
    } else {
        yaml.to_string()
    };
    fs::write(t.join("secret.yaml"), yaml).unwrap();
    fs::write(t.join("expected"), "hunter2-SECRET").unwrap();
    fs::write(
        t.join("a.yaml"),
        format!(
            "params: {{ work_dir: '{}' }}\nconfirm: true\ndefault: done\nsteps:\n  after: pause\n",
            t.display()
        ),
    )
    .unwrap();
    let out = common::stepwise_command()
        .args([
            "run",
            "secret.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ])
        .current_dir(t)
        .env("STEPWISE_OPERATOR", "alice")
        .env("STEPWISE_SECRET_SA_PASSWORD", "hunter2-SECRET")
        .env("STEPWISE_TEST_EXPECTED", "hunter2-SECRET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_code(&out, 3);
    assert_eq!(
        fs::read_to_string(t.join("used")).unwrap().trim_end(),
        "password ok"
    );
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("********"), "{shown}");
    let run = only_run(&t.join("runs"));
    let mut files = vec![run.join("run.json"), run.join("journal.jsonl")];
    for e in fs::read_dir(run.join("output")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in &files {
        let body = fs::read_to_string(f).unwrap();
        assert!(
            !body.contains("hunter2"),
            "{} holds the secret",
            f.display()
        );
    }
    let sheet = stepwise(
        t,
        &[
            "checklist",
            "secret.yaml",
            "--run",
            &run.display().to_string(),
        ],
    );
    assert!(!text(&sheet.stdout).contains("hunter2"));

    // On resume the secret is asked again: without it the run stops, saved.
    let out = stepwise(t, &["resume", "--answers", "a.yaml", "--state-dir", "runs"]);
    assert_code(&out, 3);
    assert!(
        text(&out.stderr).contains("the secret `sa_password` must be given again"),
        "{}",
        text(&out.stderr)
    );
}

unix_only! {
"sleep and kill(1); tests/windows/wine.rs has the Windows version";
/// A command that outlives a killed stepwise is named on resume: its process is still running.
#[test]
fn resume_says_when_a_command_of_a_killed_run_is_still_running() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("slow.yaml"),
        "id: slow\ntitle: Slow\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: slow\n        title: A slow command\n        action: { type: command, program: sleep, args: ['2'] }\n",
    )
    .unwrap();
    fs::write(
        t.join("a.yaml"),
        "confirm: true\ndefault: done\nin_doubt: done\n",
    )
    .unwrap();
    let mut child = common::stepwise_command()
        .args([
            "run",
            "slow.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ])
        .current_dir(t)
        .env("STEPWISE_OPERATOR", "alice")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the journal says the command started, then kill stepwise outright.
    let (_, pid) = common::command_started(&t.join("runs"), std::time::Duration::from_secs(20));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = stepwise(t, &["resume", "--answers", "a.yaml", "--state-dir", "runs"]);
    // The orphaned command is stopped here, whatever the outcome.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    // It is neither run again nor called done while it runs: resume waits for it to end.
    for line in [
        format!(
            "   The command is still running as process {pid} on this machine: it is not run again while it runs."
        ),
        format!("   Waiting for process {pid} to end (at most 10m 00s; Ctrl-C saves and exits)…"),
        format!("   Process {pid} has ended."),
    ] {
        assert!(stdout.contains(&line), "`{line}` is missing:\n{stdout}");
    }
    let run = only_run(&t.join("runs"));
    let p = progress(&run);
    assert_eq!(
        p.instance("slow").unwrap().attempts,
        1,
        "never started again"
    );
    // The journal has no result of the command, so `in_doubt: done` rests on the operator's
    // word (the answers file's note): done by hand.
    assert_eq!(
        p.state("slow"),
        &InstanceState::Done(journal::Completion::ByHand)
    );
}
}

/// At a manual step with an optional automation, the operator (here an answers file) may run the
/// automation instead of doing it by hand; it runs, and the instance is done by its automation.
#[test]
fn a_manual_step_can_run_its_automation_instead() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let yaml = r#"id: optional
title: Optional automation
article: KB0
product: stepwise tests
parameters:
  - { name: work_dir, type: path, prompt: Work folder }
phases:
  - id: main
    title: Main
    steps:
      - id: restart-iis
        title: Restart IIS
        instructions: Run iisreset on the server.
        automation:
          type: command
          program: sh
          args: [-c, 'echo reset > "$0/iisreset.log"', '{{ work_dir }}']
      - id: by-hand
        title: Done by hand
        automation: { type: command, program: sh, args: [-c, 'exit 9'] }
"#;
    let yaml = if common::windows() {
        yaml.replace(
            r#"program: sh
          args: [-c, 'echo reset > "$0/iisreset.log"', '{{ work_dir }}']"#,
            r#"program: cmd
          args: [/c, 'echo reset> {{ work_dir }}\iisreset.log']"#,
        )
        .replace(
            "program: sh, args: [-c, 'exit 9']",
            "program: cmd, args: [/c, 'exit 9']",
        )
    } else {
        yaml.to_string()
    };
    fs::write(t.join("optional.yaml"), yaml).unwrap();
    fs::write(
        t.join("a.yaml"),
        format!(
            "params: {{ work_dir: '{}' }}\ndefault: done\nsteps:\n  restart-iis: automate\n",
            t.display()
        ),
    )
    .unwrap();
    let out = stepwise(
        t,
        &[
            "run",
            "optional.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        fs::read_to_string(t.join("iisreset.log"))
            .unwrap()
            .trim_end(),
        "reset"
    );
    let run = only_run(&t.join("runs"));
    let p = progress(&run);
    assert!(matches!(
        p.state("restart-iis"),
        InstanceState::Done(journal::Completion::Automated)
    ));
    // Not asked to automate, a manual step is confirmed by hand and its automation never runs.
    assert!(matches!(
        p.state("by-hand"),
        InstanceState::Done(journal::Completion::Confirmed)
    ));
    assert_eq!(count(&events(&run), "command_started"), 1);
}
