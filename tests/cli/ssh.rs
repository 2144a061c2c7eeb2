//! Actions on hosts over SSH, against real OpenSSH servers started by [`crate::fleet::Fleet`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::Stepwise;
use crate::fleet::{
    CHECK_BOOK, Fleet, HOST_ROOT, RUN_BOOK, book, fingerprint, journal, keygen, prepare,
};

/// The bundled hmc45-ur6 with the optional `iisreset.exe` of "Restart IIS" replaced by a command
/// that leaves a mark, naming the host it was meant for, on the host it runs on.
fn hmc45_with_marks() -> String {
    let text = fs::read_to_string(crate::common::root().join("runbooks/hmc45-ur6.yaml")).unwrap();
    let replaced = text.replace(
        "          program: iisreset.exe\n",
        &format!(
            "          program: sh\n          args: [-c, 'echo \"iisreset for $0\" >> {HOST_ROOT}/marks', '{{{{ host }}}}']\n"
        ),
    );
    assert_ne!(replaced, text, "the runbook's iisreset automation moved");
    replaced
}

/// A package folder for hmc45-ur6 (the files of its manifest at their sizes) and an empty share.
fn hmc45_folders(t: &Stepwise) -> (PathBuf, PathBuf) {
    let rb = stepwise::runbook::load(&stepwise::runbook::bundled::get("hmc45-ur6").unwrap())
        .runbook
        .unwrap();
    let (pkg, share) = (t.dir().join("pkg"), t.dir().join("share"));
    fs::create_dir_all(&pkg).unwrap();
    fs::create_dir_all(&share).unwrap();
    for m in &rb.manifests {
        for f in &m.files {
            fs::write(
                pkg.join(&f.name),
                vec![b'N'; f.size.unwrap_or(1024) as usize],
            )
            .unwrap();
        }
    }
    (pkg, share)
}

#[test]
fn hmc45_restarts_iis_on_exactly_the_web_servers_it_names() {
    let fleet = Fleet::start(&["WEB01", "WEB02", "MPS02"]);
    let t = Stepwise::new();
    t.file("book.yaml", &hmc45_with_marks());
    t.file(
        "inventory.yaml",
        &fleet.inventory("roles:\n  web_services: [WEB01, WEB02]\n  mps_engine: [MPS02]\n"),
    );
    let (pkg, share) = hmc45_folders(&t);
    t.file(
        "a.yaml",
        &format!(
            "params:\n  ur5_installed: true\n  upgraded_from_hmc40: false\n  package_dir: '{}'\n  msi_share: '{}'\nconfirm: true\ndefault: done\nsteps:\n  restart-iis@WEB01: automate\n  restart-iis@WEB02: automate\n",
            pkg.display(),
            share.display()
        ),
    );
    let local_marks = Path::new(HOST_ROOT).join("marks");
    let before_here = fs::read_to_string(&local_marks).ok();
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        fs::read_to_string(fleet.host("WEB01").tree.join("marks")).unwrap(),
        "iisreset for WEB01\n"
    );
    assert_eq!(
        fs::read_to_string(fleet.host("WEB02").tree.join("marks")).unwrap(),
        "iisreset for WEB02\n"
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: marks", "WEB02: marks"],
        "only the two web servers were touched"
    );
    assert_eq!(
        fs::read_to_string(&local_marks).ok(),
        before_here,
        "nothing ran here"
    );
    assert!(
        out.stdout
            .contains("     on WEB02 over ssh root@127.0.0.3:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "   ✓ sh -c \"echo \\\"iisreset for $0\\\" >> {HOST_ROOT}/marks\" WEB02 (on WEB02) exited with 0"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn check_looks_programs_up_on_each_host_and_changes_nothing() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    fs::write(fleet.host("WEB01").tree.join("keep"), "as it was").unwrap();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &book(&[("web", "WEB01, WEB02")], "      - { id: present, title: Present, on: web, action: { type: command, program: sh, args: [-c, 'exit 0'] } }\n      - { id: absent, title: Absent, on: web, action: { type: command, program: no-such-program-stepwise } }\n"),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    let out = t.args(CHECK_BOOK).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("program ") && l.contains("WEB0"))
        .collect();
    assert_eq!(
        lines,
        [
            "    ok        present@WEB01: program sh on WEB01: found at /usr/bin/sh (not run by the check)",
            "    ok        present@WEB02: program sh on WEB02: found at /usr/bin/sh (not run by the check)",
            "    blocking  absent@WEB01: program no-such-program-stepwise on WEB01: not found on WEB01",
            "              to do: Install the program on WEB01, or correct its name in the runbook",
            "    blocking  absent@WEB02: program no-such-program-stepwise on WEB02: not found on WEB02",
            "              to do: Install the program on WEB02, or correct its name in the runbook",
        ]
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: keep"],
        "check changed a host's tree"
    );
}

