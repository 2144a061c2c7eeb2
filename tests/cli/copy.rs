//! Copies through the real binary: each file's SHA-256 in the journal, the log and the as-run
//! checklist, and a destination whose content is not the source's once written (a file system
//! that corrupts the write, simulated by `STEPWISE_TEST_CORRUPT_COPY`) caught before it replaces
//! anything.

use crate::common::{RUN_RB, assert_code, text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Bigger than one 16 MiB range of the copy, so that a file goes through more than one.
const BIG: usize = (16 << 20) + 12_345;

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul(37))
        .collect()
}

fn stepwise(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepwise"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("STEPWISE_STATE_DIR")
        .env_remove("STEPWISE_TEST_CORRUPT_COPY")
        .env("USER", "alice")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run stepwise")
}

/// A folder with `pkg/` (the files to copy), `share/` (the destination) and a runbook whose one
/// step copies `files` from one to the other.
fn setup(files: &[&str], on_failure: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_path_buf();
    for d in ["pkg", "share"] {
        fs::create_dir(t.join(d)).unwrap();
    }
    fs::write(
        t.join("rb.yaml"),
        format!(
            "id: t\ntitle: T\narticle: KB0\nproduct: stepwise tests\nparameters:\n  - {{ name: from, type: path, prompt: From }}\n  - {{ name: to, type: path, prompt: To }}\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: copy\n        title: Copy the files\n        action: {{ type: copy, from: '{{{{ from }}}}', to: '{{{{ to }}}}', files: [{}] }}\n",
            files.join(", ")
        ),
    )
    .unwrap();
    fs::write(
        t.join("a.yaml"),
        format!(
            "params: {{ from: '{}', to: '{}' }}\nconfirm: true\ndefault: done\non_failure: {on_failure}\n",
            t.join("pkg").display(),
            t.join("share").display()
        ),
    )
    .unwrap();
    (tmp, t)
}

fn run(t: &Path, env: &[(&str, &Path)]) -> Output {
    stepwise(t, &RUN_RB, env)
}

/// The run folders under `runs/`, by name.
fn run_dirs(t: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = fs::read_dir(t.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    runs.sort();
    runs
}

fn events(run: &Path) -> Vec<Value> {
    fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// Every file a copy installs is journaled as it is done, with its SHA-256 (which is the
/// source's), its size and where it is; the log and the as-run checklists show each hash. A
/// second run finds them in place and records what is there.
#[test]
fn the_journal_and_the_as_run_checklist_record_every_copied_files_sha256() {
    let (_tmp, t) = setup(&["A.msi", "B.msi", "Empty.msi"], "abort");
    let contents = [
        ("A.msi", pattern(BIG, 1)),
        ("B.msi", pattern(70_000, 2)),
        ("Empty.msi", Vec::new()),
    ];
    for (name, bytes) in &contents {
        fs::write(t.join("pkg").join(name), bytes).unwrap();
    }
    fs::write(t.join("share/B.msi"), "the old B").unwrap();
    let out = run(&t, &[]);
    assert_code(&out, 0);
    let runs = run_dirs(&t);
    let journal = events(&runs[0]);
    let copied = of_kind(&journal, "file_copied");
    assert_eq!(copied.len(), contents.len(), "{copied:?}");
    for ((name, bytes), e) in contents.iter().zip(&copied) {
        let dest = t.join("share").join(name);
        assert_eq!(fs::read(&dest).unwrap(), *bytes, "{name}");
        assert_eq!(e["key"], "copy");
        assert_eq!(e["file"], *name);
        assert_eq!(e["path"], dest.display().to_string());
        assert_eq!(e["bytes"], bytes.len() as u64);
        assert_eq!(e["sha256"], sha256(bytes), "{name}");
        assert!(e.get("in_place").is_none(), "{e}");
    }
    // Each is journaled before the instance is done.
    let done_at = journal
        .iter()
        .position(|e| e["kind"] == "instance_done")
        .unwrap();
    let last_file = journal
        .iter()
        .rposition(|e| e["kind"] == "file_copied")
        .unwrap();
    assert!(last_file < done_at);

    let run_id = runs[0].file_name().unwrap().to_string_lossy().into_owned();
    let log = stepwise(&t, &["log", "--state-dir", "runs", &run_id], &[]);
    assert_code(&log, 0);
    let log = text(&log.stdout);
    let a = sha256(&contents[0].1);
    let a_dest = t.join("share/A.msi").display().to_string();
    assert!(
        log.contains(&format!("A.msi copied to {a_dest} (16.0 MB), sha256 {a}")),
        "{log}"
    );
    for format in ["text", "md", "html"] {
        let out = stepwise(
            &t,
            &[
                "checklist",
                "rb.yaml",
                "--run",
                &runs[0].display().to_string(),
                "--format",
                format,
            ],
            &[],
        );
        assert_code(&out, 0);
        let page = text(&out.stdout);
        for (name, bytes) in &contents {
            assert!(page.contains(name), "{format}: {name}");
            assert!(page.contains(&sha256(bytes)), "{format}: {name}\n{page}");
        }
    }

    // Run again: the files are already there, and are recorded as found in place. (The first
    // run's folder goes, so that the one left is this run's: two run ids of the same second do
    // not sort by time.)
    fs::remove_dir_all(t.join("runs")).unwrap();
    let out = run(&t, &[]);
    assert_code(&out, 0);
    let again = events(&run_dirs(&t)[0]);
    let found = of_kind(&again, "file_copied");
    assert_eq!(found.len(), contents.len());
    for ((name, bytes), e) in contents.iter().zip(&found) {
        assert_eq!(e["in_place"], true, "{e}");
        assert_eq!(e["sha256"], sha256(bytes), "{name}");
    }
}

/// A file system that corrupts the write: the test hook changes the first byte of B.msi's
/// temporary file once it is written and synced, before it is read back. The copy fails naming
/// the file and both hashes, B.msi is left as it was (its backup is in the run folder), no
/// temporary file is left, and the file copied before it stays copied and journaled.
#[test]
fn a_copy_whose_content_changes_on_disk_fails_and_leaves_the_destination_as_it_was() {
    let (_tmp, t) = setup(&["A.msi", "B.msi"], "abort");
    let a = pattern(40_000, 3);
    let b = pattern(BIG, 4);
    fs::write(t.join("pkg/A.msi"), &a).unwrap();
    fs::write(t.join("pkg/B.msi"), &b).unwrap();
    fs::write(t.join("share/B.msi"), "the old B").unwrap();
    let b_dest = t.join("share/B.msi");
    let out = run(&t, &[("STEPWISE_TEST_CORRUPT_COPY", &b_dest)]);
    assert_code(&out, 1);
    let mut corrupted = b.clone();
    corrupted[0] = !corrupted[0];
    let message = format!(
        "cannot copy B.msi to {}: the copy read back from the disk has SHA-256 {}, the source has SHA-256 {}; the copy was removed and the destination left as it was",
        b_dest.display(),
        sha256(&corrupted),
        sha256(&b)
    );
    assert!(
        text(&out.stdout).contains(&message) || text(&out.stderr).contains(&message),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&b_dest).unwrap(), "the old B");
    assert!(fs::symlink_metadata(t.join("share/.B.msi.stepwise-part")).is_err());
    assert_eq!(fs::read(t.join("share/A.msi")).unwrap(), a);

    let first = &run_dirs(&t)[0];
    let journal = events(first);
    let failed = of_kind(&journal, "instance_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"], message);
    let copied = of_kind(&journal, "file_copied");
    assert_eq!(copied.len(), 1, "only A.msi was installed: {copied:?}");
    assert_eq!(copied[0]["file"], "A.msi");
    assert_eq!(copied[0]["sha256"], sha256(&a));
    // The file it would have replaced was backed up first, and the backup is whole.
    let backup = first.join("backup/copy/B.msi");
    assert_eq!(fs::read_to_string(backup).unwrap(), "the old B");

    // Without the fault the same run copies it.
    let out = run(&t, &[]);
    assert_code(&out, 0);
    assert_eq!(fs::read(&b_dest).unwrap(), b);
}

