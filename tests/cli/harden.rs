//! Hostile input, hostile shares and hostile signals, through the real binary: links planted at
//! the names stepwise writes, parameter values that try to become shell syntax, secrets in
//! output, permissions, resource bombs in runbooks, SIGTERM, and files that are not what they
//! claim to be.

use crate::common::{RUN_RB, assert_code, only_run, stepwise_in as stepwise, text};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A runbook with one step of the given action (YAML flow map) and the given parameters.
fn runbook(dir: &Path, params: &str, action: &str) {
    fs::write(
        dir.join("rb.yaml"),
        format!(
            "id: t\ntitle: T\narticle: KB0\nproduct: stepwise tests\nparameters:\n{params}phases:\n  - id: main\n    title: Main\n    steps:\n      - id: one\n        title: One\n        action: {action}\n"
        ),
    )
    .unwrap();
}

fn run_with(dir: &Path, answers: &str) -> Output {
    fs::write(dir.join("a.yaml"), answers).unwrap();
    stepwise(dir, &RUN_RB)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn copy_runbook(t: &Path) {
    runbook(
        t,
        "  - { name: from, type: path, prompt: From }\n  - { name: to, type: path, prompt: To }\n",
        "{ type: copy, from: '{{ from }}', to: '{{ to }}', files: [A.msi] }",
    );
}

fn copy_answers(t: &Path) -> String {
    format!(
        "params: {{ from: '{}', to: '{}' }}\nconfirm: true\ndefault: done\n",
        t.join("pkg").display(),
        t.join("share").display()
    )
}

/// A link planted at the copy's temporary name is replaced, never written through: the file it
/// points to keeps its content, and the copy is a regular file.
#[cfg(unix)]
#[test]
fn a_copy_never_writes_through_a_link_planted_at_its_temporary_name() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in ["pkg", "share", "outside"] {
        fs::create_dir(t.join(d)).unwrap();
    }
    fs::write(t.join("pkg/A.msi"), "new package").unwrap();
    fs::write(t.join("outside/victim"), "precious").unwrap();
    std::os::unix::fs::symlink("../outside/victim", t.join("share/.A.msi.stepwise-part")).unwrap();
    copy_runbook(t);
    let out = run_with(t, &copy_answers(t));
    assert_code(&out, 0);
    assert_eq!(
        fs::read_to_string(t.join("outside/victim")).unwrap(),
        "precious"
    );
    let copied = t.join("share/A.msi");
    assert!(fs::symlink_metadata(&copied).unwrap().file_type().is_file());
    assert_eq!(fs::read_to_string(&copied).unwrap(), "new package");
    assert!(fs::symlink_metadata(t.join("share/.A.msi.stepwise-part")).is_err());
}

/// A copy over a private file keeps it private, and so is its backup; a new copy is never
/// writable by others, whatever the umask; a run folder is the operator's alone.
#[cfg(unix)]
#[test]
fn permissions_are_kept_and_run_folders_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in ["pkg", "share"] {
        fs::create_dir(t.join(d)).unwrap();
    }
    fs::write(t.join("pkg/A.msi"), "new package").unwrap();
    fs::write(t.join("share/A.msi"), "old, private").unwrap();
    set_mode(&t.join("share/A.msi"), 0o600);
    copy_runbook(t);
    fs::write(t.join("a.yaml"), copy_answers(t)).unwrap();
    // umask 000: everything created follows stepwise's own modes, not the umask.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec '{}' run rb.yaml --answers a.yaml --state-dir runs",
            env!("CARGO_BIN_EXE_stepwise")
        ))
        .current_dir(t)
        .env("USER", "alice")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(
        fs::read_to_string(t.join("share/A.msi")).unwrap(),
        "new package"
    );
    assert_eq!(mode(&t.join("share/A.msi")), 0o600);
    let run = only_run(&t.join("runs"));
    let backup = run.join("backup/one/A.msi");
    assert_eq!(fs::read_to_string(&backup).unwrap(), "old, private");
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(mode(&t.join("runs")), 0o700);
    assert_eq!(mode(&run), 0o700);
    for entry in walk(&run) {
        let m = mode(&entry);
        if entry.is_dir() {
            assert_eq!(m, 0o700, "{}", entry.display());
        } else {
            assert_eq!(m & 0o077, 0, "{} is {m:o}", entry.display());
        }
    }
}