/// `stepwise check` of one command step on WEB01 with the given inventory; the line about WEB01.
fn check_line(t: Stepwise) -> (i32, Vec<String>) {
    t.file(
        "book.yaml",
        &book(&[("web", "WEB01")], "      - { id: restart, title: Restart, on: web, action: { type: command, program: sh, args: [-c, 'exit 0'] } }\n"),
    );
    let out = t.args(CHECK_BOOK).run();
    let lines = out
        .stdout
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("blocking") || l.starts_with("to do")
        })
        .map(str::to_string)
        .collect();
    (out.code, lines)
}

#[test]
fn unreachable_refused_and_untrusted_hosts_are_blocking_with_what_to_do() {
    let mut fleet = Fleet::start(&["WEB01"]);
    let at = format!("127.0.0.2:{}", fleet.port);
    let to_do = "              to do: Make WEB01 reachable from this machine with the inventory's address, user and key, or do the step by hand";

    // Not pinned yet: the fingerprint is shown, nothing is pinned by a check.
    fs::write(fleet.path("known_hosts"), "").unwrap();
    let t = Stepwise::new();
    t.file("inventory.yaml", &fleet.inventory(""));
    let fp = fleet.fingerprint("WEB01");
    assert_eq!(
        check_line(t),
        (
            1,
            vec![
                format!(
                    "    blocking  restart@WEB01: host WEB01 over SSH: WEB01 ({at}) offers a host key that is not pinned: ssh-ed25519 {fp}; check that it is WEB01's, then accept it at the terminal or pin it with `host_keys: {{ WEB01: \"{fp}\" }}` in the answers file"
                ),
                to_do.to_string()
            ]
        )
    );
    assert_eq!(fs::read_to_string(fleet.path("known_hosts")).unwrap(), "");

    // Another key pinned: refused, saying what changed.
    keygen(&fleet.path("other_key"));
    let other = fs::read_to_string(fleet.path("other_key.pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    fs::write(
        fleet.path("known_hosts"),
        format!("[127.0.0.2]:{} {}\n", fleet.port, other.join(" ")),
    )
    .unwrap();
    let other_fp = fingerprint(&fleet.path("other_key.pub"));
    let t = Stepwise::new();
    t.file("inventory.yaml", &fleet.inventory(""));
    let (code, lines) = check_line(t);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        format!(
            "    blocking  restart@WEB01: host WEB01 over SSH: the host key of WEB01 ({at}) has changed: ssh-ed25519 {other_fp} is pinned, ssh-ed25519 {fp} is offered; it may not be WEB01: if WEB01 was reinstalled, remove its line from {} and pin the new key",
            fleet.path("known_hosts").display()
        )
    );

    // A key the server does not know: authentication fails.
    fleet.pin_all();
    let t = Stepwise::new();
    t.file(
        "inventory.yaml",
        &fleet.inventory("").replace("client_key", "other_key"),
    );
    let (code, lines) = check_line(t);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        format!(
            "    blocking  restart@WEB01: host WEB01 over SSH: WEB01 refused authentication as root with the key {}",
            fleet.path("other_key").display()
        )
    );

    // Nobody listens: refused.
    fleet.down("WEB01");
    let t = Stepwise::new();
    t.file("inventory.yaml", &fleet.inventory(""));
    let (code, lines) = check_line(t);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!(
                "    blocking  restart@WEB01: host WEB01 over SSH: cannot connect to WEB01 ({at}): Connection refused"
            ),
            to_do.to_string()
        ]
    );
}

