//! Shell completions, the man page and `--help`: generated from the clap definitions.
//!
//! Each completion script is loaded by its real shell (bash, zsh, fish; Debian packages, which
//! `.ci/run` installs) and asked to complete `stepwise `: every subcommand must come back, through
//! the shell's own code and the executable. Runbook ids and run ids complete too. PowerShell and
//! elvish are not installed here: their scripts are checked for their shape. A missing shell
//! fails the test with a message saying what to install, unless `STEPWISE_SKIP_SHELLS=1`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::Stepwise;

const SUBCOMMANDS: [&str; 10] = [
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
];

/// Whether `shell` can be run; fails (or, with `STEPWISE_SKIP_SHELLS=1`, skips) when it cannot.
fn have(shell: &str) -> bool {
    let found = Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("STEPWISE_SKIP_SHELLS").is_ok_and(|v| v == "1"),
            "{shell} is not installed: the completion tests load the script in it. Install it \
             (`apt-get install bash zsh fish`, as .ci/run does), or set STEPWISE_SKIP_SHELLS=1"
        );
        eprintln!("skipped: {shell} is not installed and STEPWISE_SKIP_SHELLS=1");
    }
    found
}

/// The script for `shell`, written into the test's folder.
fn script(sw: &Stepwise, shell: &str) -> String {
    let out = Stepwise::new().args(["completions", shell]).stdout();
    let bin = called_back(&out);
    assert!(
        out.contains(&bin),
        "the script calls this executable back ({bin}):\n{out}"
    );
    sw.file(&format!("stepwise.{shell}"), &out);
    out
}

/// The path a completion script calls back, as the executable knows itself: the Linux build's
/// path, or for the Windows build the `X:\…\stepwise.exe` path that the script names (checked
/// to be the executable the suite runs).
fn called_back(script: &str) -> String {
    if !crate::common::windows() {
        return env!("CARGO_BIN_EXE_stepwise").to_string();
    }
    let end = script
        .rfind("\\stepwise.exe")
        .unwrap_or_else(|| panic!("the script names no path of stepwise.exe:\n{script}"))
        + "\\stepwise.exe".len();
    let start = script[..end]
        .rfind(|c: char| c == '\'' || c == '"' || c.is_whitespace())
        .map_or(0, |i| i + 1);
    let path = &script[start..end];
    assert!(
        path.get(1..3) == Some(":\\"),
        "the script calls back `{path}`, not a full Windows path"
    );
    let local = crate::common::local_path(path);
    let wrapper = crate::common::stepwise_program();
    assert_eq!(
        fs::read(&local).ok(),
        fs::read(wrapper.with_file_name("stepwise.exe")).ok(),
        "the script calls back `{path}`, which is not the executable run"
    );
    path.to_string()
}

/// A state folder with one run folder in it (listing needs only its journal file).
fn state_with_a_run(sw: &Stepwise) -> String {
    let run = sw.dir().join("runs/20261130-hmc45-ur6-abcd");
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join("journal.jsonl"), "").unwrap();
    sw.dir().join("runs").display().to_string()
}

