//! `--color` on every command, and the page of environment variables.

use std::fs;

use crate::common::{Stepwise, root};

const RED: &str = "\u{1b}[31m";
const YELLOW: &str = "\u{1b}[33m";
const ESC: &str = "\u{1b}[";

#[test]
fn validate_colours_errors_red_and_warnings_yellow_only_when_asked() {
    let file = "tests/invalid/copy-repeated-file.yaml";
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut sw = Stepwise::new()
            .current_dir(root())
            .arg("validate")
            .arg(file)
            .args(args);
        for (k, v) in env {
            sw = sw.env(k, v);
        }
        sw.run()
    };
    let out = run(&["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(out.stderr.contains(RED), "{:?}", out.stderr);
    let error_at = out.stderr.find("error").unwrap();
    assert!(
        out.stderr[..error_at].ends_with('m'),
        "`error` is coloured: {:?}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{YELLOW}warning")),
        "{:?}",
        out.stderr
    );
    // Plain text is the same once the colour codes are taken out.
    let plain = run(&[], &[]);
    assert!(!plain.stderr.contains(ESC), "{:?}", plain.stderr);
    assert_eq!(strip(&out.stderr), plain.stderr);
    // `never` wins over CLICOLOR_FORCE; `auto` follows it (the output is not a terminal here).
    assert!(
        !run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")])
            .stderr
            .contains(ESC)
    );
    assert!(
        run(&["--color", "auto"], &[("CLICOLOR_FORCE", "1")])
            .stderr
            .contains(RED)
    );
}

#[test]
fn check_colours_blocking_red_and_warnings_yellow() {
    let out = Stepwise::new()
        .args([
            "check",
            "hmc45-ur6",
            "--set",
            "ur5_installed=false",
            "--color",
            "always",
        ])
        .args([
            "--set",
            "upgraded_from_hmc40=false",
            "--set",
            "package_dir=/nonexistent",
        ])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("{RED}\u{1b}[1mblocking")),
        "{}",
        out.stdout
    );
    let plain = Stepwise::new()
        .args([
            "check",
            "hmc45-ur6",
            "--set",
            "ur5_installed=false",
            "--color",
            "never",
        ])
        .args([
            "--set",
            "upgraded_from_hmc40=false",
            "--set",
            "package_dir=/nonexistent",
        ])
        .run();
    assert!(!plain.stdout.contains(ESC));
    assert_eq!(strip(&out.stdout), plain.stdout);
}

#[test]
fn every_command_takes_color() {
    for sub in [
        "list",
        "validate",
        "checklist",
        "check",
        "run",
        "resume",
        "status",
        "log",
        "completions",
        "man",
    ] {
        let help = Stepwise::new().args([sub, "--help"]).stdout();
        assert!(help.contains("--color <WHEN>"), "{sub} --help:\n{help}");
    }
    let out = Stepwise::new().args(["list", "--color", "sometimes"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("[possible values: auto, always, never]"),
        "{}",
        out.stderr
    );
}

/// Takes out ANSI colour codes.
fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(ESC) {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('m').unwrap();
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every environment variable the code reads, and every `STEPWISE_` variable named anywhere, is
/// on docs/environment.md.
#[test]
fn every_environment_variable_is_documented() {
    let page = fs::read_to_string(root().join("docs/environment.md")).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for dir in ["src", "benches", "tests/cli"] {
        for file in walk(&root().join(dir)) {
            let text = fs::read_to_string(&file).unwrap();
            // What the code reads; the tests only count for the variables they read themselves.
            for needle in ["env::var(\"", "env::var_os(\""] {
                for (at, _) in text.match_indices(needle) {
                    let rest = &text[at + needle.len()..];
                    names.insert(rest[..rest.find('"').unwrap()].to_string());
                }
            }
            for (at, _) in text.match_indices("\"STEPWISE_") {
                let rest = &text[at + 1..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| {
            // `STEPWISE_SECRET_<NAME>` stands for every secret's variable.
            let n = if n.starts_with("STEPWISE_SECRET_") {
                "STEPWISE_SECRET_"
            } else {
                n.as_str()
            };
            !page.contains(&format!("`{n}")) && !page.contains(&format!(" {n}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "not on docs/environment.md: {missing:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}