/// The file table's `sha256` is checked against the package before anything is copied (by
/// `check` and by the run's own check): a file that is not the one the table names blocks the
/// step, with both hashes; one that is copies, and its recorded hash is the table's.
#[test]
fn the_file_tables_sha256_is_checked_before_the_copy_and_recorded_after() {
    let (_tmp, t) = setup(&["A.msi", "B.msi"], "abort");
    let a = pattern(50_000, 5);
    let b = pattern(60_000, 6);
    fs::write(t.join("pkg/A.msi"), &a).unwrap();
    fs::write(t.join("pkg/B.msi"), &b).unwrap();
    let with_table = |b_sha256: &str| {
        let text = fs::read_to_string(t.join("rb.yaml")).unwrap();
        let text = text
            .split("manifests:")
            .next()
            .unwrap()
            .replace("type: copy, manifest: files,", "type: copy,")
            .replace("type: copy,", "type: copy, manifest: files,");
        fs::write(
            t.join("rb.yaml"),
            format!(
                "{text}manifests:\n  - id: files\n    title: Files\n    files:\n      - {{ name: A.msi, size: {}, sha256: {} }}\n      - {{ name: B.msi, size: {}, sha256: {b_sha256} }}\n",
                a.len(),
                sha256(&a).to_uppercase(),
                b.len()
            ),
        )
        .unwrap();
    };
    let wrong = sha256(b"not B");
    with_table(&wrong);
    let set = |name: &str, dir: &str| format!("{name}={}", t.join(dir).display());
    let check = stepwise(
        &t,
        &[
            "check",
            "rb.yaml",
            "--set",
            &set("from", "pkg"),
            "--set",
            &set("to", "share"),
        ],
        &[],
    );
    assert_code(&check, 1);
    let said = text(&check.stdout);
    let expected = format!(
        "SHA-256 of B.msi in {}: {}; manifest `files` says {wrong}",
        t.join("pkg").display(),
        sha256(&b)
    );
    assert!(said.contains(&expected), "{said}");
    let out = run(&t, &[]);
    assert_code(&out, 1);
    assert!(fs::symlink_metadata(t.join("share/A.msi")).is_err());
    assert!(fs::symlink_metadata(t.join("share/B.msi")).is_err());

    with_table(&sha256(&b));
    fs::remove_dir_all(t.join("runs")).unwrap();
    let out = run(&t, &[]);
    assert_code(&out, 0);
    let copied = events(&run_dirs(&t)[0]);
    let copied = of_kind(&copied, "file_copied");
    assert_eq!(copied.len(), 2);
    assert_eq!(copied[0]["sha256"], sha256(&a));
    assert_eq!(copied[1]["sha256"], sha256(&b));
}