/// A new copy gets the source's permissions without write access for others.
#[cfg(unix)]
#[test]
fn a_new_copy_is_never_writable_by_others() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in ["pkg", "share"] {
        fs::create_dir(t.join(d)).unwrap();
    }
    fs::write(t.join("pkg/A.msi"), "new package").unwrap();
    set_mode(&t.join("pkg/A.msi"), 0o666);
    copy_runbook(t);
    let out = run_with(t, &copy_answers(t));
    assert_code(&out, 0);
    assert_eq!(mode(&t.join("share/A.msi")), 0o644);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// A parameter value in a `shell: true` command is one quoted word: `;` does not start a second
/// command, and the line shown is the line that runs.
#[cfg(unix)]
#[test]
fn a_value_never_becomes_shell_syntax() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    runbook(
        t,
        "  - { name: ticket, type: string, prompt: Ticket }\n",
        "{ type: command, program: echo, args: ['ticket:', '{{ ticket }}', '>', said.txt], shell: true }",
    );
    fs::write(t.join("a.yaml"), "confirm: true\ndefault: done\n").unwrap();
    let out = stepwise(
        t,
        &[
            &RUN_RB[..],
            &["--set", "ticket=a; touch pwned 'x' $(touch pwned2)"],
        ]
        .concat(),
    );
    assert_code(&out, 0);
    assert!(!t.join("pwned").exists() && !t.join("pwned2").exists());
    assert_eq!(
        fs::read_to_string(t.join("said.txt")).unwrap(),
        "ticket: a; touch pwned 'x' $(touch pwned2)\n"
    );
    let line = r#"echo ticket: 'a; touch pwned '\''x'\'' $(touch pwned2)' > said.txt"#;
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(shown.contains(line), "{shown}");
    let log = fs::read_dir(only_run(&t.join("runs")).join("output"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        fs::read_to_string(log)
            .unwrap()
            .starts_with(&format!("$ {line}\n"))
    );
}

/// A secret that a command prints is masked on the screen and in the saved output.
#[test]
fn a_secret_in_a_commands_output_is_masked_where_shown_and_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    runbook(
        t,
        "  - { name: pw, type: secret, prompt: Password }\n",
        "{ type: command, program: sh, args: [-c, 'echo \"given: $0\"; printf \"%s\" \"$0\" | cut -c1-3; echo \"$0$0\"', '{{ pw }}'] }",
    );
    fs::write(t.join("a.yaml"), "confirm: true\ndefault: done\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(RUN_RB)
        .current_dir(t)
        .env("USER", "alice")
        .env("STEPWISE_SECRET_PW", "s3cr3t-Pa55")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_code(&out, 0);
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!shown.contains("s3cr3t-Pa55"), "{shown}");
    assert!(shown.contains("given: ********"), "{shown}");
    let run = only_run(&t.join("runs"));
    for f in walk(&run) {
        if f.is_file() {
            let body = fs::read_to_string(&f).unwrap();
            assert!(!body.contains("s3cr3t-Pa55"), "{}: {body}", f.display());
        }
    }
    let log = walk(&run.join("output")).pop().unwrap();
    assert_eq!(
        fs::read_to_string(log).unwrap(),
        "$ sh -c \"echo \\\"given: $0\\\"; printf \\\"%s\\\" \\\"$0\\\" | cut -c1-3; echo \\\"$0$0\\\"\" ********\ngiven: ********\ns3c\n****************\n"
    );
}

