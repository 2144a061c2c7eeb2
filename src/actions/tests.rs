//! Execution tests: each action run for real in temporary folders.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::plan::{Bindings, Plan};
use crate::runbook::{Runbook, Source, Value, load};

const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
parameters:
  - { name: src, type: path, prompt: Source }
  - { name: dst, type: path, prompt: Destination }
  - { name: password, type: secret, prompt: Password }
phases:
  - id: main
    title: Main
    steps:
      - id: copy
        title: Copy
        action:
          type: copy
          from: '{{ src }}'
          to: '{{ dst }}'
          files: [Demo.msi, Big.MSI, Third.msi]
          manifest: files
      - id: write
        title: Write
        action:
          type: write_file
          dir: '{{ dst }}'
          file: App.exe.config
          content: "<configuration/>\n"
      - id: make-logs
        title: Create the logs folder
        action: { type: create_folder, path: '{{ dst }}\Logs' }
      - id: make-deep
        title: Create a folder whose parent is missing
        action: { type: create_folder, path: '{{ dst }}\missing\Logs' }
      - id: ok-cmd
        title: Succeeds
        action:
          type: command
          program: sh
          args: [-c, "echo out; echo err >&2; echo {{ password }}; exit 2"]
          success_codes: [0, 2]
      - id: fail-cmd
        title: Fails
        action: { type: command, program: sh, args: [-c, "echo bad; exit 3"] }
      - id: slow-cmd
        title: Too slow
        action: { type: command, program: sleep, args: ["30"], timeout: 1 }
      - id: shell-cmd
        title: Through the shell
        action: { type: command, program: echo, args: [one, "&&", echo, two], shell: true }
      - id: cwd-cmd
        title: In a folder
        action: { type: command, program: pwd, cwd: '{{ dst }}' }
      - id: missing-cmd
        title: No such program
        action: { type: command, program: no-such-program-stepwise }
      - id: assert
        title: Assert
        action:
          type: check
          checks:
            - exists: '{{ src }}\demo.MSI'
              size: 10
            - writable: '{{ dst }}'
            - command: { program: 'true' }
manifests:
  - id: files
    title: Files
    files:
      - { name: demo.msi, size: 10 }
      - { name: big.msi, size: 2500000 }
      - { name: THIRD.MSI, size: 5 }
"#;

fn runbook() -> Runbook {
    let loaded = load(&Source {
        name: "t.yaml".into(),
        text: RUNBOOK.into(),
    });
    assert_eq!(loaded.errors(), 0, "{:?}", loaded.diagnostics);
    loaded.runbook.unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    src: PathBuf,
    dst: PathBuf,
    run: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("package");
        let dst = dir.path().join("share");
        let run = dir.path().join("run");
        fs::create_dir_all(&src).unwrap();
        fs::create_dir_all(&dst).unwrap();
        // Spelled as the manifest spells them, not as the step does.
        fs::write(src.join("demo.msi"), b"new demo..").unwrap();
        fs::write(src.join("big.msi"), pattern(2_500_000)).unwrap();
        fs::write(src.join("THIRD.MSI"), b"third").unwrap();
        Fixture {
            _dir: dir,
            src,
            dst,
            run,
        }
    }

    fn bindings(&self) -> Bindings {
        let mut b = Bindings::default();
        let path = |p: &Path| Value::Text(p.display().to_string());
        b.values.insert("src".into(), path(&self.src));
        b.values.insert("dst".into(), path(&self.dst));
        b.values
            .insert("password".into(), Value::Text("hunter2".into()));
        b
    }

    fn backup_dir(&self) -> PathBuf {
        self.run.join("backup")
    }

    fn output_dir(&self) -> PathBuf {
        self.run.join("output")
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// What one execution gave: its result, the byte progress and the output lines seen.
type Seen = (Result<Outcome, Failure>, Vec<(u64, u64)>, Vec<String>);

/// Runs step `id` of the plan with a fresh context.
fn exec(fx: &Fixture, id: &str, cancel: Arc<AtomicBool>) -> Seen {
    let rb = runbook();
    let plan = Plan::new(&rb, &fx.bindings());
    let instance = plan.instance(id).unwrap().clone();
    let action = rb.step(id).unwrap().action.clone();
    let mut bytes = Vec::new();
    let mut lines = Vec::new();
    let (backup, output) = (fx.backup_dir(), fx.output_dir());
    let mut progress = |p: Progress<'_>| match p {
        Progress::Bytes { done, total, .. } => bytes.push((done, total)),
        Progress::Line(l) => lines.push(l.to_string()),
        Progress::Started { .. } | Progress::FileCopied(_) => {}
    };
    let mut ctx = ExecContext {
        backup_dir: &backup,
        output_dir: &output,
        progress: &mut progress,
        cancel,
        remote: None,
    };
    let result = execute(&plan, &instance, &action, &mut ctx);
    (result, bytes, lines)
}