#[test]
fn an_unknown_host_key_is_pinned_only_by_an_explicit_answer_and_journaled() {
    let fleet = Fleet::start(&["WEB01"]);
    fs::write(fleet.path("known_hosts"), "").unwrap();
    let fp = fleet.fingerprint("WEB01");
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: mark, title: Mark, on: web, action: {{ type: command, program: sh, args: [-c, 'echo marked > {HOST_ROOT}/mark; echo failing; exit 4'] }} }}\n"
            ),
        ),
        &fleet.inventory(""),
        &format!(
            "confirm: true\ndefault: done\nhost_keys: {{ WEB01: \"{fp}\" }}\nsteps:\n  mark@WEB01: {{ on_failure: skip-host, note: it fails on purpose }}\n"
        ),
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    let pinned = fs::read_to_string(fleet.path("known_hosts")).unwrap();
    assert!(
        pinned.starts_with(&format!("[127.0.0.2]:{} ssh-ed25519 ", fleet.port)),
        "{pinned}\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(fleet.host("WEB01").tree.join("mark")).unwrap(),
        "marked\n"
    );
    assert!(
        out.stdout
            .contains("✗ mark@WEB01 failed: sh -c \"echo marked > /tmp/stepwise-ssh-host/mark; echo failing; exit 4\" (on WEB01) exited with 4; success is 0"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("     | failing"), "{}", out.stdout);
    let journal = journal(t.dir());
    assert!(
        journal.contains(&format!(
            "host key of WEB01 (127.0.0.2:{}) accepted and pinned in {}: ssh-ed25519 {fp}",
            fleet.port,
            fleet.path("known_hosts").display()
        )),
        "{journal}"
    );
}