/// Runs a shell script in the test's folder with `STEPWISE_STATE_DIR` set; returns stdout.
fn shell(sw: &Stepwise, shell: &str, args: &[&str], code: &str, state: &str) -> String {
    let out = Command::new(shell)
        .args(args)
        .arg(code)
        .current_dir(sw.dir())
        .env("STEPWISE_STATE_DIR", state)
        .env("HOME", sw.dir())
        .env("XDG_CONFIG_HOME", sw.dir().join("config"))
        .env("XDG_DATA_HOME", sw.dir().join("data"))
        .output()
        .expect("the shell runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{shell} failed ({}):\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_offers(completions: &str, words: &[&str]) {
    let got: Vec<&str> = completions
        .lines()
        .map(|l| l.split(['\t', ':']).next().unwrap_or("").trim())
        .collect();
    for w in words {
        assert!(got.contains(w), "`{w}` is not offered; got:\n{completions}");
    }
}

unix_only! {
"bash, zsh and fish here are Linux shells, which cannot start the Windows executable their script calls back";

#[test]
fn bash_completes_every_subcommand_runbook_ids_and_runs() {
    if !have("bash") {
        return;
    }
    let sw = Stepwise::new();
    script(&sw, "bash");
    let state = state_with_a_run(&sw);
    // What bash does on Tab: COMP_WORDS and COMP_CWORD set, then the registered function.
    let complete = |line: &[&str]| {
        let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
        let code = format!(
            "source ./stepwise.bash || exit 1\n\
             f=$(complete -p stepwise | awk '{{for (i = 1; i < NF; i++) if ($i == \"-F\") print $(i + 1)}}')\n\
             COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_TYPE=9\n\
             \"$f\" stepwise {cur} {prev}\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words = words.join(" "),
            cword = line.len() - 1,
            cur = words.last().unwrap(),
            prev = words[words.len() - 2],
        );
        shell(&sw, "bash", &["--norc", "--noprofile", "-c"], &code, &state)
    };
    assert_offers(&complete(&["stepwise", ""]), &SUBCOMMANDS);
    assert_offers(
        &complete(&["stepwise", "run", "hmc"]),
        &["hmc45-ur6", "hmc40-rollup-2011"],
    );
    assert_offers(
        &complete(&["stepwise", "resume", ""]),
        &["20261130-hmc45-ur6-abcd"],
    );
    assert_offers(&complete(&["stepwise", "checklist", "--fo"]), &["--format"]);
}

#[test]
fn zsh_loads_the_script_and_completes_every_subcommand() {
    if !have("zsh") {
        return;
    }
    let sw = Stepwise::new();
    script(&sw, "zsh");
    let state = state_with_a_run(&sw);
    // compinit, the script, then the registered function as a widget would call it; `_describe`
    // (which needs a live completion widget) is replaced by one that prints what it was given.
    let complete = |line: &[&str]| {
        let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
        let code = format!(
            "autoload -Uz compinit && compinit -u -d ./zcompdump || exit 1\n\
             source ./stepwise.zsh || exit 1\n\
             [[ $_comps[stepwise] == _clap_dynamic_completer_stepwise ]] || exit 2\n\
             _describe() {{ print -rl -- \"${{(@P)3}}\" }}\n\
             words=({words}); CURRENT={current}\n\
             _clap_dynamic_completer_stepwise",
            words = words.join(" "),
            current = line.len(),
        );
        shell(&sw, "zsh", &["-f", "-c"], &code, &state)
    };
    assert_offers(&complete(&["stepwise", ""]), &SUBCOMMANDS);
    assert_offers(
        &complete(&["stepwise", "validate", "exch"]),
        &["exchange2007-ur1"],
    );
    assert_offers(
        &complete(&["stepwise", "status", ""]),
        &["20261130-hmc45-ur6-abcd"],
    );
}

#[test]
fn fish_loads_the_script_and_completes_every_subcommand() {
    if !have("fish") {
        return;
    }
    let sw = Stepwise::new();
    script(&sw, "fish");
    let state = state_with_a_run(&sw);
    let complete = |line: &str| {
        let code = format!("source ./stepwise.fish; or exit 1; complete -C '{line}'");
        shell(&sw, "fish", &["--no-config", "-c"], &code, &state)
    };
    assert_offers(&complete("stepwise "), &SUBCOMMANDS);
    assert_offers(
        &complete("stepwise check ocs"),
        &["ocs2007-kb961569", "ocs2007r2-avmcu-kb2028578"],
    );
    assert_offers(&complete("stepwise log "), &["20261130-hmc45-ur6-abcd"]);
}
}

#[test]
fn powershell_and_elvish_scripts_have_their_shape() {
    let ps = Stepwise::new().args(["completions", "powershell"]).stdout();
    let bin = called_back(&ps);
    // The path is quoted as PowerShell reads it, so that one with spaces (`C:\Program Files\…`)
    // is one word; `stepwise.exe` is what a Windows operator may type.
    let quoted = format!("'{}'", bin.replace('\'', "''").replace('$', "`$"));
    for part in [
        "Register-ArgumentCompleter -Native -CommandName stepwise, stepwise.exe -ScriptBlock {",
        "param($wordToComplete, $commandAst, $cursorPosition)",
        "$env:STEPWISE_COMPLETE = \"powershell\";",
        &format!("& {quoted} -- $args"),
        "[System.Management.Automation.CompletionResult]::new(",
    ] {
        assert!(ps.contains(part), "PowerShell script lacks `{part}`:\n{ps}");
    }
    assert_eq!(ps.matches('{').count(), ps.matches('}').count(), "{ps}");
    // What the script hands back to: the executable completes for PowerShell.
    let out = crate::common::stepwise_command()
        .args(["--", "stepwise", ""])
        .env("STEPWISE_COMPLETE", "powershell")
        .output()
        .unwrap();
    assert_offers(&String::from_utf8(out.stdout).unwrap(), &SUBCOMMANDS);

    let elvish = Stepwise::new().args(["completions", "elvish"]).stdout();
    for part in [
        "set edit:completion:arg-completer[stepwise]",
        "STEPWISE_COMPLETE",
        // In an elvish double-quoted string (a Windows path), a backslash is written twice.
        &bin.replace('\\', "\\\\"),
    ] {
        assert!(
            elvish.contains(part),
            "elvish script lacks `{part}`:\n{elvish}"
        );
    }
}

#[test]
fn an_unknown_shell_is_wrong_usage() {
    let out = Stepwise::new().args(["completions", "tcsh"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("invalid value 'tcsh'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("bash, zsh, fish, powershell, elvish"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_man_page_has_a_section_per_subcommand_and_renders() {
    let page = Stepwise::new().arg("man").stdout();
    assert!(page.contains(".TH stepwise 1"), "{page}");
    for sub in SUBCOMMANDS {
        let heading = format!(".SH \"STEPWISE {}\"", sub.to_uppercase());
        assert!(page.contains(&heading), "no section {heading}");
    }
    assert!(!page.contains("__hold"), "a hidden command is in the page");
    let sw = Stepwise::new();
    let path = sw.file("stepwise.1", &page);
    if Path::new("/usr/bin/groff").exists() {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff warns: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_subcommand_help_ends_with_examples_and_the_docs() {
    for sub in SUBCOMMANDS {
        let help = Stepwise::new().args([sub, "--help"]).stdout();
        let tail = &help[help
            .rfind("Examples:\n")
            .unwrap_or_else(|| panic!("{sub}: no examples:\n{help}"))..];
        let lines: Vec<&str> = tail.lines().collect();
        let examples: Vec<&&str> = lines[1..].iter().take_while(|l| !l.is_empty()).collect();
        assert!(
            (2..=3).contains(&examples.len()),
            "{sub}: {} examples:\n{tail}",
            examples.len()
        );
        for e in &examples {
            assert!(e.starts_with("  stepwise "), "{sub}: example `{e}`");
        }
        assert!(
            examples
                .iter()
                .any(|e| e.starts_with(&format!("  stepwise {sub}"))),
            "{sub}: no example of it:\n{tail}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("More: ") && (last.contains("docs/") || last.contains("README.md")),
            "{sub}: the help does not end with a pointer at the docs:\n{help}"
        );
    }
}