/// A rehearsal never puts a secret in its sandbox, which stays after the run; a secret given
/// with --set is warned about.
#[test]
fn a_rehearsal_keeps_nothing_secret_and_set_warns_about_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    runbook(
        t,
        "  - { name: pw, type: secret, prompt: Password }\n  - { name: dir, type: path, prompt: Folder }\n",
        "{ type: write_file, dir: '{{ dir }}', file: app.config, content: 'password={{ pw }}' }",
    );
    fs::write(t.join("a.yaml"), "confirm: true\ndefault: done\n").unwrap();
    let out = stepwise(
        t,
        &[&RUN_RB[..], &["--rehearse", "--set", "pw=s3cr3t-Pa55"]].concat(),
    );
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("stepwise: warning: --set pw=…: a secret given on the command line is visible to other users in the process list and stays in the shell history; give it at the prompt or in the environment variable STEPWISE_SECRET_PW instead"),
        "{stderr}"
    );
    let shown = format!("{}{stderr}", text(&out.stdout));
    assert!(!shown.contains("s3cr3t-Pa55"), "{shown}");
    let sandbox = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("Sandbox: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{shown}"));
    let written = fs::read_to_string(sandbox.join("dir/app.config")).unwrap();
    assert_eq!(written, "password=********");
    #[cfg(unix)]
    assert_eq!(mode(&sandbox), 0o700);
    for f in walk(&sandbox) {
        if f.is_file() {
            assert!(
                !fs::read_to_string(&f).unwrap().contains("s3cr3t"),
                "{}",
                f.display()
            );
        }
    }
    fs::remove_dir_all(&sandbox).unwrap();
}

/// Nested YAML aliases that would expand to gigabytes are refused at the alias that crosses the
/// line, at once; lists nested thousands deep, and a `when:` with thousands of parentheses, are
/// refused with their position instead of overflowing the stack.
#[test]
fn alias_bombs_and_deep_nesting_are_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let head = "id: t\ntitle: T\narticle: KB0\nproduct: p\n";
    let steps =
        "phases:\n  - id: main\n    title: Main\n    steps:\n      - id: one\n        title: One\n";
    let mut bomb = format!("{head}x-lol:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (prev, name) = (w[0], w[1]);
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    bomb.push_str(steps);
    fs::write(t.join("bomb.yaml"), bomb).unwrap();
    let out = stepwise(t, &["validate", "bomb.yaml"]);
    assert_code(&out, 1);
    assert_eq!(
        text(&out.stderr),
        "bomb.yaml:12:10: error: the document expands to more than 1000000 values (aliases that repeat aliases?)\n12 |   g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n   |          ^\nbomb.yaml: invalid: 1 error, 0 warnings\n"
    );

    let mut deep = format!("{head}x-deep:\n");
    for level in 1..=3000 {
        deep.push_str(&format!("{}k:\n", "  ".repeat(level)));
    }
    fs::write(t.join("deep.yaml"), format!("{deep}{steps}")).unwrap();
    let out = stepwise(t, &["validate", "deep.yaml"]);
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).starts_with(
            "deep.yaml:133:258: error: lists and maps nest deeper than 128 levels here\n"
        ),
        "{}",
        text(&out.stderr)
    );
    let flow = format!(
        "{head}x-deep: {}{}\n{steps}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    fs::write(t.join("flow.yaml"), flow).unwrap();
    let out = stepwise(t, &["validate", "flow.yaml"]);
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).starts_with(
            "flow.yaml:5:264: error: YAML syntax: lists and maps nest too deep here\n"
        ),
        "{}",
        text(&out.stderr)
    );

    let when = format!(
        "{head}parameters:\n  - {{ name: a, type: bool, prompt: A }}\n{steps}        when: {}a{}\n",
        "(".repeat(7500),
        ")".repeat(7500)
    );
    fs::write(t.join("when.yaml"), when).unwrap();
    let out = stepwise(t, &["validate", "when.yaml"]);
    assert_code(&out, 1);
    let paren = "(".repeat(120);
    assert_eq!(
        text(&out.stderr),
        format!(
            "when.yaml:13:79: error: the condition nests deeper than 64 levels here\n13 | …{paren}…\n   | {}^\nwhen.yaml: invalid: 1 error, 0 warnings\n",
            " ".repeat(61)
        )
    );
}

