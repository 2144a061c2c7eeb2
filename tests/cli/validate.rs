//! `stepwise validate` through the real binary: every invalid runbook under `tests/invalid/`
//! produces exactly its expected diagnostics (`NAME.stderr` beside it), the bundled runbooks and
//! every example in the format reference are valid.
//!
//! `STEPWISE_BLESS=1 cargo test` rewrites the expected files after a deliberate change.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stepwise(args: &[&str]) -> Output {
    common::stepwise_command()
        .args(args)
        .current_dir(root())
        .output()
        .expect("run stepwise")
}

fn blessing() -> bool {
    std::env::var_os("STEPWISE_BLESS").is_some()
}

#[test]
fn every_invalid_runbook_gives_its_exact_diagnostics() {
    let dir = root().join("tests/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} invalid runbooks", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let rel = format!(
            "tests/invalid/{}",
            case.file_name().unwrap().to_string_lossy()
        );
        let out = stepwise(&["validate", &rel]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        let expected_path = case.with_extension("stderr");
        assert_eq!(out.status.code(), Some(1), "{rel}: exit code\n{stderr}");
        assert!(out.stdout.is_empty(), "{rel}: printed to stdout");
        if blessing() {
            std::fs::write(&expected_path, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing", expected_path.display()));
        if stderr != expected {
            failures.push(format!(
                "--- {rel}\nexpected:\n{expected}\nactual:\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundled_runbooks_are_valid_without_warnings() {
    let out = stepwise(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<&str> = listing
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "exchange2007-ur1",
            "hmc40-rollup-2011",
            "hmc45-ur6",
            "ocs2007-kb961569",
            "ocs2007r2-avmcu-kb2028578"
        ]
    );
    let mut args = vec!["validate"];
    args.extend(&ids);
    let out = stepwise(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "",
        "bundled runbooks have diagnostics"
    );
    assert_eq!(out.status.code(), Some(0));
    for id in ids {
        assert!(
            stdout.contains(&format!("runbooks/{id}.yaml: ok (0 warnings)")),
            "{stdout}"
        );
    }
}

#[test]
fn list_shows_id_article_and_title() {
    let out = stepwise(&["list"]);
    let listing = String::from_utf8(out.stdout).unwrap();
    let hmc45 = listing
        .lines()
        .find(|l| l.starts_with("hmc45-ur6 "))
        .unwrap();
    assert!(hmc45.contains("KB979704"), "{hmc45}");
    assert!(
        hmc45.contains("Update Rollup 6 for Hosted Messaging and Collaboration 4.5"),
        "{hmc45}"
    );
}

/// Every YAML block of the format reference that starts with `# example` is a valid runbook.
#[test]
fn format_reference_examples_are_valid() {
    let doc = std::fs::read_to_string(root().join("docs/runbook-format.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    let mut in_block = false;
    let mut block = String::new();
    for line in doc.lines() {
        if !in_block && line.trim() == "```yaml" {
            in_block = true;
            block.clear();
        } else if in_block && line.trim() == "```" {
            in_block = false;
            if block.starts_with("# example") {
                count += 1;
                let path = dir.path().join(format!("example-{count}.yaml"));
                std::fs::write(&path, &block).unwrap();
                let out = stepwise(&["validate", path.to_str().unwrap()]);
                assert_eq!(
                    (
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).to_string()
                    ),
                    (Some(0), String::new()),
                    "example {count} of docs/runbook-format.md:\n{block}"
                );
            }
        } else if in_block {
            block.push_str(line);
            block.push('\n');
        }
    }
    assert!(count >= 6, "found only {count} examples");
}

#[test]
fn unknown_runbook_and_unreadable_path() {
    let out = stepwise(&["validate", "hmc45-ur7"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "stepwise: unknown runbook `hmc45-ur7`; did you mean `hmc45-ur6`? (`stepwise list` shows the bundled ones)\n"
    );
    let out = stepwise(&["validate", "no/such/runbook.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "stepwise: cannot read runbook no/such/runbook.yaml: no such file or folder\n"
    );
}

#[test]
fn validate_reports_each_file_and_fails_if_any_is_invalid() {
    let out = stepwise(&["validate", "hmc45-ur6", "tests/invalid/empty-phase.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "runbooks/hmc45-ur6.yaml: ok (0 warnings)\n"
    );
}

#[test]
fn binary_garbage_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path: &Path = &dir.path().join("garbage.yaml");
    std::fs::write(path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = stepwise(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "stepwise: {0}:1:1: runbook {0} is UTF-16 text; save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)\n",
            path.display()
        )
    );
}

/// Cut and damaged versions of every bundled runbook load without panicking: each either loads
/// or yields diagnostics with a position inside the text.
#[test]
fn damaged_runbooks_never_panic() {
    use stepwise::runbook::{Source, bundled::BUNDLED, load};
    for (id, text) in BUNDLED {
        let lines: Vec<&str> = text.lines().collect();
        let mut variants: Vec<String> = Vec::new();
        let step = (text.len() / 41).max(1);
        for cut in (0..text.len()).step_by(step) {
            if text.is_char_boundary(cut) {
                variants.push(text[..cut].to_string());
            }
        }
        for skip in (0..lines.len()).step_by(7) {
            let mut v = lines.clone();
            v.remove(skip);
            variants.push(v.join("\n"));
            let mut v = lines.clone();
            v[skip] = "  - ]: {";
            variants.push(v.join("\n"));
        }
        for variant in variants {
            let loaded = load(&Source {
                name: format!("{id}.yaml"),
                text: variant.clone(),
            });
            let line_count = variant.lines().count().max(1);
            for d in &loaded.diagnostics {
                assert!(
                    d.pos.line >= 1 && d.pos.line <= line_count + 1,
                    "{id}: diagnostic outside the text: {d:?}"
                );
            }
        }
    }
}