fn run(fx: &Fixture, id: &str) -> Result<Outcome, Failure> {
    exec(fx, id, Arc::new(AtomicBool::new(false))).0
}

fn checks(fx: &Fixture, id: &str) -> Vec<Finding> {
    let rb = runbook();
    let plan = Plan::new(&rb, &fx.bindings());
    let instance = plan.instance(id).unwrap().clone();
    check(
        &plan,
        &instance,
        &rb.step(id).unwrap().action,
        &CheckEnv::default(),
    )
}

#[test]
fn copy_backs_up_what_it_replaces_and_verifies() {
    let fx = Fixture::new();
    fs::write(fx.dst.join("DEMO.MSI"), b"old demo").unwrap();
    let (result, bytes, _) = exec(&fx, "copy", Arc::new(AtomicBool::new(false)));
    let outcome = result.unwrap();
    assert_eq!(
        outcome.summary,
        format!("copied 3 files to {}", fx.dst.display())
    );
    // The replaced file keeps its existing name; its backup holds the old bytes.
    assert_eq!(fs::read(fx.dst.join("DEMO.MSI")).unwrap(), b"new demo..");
    let backup = fx.backup_dir().join("copy").join("DEMO.MSI");
    assert_eq!(fs::read(&backup).unwrap(), b"old demo");
    // New files take the package's spelling.
    assert_eq!(
        fs::read(fx.dst.join("big.msi")).unwrap(),
        pattern(2_500_000)
    );
    assert!(fx.dst.join("THIRD.MSI").is_file());
    assert_eq!(
        outcome.done[0],
        Done::Copied {
            name: "Demo.msi".into(),
            to: fx.dst.join("DEMO.MSI"),
            bytes: 10,
            backup: Some(backup),
        }
    );
    // Byte progress covers the whole action and ends at its total.
    let total = 10 + 2_500_000 + 5;
    assert!(bytes.iter().all(|&(_, t)| t == total));
    assert_eq!(bytes.last(), Some(&(total, total)));
    assert!(bytes.windows(2).all(|w| w[0].0 <= w[1].0));
    // No temporary file is left.
    let names: Vec<String> = fs::read_dir(&fx.dst)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn copy_resumes_after_a_crash_without_touching_the_backup() {
    let fx = Fixture::new();
    fs::write(fx.dst.join("demo.msi"), b"old demo").unwrap();
    fs::write(fx.dst.join("big.msi"), b"old big").unwrap();
    // A first attempt backed up and copied demo.msi, then crashed while writing big.msi: its
    // backup is made, its temporary file half written, the file itself still the old one.
    let backups = fx.backup_dir().join("copy");
    fs::create_dir_all(&backups).unwrap();
    fs::write(backups.join("demo.msi"), b"old demo").unwrap();
    fs::write(backups.join("big.msi"), b"old big").unwrap();
    fs::copy(fx.src.join("demo.msi"), fx.dst.join("demo.msi")).unwrap();
    let part = fsops::temp_path(&fx.dst.join("big.msi"));
    fs::write(&part, &pattern(2_500_000)[..1_000_000]).unwrap();

    // The check sees what is already done.
    let found = checks(&fx, "copy");
    assert!(
        found.iter().any(
            |f| f.checked == format!("files already copied to {}", fx.dst.display())
                && f.found.starts_with("demo.msi ")
        ),
        "{found:#?}"
    );

    let outcome = run(&fx, "copy").unwrap();
    assert_eq!(
        outcome.summary,
        format!(
            "copied 2 files to {} (1 already in place)",
            fx.dst.display()
        )
    );
    assert!(matches!(&outcome.done[0], Done::AlreadyInPlace { name, .. } if name == "Demo.msi"));
    assert_eq!(
        fs::read(fx.dst.join("big.msi")).unwrap(),
        pattern(2_500_000)
    );
    assert!(
        !part.exists(),
        "the temporary file is replaced, then renamed"
    );
    // Backups hold the originals: never overwritten by the new files.
    assert_eq!(fs::read(backups.join("demo.msi")).unwrap(), b"old demo");
    assert_eq!(fs::read(backups.join("big.msi")).unwrap(), b"old big");

    // Running it again changes nothing.
    let again = run(&fx, "copy").unwrap();
    assert_eq!(
        again.summary,
        format!(
            "copied 0 files to {} (3 already in place)",
            fx.dst.display()
        )
    );
}

#[test]
fn copy_refuses_a_package_that_does_not_match_the_manifest() {
    let fx = Fixture::new();
    fs::write(fx.src.join("big.msi"), b"short").unwrap();
    let failure = run(&fx, "copy").unwrap_err();
    assert_eq!(failure.kind, FailureKind::NotReady);
    assert_eq!(
        failure.message,
        format!(
            "size of big.msi in {}: 5 bytes; manifest `files` says 2500000 bytes",
            fx.src.display()
        )
    );
    assert_eq!(fs::read_dir(&fx.dst).unwrap().count(), 0, "nothing copied");
    fs::remove_file(fx.src.join("big.msi")).unwrap();
    let failure = run(&fx, "copy").unwrap_err();
    assert_eq!(
        failure.message,
        format!(
            "file Big.MSI in {}: not found (names are matched ignoring case)",
            fx.src.display()
        )
    );
}

#[test]
fn copy_cancelled_leaves_no_partial_file() {
    let fx = Fixture::new();
    let (result, _, _) = exec(&fx, "copy", Arc::new(AtomicBool::new(true)));
    let failure = result.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Cancelled);
    assert_eq!(fs::read_dir(&fx.dst).unwrap().count(), 0);
}