/// SIGTERM is handled like Ctrl-C: the running command and what it started are stopped, the
/// journal says `interrupted` (and why), and stepwise exits 143.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_command_journals_and_exits_143() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    runbook(
        t,
        "",
        "{ type: command, program: sh, args: [-c, 'sleep 60 & echo $! > grandchild; echo $$ > child; wait'] }",
    );
    fs::write(t.join("a.yaml"), "confirm: true\ndefault: done\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(RUN_RB)
        .current_dir(t)
        .env("USER", "alice")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(t.join("child").exists() && t.join("grandchild").exists()) {
        assert!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let pid = |name: &str| fs::read_to_string(t.join(name)).unwrap().trim().to_string();
    let (shell, sleeper) = (pid("child"), pid("grandchild"));
    let status = crate::common::signal_and_wait(&mut child, "-TERM");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("Terminated (SIGTERM): progress is saved; `stepwise resume"),
        "{stderr}"
    );
    // Neither the command nor what it started is left running.
    std::thread::sleep(Duration::from_millis(200));
    for p in [&shell, &sleeper] {
        let alive = Path::new(&format!("/proc/{p}")).exists()
            && !fs::read_to_string(format!("/proc/{p}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "process {p} still runs");
    }
    let run = only_run(&t.join("runs"));
    let journal = fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let last = journal.lines().last().unwrap();
    assert!(
        last.contains(r#""kind":"interrupted""#)
            && last.contains(r#""note":"terminated (SIGTERM)""#),
        "{journal}"
    );
    let status = stepwise(t, &["status", &run.display().to_string()]);
    assert_code(&status, 0);
}

const HOSTS_RUNBOOK: &str = "id: t\ntitle: T\narticle: KB0\nproduct: p\nroles:\n  - { id: web, title: Web servers, hosts: [WEB01, WEB02] }\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: one\n        title: One\n        on: web\n        known_issues: [error-1053]\nknown_issues:\n  - id: error-1053\n    title: Error 1053\n    symptom: it fails\n    cause: it is slow\n    workaround: wait\n";

/// Every problem of an answers file is reported at once, each with its line and column, with
/// a "did you mean" where one fits: an unknown decision, a failure choice naming a known issue
/// the runbook does not have, a host listed twice.
#[test]
fn answers_file_problems_are_located_and_reported_in_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(t.join("rb.yaml"), HOSTS_RUNBOOK).unwrap();
    let out = run_with(
        t,
        "confirm: true\nhosts:\n  web: [WEB01, web01]\nsteps:\n  one@WEB01: dne\n  one@WEB02: { decison: done }\non_failure: workaround:error-1035\n",
    );
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: a.yaml: the answers file does not fit (2 problems):\n\
         a.yaml:5:14: steps: `one@WEB01`: unknown decision `dne`, expected one of `done`, `by-hand`, `by_hand`, `skip`, `fail`, `pause`, `automate`; did you mean `done`?\n\
         a.yaml:6:14: steps: `one@WEB02`: unknown field `decison`, expected one of `decision`, `note`, `confirm`, `items_not_done`, `on_failure`, `in_doubt`; did you mean `decision`?\n"
    );
    // Once the file reads, what it says is checked against the runbook, all at once too.
    let out = run_with(
        t,
        "confirm: true\nhosts:\n  web: [WEB01, web01]\nsteps:\n  one@WEB01: done\non_failure: [retry, workaround:error-1035]\n",
    );
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: a.yaml: the answers file does not fit (2 problems):\n\
         a.yaml:3:16: hosts: role `web`: host `web01` is listed twice (as `WEB01`; host names ignore case)\n\
         a.yaml:6:21: on_failure: `workaround:error-1035`: runbook `t` has no known issue `error-1035`; did you mean `error-1053`?\n"
    );
    assert!(!t.join("runs").exists());
}

/// Host names that would make two instances with one key, or a key that cannot be read back,
/// are refused wherever they come from: the runbook, --inventory, --set.
#[test]
fn ambiguous_host_names_are_refused_with_their_position() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("rb.yaml"),
        HOSTS_RUNBOOK.replace("[WEB01, WEB02]", "[WEB01, 'WEB#2', WEB01]"),
    )
    .unwrap();
    let out = stepwise(t, &["validate", "rb.yaml"]);
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).starts_with("rb.yaml:6:51: error: host name `WEB#2` cannot hold `#`, which separates the parts of a step instance key (step@HOST#item)\n"),
        "{}",
        text(&out.stderr)
    );
    fs::write(t.join("rb.yaml"), HOSTS_RUNBOOK).unwrap();
    fs::write(t.join("inv.yaml"), "web:\n  - WEB01\n  - ''\n").unwrap();
    let out = stepwise(t, &["check", "rb.yaml", "--inventory", "inv.yaml"]);
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: inv.yaml:3:5: role `web`: a host name is empty\n"
    );
    let with_param = HOSTS_RUNBOOK.replace(
        "roles:",
        "parameters:\n  - { name: extra, type: hosts, prompt: Extra hosts }\nroles:",
    );
    fs::write(t.join("rb.yaml"), with_param).unwrap();
    let out = stepwise(t, &["check", "rb.yaml", "--set", "extra=A, B, A"]);
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: --set extra=A, B, A: parameter `extra`: host `A` is listed twice\n"
    );
}