#[test]
fn the_journal_and_log_name_the_target_an_instance_was_dispatched_to() {
    let fleet = Fleet::start(&["WEB01"]);
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            "      - { id: hello, title: Hello, on: web, action: { type: command, program: echo, args: [hello] } }\n",
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let log = std::process::Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["log", "--state-dir", "runs"])
        .current_dir(t.dir())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains(&format!(
            "hello@WEB01: started on ssh 127.0.0.2:{}",
            fleet.port
        )),
        "{log}"
    );
    let output = fs::read_dir(t.dir().join("runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path()
        .join("output/hello@WEB01.log");
    assert_eq!(
        fs::read_to_string(output).unwrap(),
        "$ echo hello (on WEB01)\nhello\n"
    );
}

#[test]
fn check_findings_on_a_host_are_exact_and_leave_its_tree_as_it_was() {
    let fleet = Fleet::start(&["WEB01"]);
    let tree = &fleet.host("WEB01").tree;
    fs::write(tree.join("sized"), "abc").unwrap();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &book(
            &[("web", "WEB01")],
            &format!("      - id: verify\n        title: Verify\n        on: web\n        action:\n          type: check\n          checks:\n            - exists: '{HOST_ROOT}/missing.msi'\n            - exists: '{HOST_ROOT}/sized'\n              size: 5\n            - writable: '{HOST_ROOT}/readonly'\n            - writable: '{HOST_ROOT}'\n"),
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    let out = t.args(CHECK_BOOK).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Findings"))
        .filter(|l| l.contains("verify@WEB01") || l.trim_start().starts_with("to do"))
        .collect();
    assert_eq!(
        lines,
        [
            format!(
                "    warning   verify@WEB01: {HOST_ROOT}/missing.msi exists on WEB01: does not exist"
            ),
            format!("              to do: Create or restore {HOST_ROOT}/missing.msi on WEB01"),
            format!(
                "    warning   verify@WEB01: {HOST_ROOT}/sized exists on WEB01 with 5 bytes: has 3 bytes"
            ),
            format!("              to do: Put the right file at {HOST_ROOT}/sized on WEB01"),
            format!(
                "    blocking  verify@WEB01: folder {HOST_ROOT}/readonly on WEB01: is not writable: permission denied"
            ),
            format!("              to do: Give root write access to {HOST_ROOT}/readonly on WEB01"),
            format!(
                "    ok        verify@WEB01: folder {HOST_ROOT} on WEB01: exists and is writable"
            ),
        ]
    );
    assert_eq!(fleet.trees(), ["WEB01: sized"]);
}

#[test]
fn write_file_on_a_host_goes_through_a_temporary_name_and_backs_up_what_it_replaces() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    for h in ["WEB01", "WEB02"] {
        fs::create_dir(fleet.host(h).tree.join("conf")).unwrap();
    }
    fs::write(fleet.host("WEB02").tree.join("conf/App.config"), "old\n").unwrap();
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01, WEB02")],
            &format!(
                "      - id: config\n        title: Config\n        on: web\n        action: {{ type: write_file, dir: '{HOST_ROOT}/conf', file: App.config, content: \"<site host='{{{{ host }}}}'/>\\n\" }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for h in ["WEB01", "WEB02"] {
        assert_eq!(
            fs::read_to_string(fleet.host(h).tree.join("conf/App.config")).unwrap(),
            format!("<site host='{h}'/>\n")
        );
    }
    assert_eq!(
        fleet.trees(),
        [
            "WEB01: conf",
            "WEB01: conf/App.config",
            "WEB02: conf",
            "WEB02: conf/App.config"
        ],
        "no temporary file is left"
    );
    let run = fs::read_dir(t.dir().join("runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    assert_eq!(
        fs::read_to_string(run.join("backup/config@WEB02/App.config")).unwrap(),
        "old\n"
    );
    assert!(!run.join("backup/config@WEB01").exists());
    assert!(
        out.stdout
            .contains(&format!("✓ wrote {HOST_ROOT}/conf/App.config on WEB01")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_command_past_its_timeout_on_a_host_is_in_doubt_with_what_it_printed() {
    let fleet = Fleet::start(&["WEB01"]);
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            "      - { id: slow, title: Slow, on: web, action: { type: command, program: sh, args: [-c, 'echo waiting; sleep 60'], timeout: 5 } }\n",
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  slow@WEB01: { in_doubt: skip, note: too slow }\n",
    );
    let t = t.args(RUN_BOOK);
    let started = Instant::now();
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(started.elapsed() < Duration::from_secs(40));
    assert!(
        out.stdout.contains(
            "✗ The outcome of `slow@WEB01` on WEB01 is unknown.\n     (sh -c \"echo waiting; sleep 60\" (on WEB01) did not finish within 5 seconds; its channel was closed, but it may still be running on WEB01)"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("     | waiting"), "{}", out.stdout);
}

/// A `check` step's `command` assertion runs on the host during the walk (the dry-run only
/// looks its program up): it holds where it exits 0 and fails where it does not.
#[test]
fn a_command_assertion_of_a_check_step_runs_on_each_host_and_decides() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    fs::write(fleet.host("WEB01").tree.join("ok"), "").unwrap();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01, WEB02] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: verify, title: Verify, on: web, action: {{ type: check, checks: [{{ command: {{ program: sh, args: [-c, 'echo checked >> {HOST_ROOT}/checked; test -e {HOST_ROOT}/ok'] }} }}] }} }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nsteps:\n  verify@WEB02: { on_failure: skip-host, note: WEB02 is not ready }\n",
    );
    // The dry-run runs nothing.
    let check = Stepwise::new()
        .current_dir(t.dir())
        .args(["check", "book.yaml", "--inventory", "inventory.yaml"])
        .run();
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(!fleet.host("WEB01").tree.join("checked").exists());
    let out = Stepwise::new()
        .current_dir(t.dir())
        .args(crate::fleet::RUN_BOOK)
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for h in ["WEB01", "WEB02"] {
        assert_eq!(
            fs::read_to_string(fleet.host(h).tree.join("checked")).unwrap(),
            "checked\n",
            "the assertion ran once on {h}"
        );
    }
    assert!(
        out.stdout.contains(&format!(
            "✗ verify@WEB02 failed: sh -c \"echo checked >> {HOST_ROOT}/checked; test -e {HOST_ROOT}/ok\" (on WEB02) exited with 1; success is 0"
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("✗ verify@WEB01"), "{}", out.stdout);
}