#[test]
fn write_file_backs_up_the_old_file() {
    let fx = Fixture::new();
    fs::write(fx.dst.join("app.EXE.config"), b"<old/>").unwrap();
    let outcome = run(&fx, "write").unwrap();
    let target = fx.dst.join("app.EXE.config");
    assert_eq!(fs::read(&target).unwrap(), b"<configuration/>\n");
    let backup = fx.backup_dir().join("write").join("app.EXE.config");
    assert_eq!(fs::read(&backup).unwrap(), b"<old/>");
    assert_eq!(
        outcome.done,
        vec![Done::Written {
            path: target,
            bytes: 17,
            backup: Some(backup.clone()),
        }]
    );
    // Again: already written, the backup keeps the original.
    let again = run(&fx, "write").unwrap();
    assert!(matches!(again.done[0], Done::AlreadyInPlace { .. }));
    assert_eq!(fs::read(&backup).unwrap(), b"<old/>");
}

#[test]
fn write_file_replaces_what_an_interrupted_attempt_left() {
    let fx = Fixture::new();
    fs::write(fx.dst.join("App.exe.config"), b"<old/>").unwrap();
    // A crash in the middle of the write leaves the temporary file and the old target.
    let leftover = fx.dst.join(".App.exe.config.stepwise-part");
    fs::write(&leftover, b"<configur").unwrap();
    run(&fx, "write").unwrap();
    let mut names: Vec<String> = fs::read_dir(&fx.dst)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["App.exe.config"]);
    assert_eq!(
        fs::read(fx.dst.join("App.exe.config")).unwrap(),
        b"<configuration/>\n"
    );
    let backup = fx.backup_dir().join("write").join("App.exe.config");
    assert_eq!(fs::read(backup).unwrap(), b"<old/>");
}