/// What Notepad writes, a byte-order mark, is not part of the text: runbooks, answers files and
/// inventories with one read as without. Text that is not UTF-8 is refused with the position
/// of the first bad byte.
#[test]
fn a_byte_order_mark_is_accepted_and_bad_bytes_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let bom = "\u{feff}";
    fs::write(t.join("rb.yaml"), format!("{bom}{HOSTS_RUNBOOK}")).unwrap();
    fs::write(t.join("inv.yaml"), format!("{bom}web: [WEB01]\n")).unwrap();
    fs::write(
        t.join("a.yaml"),
        format!("{bom}confirm: true\ndefault: done\n"),
    )
    .unwrap();
    let out = stepwise(t, &["validate", "rb.yaml"]);
    assert_code(&out, 0);
    let out = stepwise(
        t,
        &[
            "run",
            "rb.yaml",
            "--answers",
            "a.yaml",
            "--inventory",
            "inv.yaml",
            "--state-dir",
            "runs",
        ],
    );
    assert_code(&out, 0);
    let mut latin1 = HOSTS_RUNBOOK.as_bytes().to_vec();
    let at = HOSTS_RUNBOOK.find("Web servers").unwrap() + 3;
    latin1[at] = 0xe9;
    fs::write(t.join("latin1.yaml"), latin1).unwrap();
    let out = stepwise(t, &["validate", "latin1.yaml"]);
    assert_code(&out, 1);
    assert_eq!(
        text(&out.stderr),
        "stepwise: latin1.yaml:6:26: runbook latin1.yaml is not UTF-8 text: byte 0xe9 here cannot start a character (save it as UTF-8)\n"
    );
    fs::write(t.join("a.yaml"), b"confirm: true\ndefault: d\xf6ne\n").unwrap();
    let out = stepwise(t, &RUN_RB);
    assert_code(&out, 2);
    assert_eq!(
        text(&out.stderr),
        "stepwise: a.yaml:2:11: answers file a.yaml is not UTF-8 text: byte 0xf6 here cannot start a character (save it as UTF-8)\n"
    );
}

