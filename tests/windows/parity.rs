//! What the Windows build prints where nothing depends on the platform is what the Linux build
//! prints, byte for byte: the JSON schemas an editor loads, the JSON list of runbooks, the man
//! page and every `--help`. So a schema or a document made on one is good on the other.

use std::process::Command;

use crate::common::{Stepwise, root};

/// Standard output of the Linux build, which must succeed.
fn linux(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(args)
        .current_dir(root())
        .env_remove("STEPWISE_STATE_DIR")
        .output()
        .expect("the Linux build runs");
    assert!(out.status.success(), "stepwise {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Standard output of the Windows build, which must succeed with nothing on standard error.
fn windows(args: &[&str]) -> String {
    Stepwise::new().current_dir(root()).args(args).stdout()
}

#[test]
fn the_schemas_list_man_page_and_help_are_the_linux_builds_byte_for_byte() {
    let mut problems = Vec::new();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["schema"],
        vec!["schema", "runbook"],
        vec!["schema", "answers"],
        vec!["schema", "inventory"],
        vec!["list", "--json"],
        vec!["list"],
        vec!["man"],
        vec!["--help"],
    ];
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
        "schema",
        "new",
    ] {
        cases.push(vec![sub, "--help"]);
    }
    for args in &cases {
        let (l, w) = (linux(args), windows(args));
        if l != w {
            problems.push(format!(
                "stepwise {}:{}",
                args.join(" "),
                crate::common::first_difference(&l, &w)
            ));
        }
    }
    crate::common::assert_no_problems(&problems);
}