#[test]
fn write_file_creates_a_new_file_without_backup() {
    let fx = Fixture::new();
    let outcome = run(&fx, "write").unwrap();
    assert!(matches!(
        &outcome.done[0],
        Done::Written { backup: None, .. }
    ));
    assert!(
        !fx.backup_dir().exists(),
        "no backup folder without a backup"
    );
}

#[test]
fn create_folder_creates_it_once_and_leaves_an_existing_one() {
    let fx = Fixture::new();
    let found = checks(&fx, "make-logs");
    assert_eq!(found[0].severity, Severity::Ok, "{found:?}");
    assert!(
        found[0]
            .sentence()
            .contains("does not exist yet; it will be created, empty")
    );
    let outcome = run(&fx, "make-logs").unwrap();
    let path = fx.dst.join("Logs");
    assert!(path.is_dir());
    assert_eq!(fs::read_dir(&path).unwrap().count(), 0);
    assert_eq!(
        outcome.done,
        vec![Done::FolderCreated {
            path: path.clone(),
            existed: false,
            above: Vec::new()
        }]
    );
    // Restored by the operator or created before: left as it is, with what is in it.
    fs::write(path.join("ExchangeSetup.log"), b"kept").unwrap();
    let again = run(&fx, "make-logs").unwrap();
    assert_eq!(
        again.done,
        vec![Done::FolderCreated {
            path: path.clone(),
            existed: true,
            above: Vec::new()
        }]
    );
    assert_eq!(fs::read(path.join("ExchangeSetup.log")).unwrap(), b"kept");
}

#[test]
fn create_folder_makes_missing_parents_and_refuses_a_file_in_their_place() {
    let fx = Fixture::new();
    let found = checks(&fx, "make-deep");
    let missing = fx.dst.join("missing");
    assert_eq!(found[0].severity, Severity::Ok, "{found:?}");
    assert!(
        found[0].sentence().ends_with(&format!(
            "does not exist yet; it will be created, empty, with the folders above it that do not exist yet: {}",
            missing.display()
        )),
        "{found:?}"
    );
    assert!(!missing.exists(), "check creates nothing");
    let outcome = run(&fx, "make-deep").unwrap();
    assert_eq!(
        outcome.done,
        vec![Done::FolderCreated {
            path: missing.join("Logs"),
            existed: false,
            above: vec![missing.clone()]
        }]
    );
    assert!(missing.join("Logs").is_dir());
    assert!(outcome.summary.ends_with(&format!(
        "(and the folders above it: {})",
        missing.display()
    )));

    fs::remove_dir_all(&missing).unwrap();
    fs::write(&missing, b"a file").unwrap();
    let found = checks(&fx, "make-deep");
    assert_eq!(found[0].severity, Severity::Blocking);
    assert!(
        found[0].sentence().contains(&format!(
            "cannot be created: {} is a file, not a folder",
            missing.display()
        )),
        "{found:?}"
    );
    assert!(run(&fx, "make-deep").is_err());
    assert_eq!(fs::read(&missing).unwrap(), b"a file");

    fs::write(fx.dst.join("Logs"), b"a file").unwrap();
    let found = checks(&fx, "make-logs");
    assert_eq!(found[0].severity, Severity::Blocking);
    assert!(found[0].sentence().contains("a file is in its place"));
    assert!(run(&fx, "make-logs").is_err());
    assert_eq!(fs::read(fx.dst.join("Logs")).unwrap(), b"a file");
}