/// A named pipe where a package file should be is called what it is, not "a folder", and
/// nothing waits on it.
#[cfg(unix)]
#[test]
fn a_fifo_in_the_package_is_reported_as_a_named_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for d in ["pkg", "share"] {
        fs::create_dir(t.join(d)).unwrap();
    }
    assert!(
        Command::new("mkfifo")
            .arg(t.join("pkg/A.msi"))
            .status()
            .unwrap()
            .success()
    );
    copy_runbook(t);
    let out = stepwise(
        t,
        &[
            "check",
            "rb.yaml",
            "--set",
            &format!("from={}", t.join("pkg").display()),
            "--set",
            &format!("to={}", t.join("share").display()),
        ],
    );
    assert_code(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("A.msi is a named pipe (FIFO), not a file"),
        "{stdout}"
    );
    assert!(!stdout.contains("folder, not a file"), "{stdout}");
}

/// A whole, well-formed last line of a kind this stepwise does not know is an event of a newer
/// version, not a torn write: refused, not dropped. A run.json that disagrees with the journal
/// about the runbook is refused too.
#[test]
fn a_newer_event_kind_and_a_disagreeing_header_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    runbook(t, "", "{ type: manual }");
    let out = run_with(t, "default: done\n");
    assert_code(&out, 0);
    let run = only_run(&t.join("runs"));
    let run_arg = run.display().to_string();
    let journal = run.join("journal.jsonl");
    let original = fs::read_to_string(&journal).unwrap();
    let lines = original.lines().count();
    let mut newer = original.clone();
    newer.push_str(&format!(
        "{{\"seq\":{},\"time\":\"2026-11-30T10:00:00.000Z\",\"operator\":\"bob\",\"kind\":\"host_rebooted\",\"host\":\"WEB01\"}}\n",
        lines + 1
    ));
    fs::write(&journal, newer).unwrap();
    for command in ["status", "log"] {
        let out = stepwise(t, &[command, &run_arg]);
        assert_code(&out, 1);
        assert_eq!(
            text(&out.stderr),
            format!(
                "stepwise: {}:{}: event kind `host_rebooted` is not known to this stepwise (0.1.0): the journal was written by a newer version; use that version to read or resume it\n",
                journal.display(),
                lines + 1
            )
        );
    }
    fs::write(&journal, &original).unwrap();
    let header = run.join("run.json");
    let text_header = fs::read_to_string(&header).unwrap();
    fs::write(
        &header,
        text_header.replace("\"runbook_id\": \"t\"", "\"runbook_id\": \"hmc45-ur6\""),
    )
    .unwrap();
    let out = stepwise(t, &["status", &run_arg]);
    assert_code(&out, 1);
    assert_eq!(
        text(&out.stderr),
        format!(
            "stepwise: {}:1: the journal's run follows runbook `t`, but run.json says `hmc45-ur6`; one of them was changed\n",
            journal.display()
        )
    );
}

/// The journal is a hash chain: status and log show the hash of its last event, the as-run
/// checklist prints it, and an event changed, removed or inserted is found by status, log,
/// resume and checklist --run, which name the first line that does not follow. A torn last line
/// is still tolerated, and an unchained journal of an older stepwise still opens.
#[test]
fn the_journal_is_a_hash_chain_that_every_reader_verifies() {
    use stepwise::journal;
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("rb.yaml"),
        "id: t\ntitle: T\narticle: KB0\nproduct: p\nphases:\n  - id: main\n    title: Main\n    steps:\n      - { id: one, title: One }\n      - { id: two, title: Two }\n      - { id: three, title: Three }\n",
    )
    .unwrap();
    let out = run_with(t, "default: done\nsteps:\n  three: pause\n");
    assert_code(&out, 3);
    let run = only_run(&t.join("runs"));
    let run_arg = run.display().to_string();
    let journal_path = run.join("journal.jsonl");
    let original = fs::read_to_string(&journal_path).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let last = journal::read_journal(&journal_path)
        .unwrap()
        .chain
        .last()
        .unwrap()
        .to_string();
    assert_eq!(last.len(), 64);
    // Each line links to the one before; the first to run.json.
    let sha = |b: &[u8]| journal::JournalRead::hash_line(b);
    assert!(lines[0].ends_with(&format!(
        ",\"prev_sha256\":\"{}\"}}",
        sha(&fs::read(run.join("run.json")).unwrap())
    )));
    assert!(lines[3].ends_with(&format!(
        ",\"prev_sha256\":\"{}\"}}",
        sha(lines[2].as_bytes())
    )));
    assert_eq!(last, sha(lines.last().unwrap().as_bytes()));

    let status = stepwise(t, &["status", &run_arg]);
    assert_code(&status, 0);
    assert!(
        text(&status.stdout).contains(&format!(
            "Journal:       {} events, chain verified; last sha256 {last}\n",
            lines.len()
        )),
        "{}",
        text(&status.stdout)
    );
    let sheet = stepwise(t, &["checklist", "rb.yaml", "--run", &run_arg]);
    assert_code(&sheet, 0);
    assert!(
        text(&sheet.stdout).contains(&last),
        "{}",
        text(&sheet.stdout)
    );

    // A torn last line is tolerated.
    fs::write(&journal_path, format!("{original}{{\"seq\":99,\"ti")).unwrap();
    assert_code(&stepwise(t, &["status", &run_arg]), 0);

    let refused = |journal_text: String, line: usize, why: &str| {
        fs::write(&journal_path, journal_text).unwrap();
        let why = match why.strip_prefix("!") {
            Some(plain) => plain.to_string(),
            None => format!("the journal's chain is broken here: {why}"),
        };
        let expected = format!("stepwise: {}:{line}: {why}\n", journal_path.display());
        for args in [
            vec!["status", run_arg.as_str()],
            vec!["log", run_arg.as_str()],
            vec!["checklist", "rb.yaml", "--run", run_arg.as_str()],
            vec!["resume", run_arg.as_str(), "--answers", "a.yaml"],
        ] {
            let out = stepwise(t, &args);
            assert_code(&out, 1);
            assert_eq!(text(&out.stderr), expected, "{args:?}");
        }
    };
    let after = "this event does not follow the one on line";
    let changed = "(its prev_sha256 differs); an event was changed, removed or inserted";
    // An event edited: the next line no longer follows it.
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[3] = edited[3].replace("\"operator\":\"alice\"", "\"operator\":\"mallory\"");
    assert_ne!(edited[3], lines[3]);
    refused(
        format!("{}\n", edited.join("\n")),
        5,
        &format!("{after} 4 {changed}"),
    );
    // An event removed: its number is missing; removed and the rest renumbered, the chain
    // breaks where it was.
    let mut without: Vec<&str> = lines.clone();
    without.remove(4);
    refused(
        format!("{}\n", without.join("\n")),
        5,
        "!corrupt journal: event 6 follows event 4",
    );
    let renumbered: Vec<String> = without
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let seq = l[7..l.find(',').unwrap()].to_string();
            l.replacen(
                &format!("{{\"seq\":{seq},"),
                &format!("{{\"seq\":{},", i + 1),
                1,
            )
        })
        .collect();
    refused(
        format!("{}\n", renumbered.join("\n")),
        5,
        &format!("{after} 4 {changed}"),
    );
    // An event added at the end, by hand, without a link.
    let added = format!(
        "{original}{{\"seq\":{},\"time\":\"2026-11-30T10:00:00.000Z\",\"operator\":\"mallory\",\"kind\":\"paused\"}}\n",
        lines.len() + 1
    );
    refused(
        added,
        lines.len() + 1,
        "this event carries no prev_sha256; it was added or rewritten by something other than stepwise",
    );
    // The header changed after the run started.
    fs::write(&journal_path, &original).unwrap();
    let header = fs::read_to_string(run.join("run.json")).unwrap();
    fs::write(
        run.join("run.json"),
        header.replace("\"alice\"", "\"mallory\""),
    )
    .unwrap();
    refused(
        original.clone(),
        1,
        "the first event does not follow run.json (its prev_sha256 differs); run.json was changed after the run started",
    );

    // A journal of an older stepwise (run format 1, no links) still opens, reported as such.
    let unlinked: String = original
        .lines()
        .map(|l| format!("{}}}\n", &l[..l.rfind(",\"prev_sha256\"").unwrap()]))
        .collect();
    fs::write(&journal_path, unlinked).unwrap();
    fs::write(
        run.join("run.json"),
        header.replace("\"stepwise_run_format\": 2", "\"stepwise_run_format\": 1"),
    )
    .unwrap();
    let status = stepwise(t, &["status", &run_arg]);
    assert_code(&status, 0);
    assert!(
        text(&status.stdout).contains(&format!(
            "Journal:       {} events, not chained (recorded by a stepwise before run format 2): cannot be verified\n",
            lines.len()
        )),
        "{}",
        text(&status.stdout)
    );
    // With run format 2, a journal without links has been rewritten.
    fs::write(run.join("run.json"), &header).unwrap();
    let out = stepwise(t, &["status", &run_arg]);
    assert_code(&out, 1);
    assert!(
        text(&out.stderr)
            .contains(":1: the journal's chain is broken here: run.json says run format 2")
    );
}