#[cfg(unix)]
#[test]
fn command_success_captures_interleaved_output() {
    let fx = Fixture::new();
    let (result, _, lines) = exec(&fx, "ok-cmd", Arc::new(AtomicBool::new(false)));
    let outcome = result.unwrap();
    let run = outcome.command.unwrap();
    assert_eq!(run.exit_code, Some(2));
    // The secret reached the program, which printed it: masked in what is shown and saved.
    assert_eq!(lines, ["out", "err", "********"]);
    assert_eq!(run.tail, lines);
    let log = fs::read_to_string(run.output_file.unwrap()).unwrap();
    assert_eq!(
        log,
        "$ sh -c \"echo out; echo err >&2; echo ********; exit 2\"\nout\nerr\n********\n"
    );
    assert!(fx.output_dir().join("ok-cmd.log").is_file());
}

#[cfg(unix)]
#[test]
fn command_failure_reports_the_exit_code() {
    let fx = Fixture::new();
    let failure = run(&fx, "fail-cmd").unwrap_err();
    assert_eq!(failure.kind, FailureKind::ExitCode(3));
    assert_eq!(
        failure.message,
        "sh -c \"echo bad; exit 3\" exited with 3; success is 0"
    );
    assert_eq!(failure.command.unwrap().tail, ["bad"]);
}

#[cfg(unix)]
#[test]
fn command_timeout_kills_it() {
    let fx = Fixture::new();
    let started = Instant::now();
    let failure = run(&fx, "slow-cmd").unwrap_err();
    assert_eq!(failure.kind, FailureKind::TimedOut);
    assert_eq!(
        failure.message,
        "sleep 30 did not finish within 1 seconds and was stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[cfg(unix)]
#[test]
fn command_cancel_kills_it() {
    let fx = Fixture::new();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    let (result, _, _) = exec(&fx, "slow-cmd", cancel);
    setter.join().unwrap();
    let failure = result.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[cfg(unix)]
#[test]
fn command_through_the_shell_and_in_a_folder() {
    let fx = Fixture::new();
    let (result, _, lines) = exec(&fx, "shell-cmd", Arc::new(AtomicBool::new(false)));
    assert!(result.is_ok());
    assert_eq!(lines, ["one", "two"]);
    let (result, _, lines) = exec(&fx, "cwd-cmd", Arc::new(AtomicBool::new(false)));
    assert!(result.is_ok());
    assert_eq!(
        PathBuf::from(&lines[0]).canonicalize().unwrap(),
        fx.dst.canonicalize().unwrap()
    );
}

#[cfg(unix)]
#[test]
fn command_that_cannot_start_says_why() {
    let fx = Fixture::new();
    let failure = run(&fx, "missing-cmd").unwrap_err();
    assert_eq!(failure.kind, FailureKind::CannotStart);
    assert_eq!(
        failure.message,
        "cannot start no-such-program-stepwise: no such file or folder"
    );
    let found = checks(&fx, "missing-cmd");
    assert_eq!(found[0].severity, Severity::Blocking);
    assert_eq!(
        found[0].sentence(),
        "program no-such-program-stepwise: not found on PATH"
    );
}

#[cfg(unix)]
#[test]
fn check_action_evaluates_its_assertions() {
    let fx = Fixture::new();
    let found = checks(&fx, "assert");
    assert!(
        found.iter().all(|f| f.severity == Severity::Ok),
        "{found:#?}"
    );
    assert!(found[2].found.starts_with("found at "));
    let outcome = run(&fx, "assert").unwrap();
    assert_eq!(outcome.summary, "all 3 checks held");
    fs::write(fx.src.join("demo.msi"), b"x").unwrap();
    let failure = run(&fx, "assert").unwrap_err();
    assert_eq!(failure.kind, FailureKind::AssertionFailed);
    assert_eq!(
        failure.message,
        format!(
            "{}\\demo.MSI exists with 10 bytes: has 1 bytes",
            fx.src.display()
        )
    );
}

#[test]
fn check_writes_nothing() {
    let fx = Fixture::new();
    fs::write(fx.dst.join("demo.msi"), b"old").unwrap();
    let before = listing(fx._dir.path());
    for id in ["copy", "write", "ok-cmd", "slow-cmd", "assert"] {
        let _ = checks(&fx, id);
    }
    assert_eq!(before, listing(fx._dir.path()));
}

fn listing(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), meta.len()));
        }
    }
    out.sort();
    out
}