/// A journal or lock replaced by a link is never written through: resume refuses to open it.
#[cfg(unix)]
#[test]
fn resume_never_appends_through_a_link_at_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("rb.yaml"),
        "id: t\ntitle: T\narticle: KB0\nproduct: p\nphases:\n  - id: main\n    title: Main\n    steps:\n      - { id: one, title: One }\n      - { id: two, title: Two }\n",
    )
    .unwrap();
    let out = run_with(t, "default: done\nsteps:\n  two: pause\n");
    assert_code(&out, 3);
    let run = only_run(&t.join("runs"));
    let elsewhere = t.join("elsewhere.jsonl");
    fs::rename(run.join("journal.jsonl"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, run.join("journal.jsonl")).unwrap();
    let before = fs::read(&elsewhere).unwrap();
    fs::write(t.join("a.yaml"), "default: done\n").unwrap();
    let out = stepwise(
        t,
        &["resume", &run.display().to_string(), "--answers", "a.yaml"],
    );
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).contains("for appending"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read(&elsewhere).unwrap(), before);
}

/// Inputs the fuzz targets found a problem with (`tests/fuzz/TARGET/`), through the binary.
/// `when`: a condition whose text holds a double quote was printed in double quotes, so the
/// checklist's "only if" did not read back.
#[test]
fn fuzz_findings_stay_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let when = fs::read_to_string(common_root().join("tests/fuzz/when/quote-in-text")).unwrap();
    runbook(
        t,
        "  - { name: snm, type: string, prompt: S }\n  - { name: nm, type: string, prompt: N }\n",
        "{ type: manual }\n        when: >-\n          PLACEHOLDER",
    );
    let text = fs::read_to_string(t.join("rb.yaml"))
        .unwrap()
        .replace("PLACEHOLDER", &when);
    fs::write(t.join("rb.yaml"), text).unwrap();
    assert_code(&stepwise(t, &["validate", "rb.yaml"]), 0);
    let sheet = stepwise(t, &["checklist", "rb.yaml"]);
    assert_code(&sheet, 0);
    assert!(
        text_of(&sheet).contains(r#"snm == "_" or nm == "u" or nm == '"u"or rdionmta'"#),
        "{}",
        text_of(&sheet)
    );
}

fn common_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text_of(out: &Output) -> String {
    text(&out.stdout)
}
