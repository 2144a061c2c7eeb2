//! The journal never claims more than is known when an action ends: not "failed" for an outcome
//! that is unknown (a request sent to a host that may still carry it out), not "done" for
//! something that did not run, not "failed" with "unchanged" where something changed. Each test
//! drives the real binary against real OpenSSH servers ([`crate::fleet::Fleet`]), stalls or
//! cuts the host at the moment that matters, and compares the journal with what the host's tree
//! shows afterwards.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::common::Stepwise;
use crate::fleet::{Fleet, HOST_ROOT, RUN_BOOK, journal, wait_secs};

/// The kinds of the journal's events for one instance key, in order (with `resolution`, `how`).
fn kinds(dir: &Path, key: &str) -> Vec<String> {
    journal(dir)
        .lines()
        .filter(|l| l.contains(&format!("\"key\":\"{key}\"")))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut s = v["kind"].as_str().unwrap().to_string();
            for field in ["resolution", "how"] {
                if let Some(x) = v.get(field) {
                    s.push_str(&format!(" {field}={}", x.to_string().trim_matches('"')));
                }
            }
            s
        })
        .collect()
}

/// What every "unknown, not failed" case shares: the run ends (exit 0) having said `said`; the
/// instance `key` was never recorded as failed (`what` says why that would be wrong); it was
/// journaled as started, then noted as unknown. Its events, for what each case adds.
fn said_unknown_not_failed(
    t: &Stepwise,
    out: &crate::common::Output,
    key: &str,
    said: &str,
    what: &str,
) -> Vec<String> {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(said), "{}", out.stdout);
    let events = kinds(t.dir(), key);
    assert!(
        !events.iter().any(|e| e.starts_with("instance_failed")),
        "recorded as failed while {what}: {events:?}"
    );
    assert_eq!(
        events[..2],
        ["instance_started", "note_added"],
        "{events:?}"
    );
    events
}

/// Sends `signal` to every session process of a host's SSH server (not its listener).
fn signal_sessions(fleet: &Fleet, name: &str, signal: rustix::process::Signal) {
    let pid = fleet.host(name).sshd.as_ref().unwrap().id();
    for p in crate::ssh_failures::descendants(pid) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(p as i32).unwrap(),
            signal,
        );
    }
}

/// A one-step runbook: a `write_file` of `new` over `conf/App.config` on WEB01.
fn write_file_book(t: &Stepwise, fleet: &Fleet) {
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - id: config\n        title: Config\n        on: web\n        action: {{ type: write_file, dir: '{HOST_ROOT}/conf', file: App.config, content: \"new\\n\" }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
}

/// Runs `t` with the host stalled at `stage` of its action (`STEPWISE_TEST_HOLD`): the host's
/// sessions are stopped at that moment, and let go again once the journal holds `until`.
fn run_stalled(
    t: Stepwise,
    fleet: &Fleet,
    stage: &str,
    until: &str,
) -> (Stepwise, crate::common::Output) {
    let hold = t.dir().join("hold");
    let t = t
        .env("STEPWISE_TEST_HOLD", &format!("{stage}:{}", hold.display()))
        .args(RUN_BOOK);
    let out = std::thread::scope(|scope| {
        let running = scope.spawn(|| t.run());
        wait_secs("the action to reach its stage", 60, || {
            hold.exists() || running.is_finished()
        });
        signal_sessions(fleet, "WEB01", rustix::process::Signal::STOP);
        fs::remove_file(&hold).unwrap();
        wait_secs(until, 60, || {
            journal(t.dir()).contains(until) || running.is_finished()
        });
        signal_sessions(fleet, "WEB01", rustix::process::Signal::CONT);
        running.join().unwrap()
    });
    (t, out)
}

#[test]
fn a_move_into_place_that_gets_no_answer_is_in_doubt_not_failed() {
    let fleet = Fleet::start(&["WEB01"]);
    let web01 = fleet.host("WEB01").tree.clone();
    fs::create_dir(web01.join("conf")).unwrap();
    fs::write(web01.join("conf/App.config"), "old\n").unwrap();
    let t = Stepwise::new();
    write_file_book(&t, &fleet);
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\non_failure: pause\n",
    );
    // The host stops answering as the move is sent; it is let go once stepwise has said what it
    // knows, and then carries the move out: the outcome was unknown, not a failure.
    let (t, out) = run_stalled(t, &fleet, "move", "on WEB01 is unknown");
    // Said and journaled as unknown, then answered from what the host shows.
    let events = said_unknown_not_failed(
        &t,
        &out,
        "config@WEB01",
        &format!(
            "   ✗ The outcome of `config@WEB01` on WEB01 is unknown.\n     (the move of {HOST_ROOT}/conf/.App.config.stepwise-part to {HOST_ROOT}/conf/App.config was sent to WEB01 and got no answer (no answer within 10 s): whether {HOST_ROOT}/conf/App.config was replaced is unknown)\n"
        ),
        "the move may have happened",
    );
    assert!(
        events.iter().any(|e| e.starts_with("in_doubt_resolved")),
        "{events:?}"
    );
    // Either the host carried the move out once it answered again (the survey finds the file in
    // place), or not yet (the survey finds the old one, and the write is run again).
    assert!(
        [
            "in_doubt_resolved resolution=done how=automated",
            "instance_done how=automated"
        ]
        .contains(&events.last().unwrap().as_str()),
        "{events:?}"
    );
    assert_eq!(
        fs::read_to_string(web01.join("conf/App.config")).unwrap(),
        "new\n"
    );
    assert!(!web01.join("conf/.App.config.stepwise-part").exists());
}

#[test]
fn a_write_that_gets_no_answer_before_the_move_fails_and_says_the_file_is_unchanged() {
    let fleet = Fleet::start(&["WEB01"]);
    let web01 = fleet.host("WEB01").tree.clone();
    fs::create_dir(web01.join("conf")).unwrap();
    fs::write(web01.join("conf/App.config"), "old\n").unwrap();
    let t = Stepwise::new();
    write_file_book(&t, &fleet);
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\non_failure: pause\n",
    );
    let (t, out) = run_stalled(t, &fleet, "write", "instance_failed");
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   ✗ config@WEB01 failed: cannot write {HOST_ROOT}/conf/.App.config.stepwise-part on WEB01: Timeout; {HOST_ROOT}/conf/App.config on WEB01 is unchanged\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        kinds(t.dir(), "config@WEB01"),
        ["instance_started", "instance_failed"]
    );
    // What the failure says holds once the host has caught up with what was sent.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        fs::read_to_string(web01.join("conf/App.config")).unwrap(),
        "old\n"
    );
}

/// OpenSSH does not stop a command without a terminal when its channel is closed (nor on the
/// kill signal request): a command given up on at its timeout may go on and change the host, so
/// it is in doubt, never failed.
#[test]
fn a_command_past_its_timeout_on_a_host_is_in_doubt_since_it_may_go_on_there() {
    let fleet = Fleet::start(&["WEB01"]);
    let web01 = fleet.host("WEB01").tree.clone();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo begun; sleep 6; echo late > {HOST_ROOT}/late'], timeout: 2 }} }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\non_failure: skip-host\nin_doubt: pause\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   ✗ The outcome of `slow@WEB01` on WEB01 is unknown.\n     (sh -c \"echo begun; sleep 6; echo late > {HOST_ROOT}/late\" (on WEB01) did not finish within 2 seconds; its channel was closed, but it may still be running on WEB01)\n   Last lines of output:\n     | begun\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("   No exit of the command came back from WEB01 (its connection ended, or it ran past its timeout): stepwise cannot know whether it finished (it may have, or may still be running there). What it printed is in output/slow@WEB01.log.\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        kinds(t.dir(), "slow@WEB01"),
        ["instance_started", "action_output", "note_added"],
        "in doubt, neither failed nor done"
    );
    // And rightly so: it went on after stepwise gave up on it.
    wait_secs("the command to go on on WEB01", 30, || {
        web01.join("late").exists()
    });
}

#[test]
fn a_copy_whose_move_into_place_gets_no_answer_is_in_doubt_not_failed() {
    let fleet = Fleet::start(&["WEB01"]);
    let web01 = fleet.host("WEB01").tree.clone();
    fs::create_dir(web01.join("share")).unwrap();
    fs::write(web01.join("share/A.msi"), "old A\n").unwrap();
    let t = Stepwise::new();
    let pkg = t.dir().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join("A.msi"), "new A\n").unwrap();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: msis, title: MSIs, on: web, action: {{ type: copy, from: '{}', to: '{HOST_ROOT}/share', files: [A.msi] }} }}\n",
            pkg.display()
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\non_failure: pause\n",
    );
    let (t, out) = run_stalled(t, &fleet, "move", "on WEB01 is unknown");
    let events = said_unknown_not_failed(
        &t,
        &out,
        "msis@WEB01",
        &format!(
            "   ✗ The outcome of `msis@WEB01` on WEB01 is unknown.\n     (the move of {HOST_ROOT}/share/.A.msi.stepwise-part to {HOST_ROOT}/share/A.msi was sent to WEB01 and got no answer (no answer within 10 s): whether {HOST_ROOT}/share/A.msi was replaced is unknown)\n"
        ),
        "the move may have happened",
    );
    assert!(
        [
            "in_doubt_resolved resolution=done how=automated",
            "instance_done how=automated"
        ]
        .contains(&events.last().unwrap().as_str()),
        "{events:?}"
    );
    assert_eq!(
        fs::read_to_string(web01.join("share/A.msi")).unwrap(),
        "new A\n"
    );
    assert!(!web01.join("share/.A.msi.stepwise-part").exists());
}

/// A host's thread of a parallel step that stops on an internal error (a panic) has an unknown
/// outcome: the walk does not wait forever for its result, nor call it failed or done.
#[test]
fn a_parallel_host_whose_action_stops_on_an_internal_error_is_in_doubt_and_the_walk_goes_on() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01, WEB02] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - id: config\n        title: Config\n        on: web\n        parallel: 2\n        action: {{ type: write_file, dir: '{HOST_ROOT}', file: App.config, content: \"new\\n\" }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\non_failure: pause\nin_doubt: pause\n",
    );
    let t = t.env("STEPWISE_TEST_HOLD", "write:!panic").args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    for h in ["WEB01", "WEB02"] {
        assert!(
            out.stdout.contains(&format!(
                "   ✗ {h}: outcome unknown: the action on {h} stopped on an internal error (STEPWISE_TEST_HOLD asked for a panic at write) before its end was known\n"
            )),
            "{}",
            out.stdout
        );
        let events = kinds(t.dir(), &format!("config@{h}"));
        assert!(
            !events
                .iter()
                .any(|e| e.starts_with("instance_failed") || e.starts_with("instance_done")),
            "{events:?}"
        );
        assert_eq!(events[0], "instance_started", "{events:?}");
    }
    assert!(
        out.stdout
            .contains("   ✗ The outcome of `config@WEB01` on WEB01 is unknown.\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_folder_asked_for_without_an_answer_is_in_doubt_not_failed() {
    let fleet = Fleet::start(&["WEB01"]);
    let web01 = fleet.host("WEB01").tree.clone();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: share, title: Share, on: web, action: {{ type: create_folder, path: '{HOST_ROOT}/share' }} }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\non_failure: pause\n",
    );
    let (t, out) = run_stalled(t, &fleet, "mkdir", "on WEB01 is unknown");
    said_unknown_not_failed(
        &t,
        &out,
        "share@WEB01",
        &format!(
            "   ✗ The outcome of `share@WEB01` on WEB01 is unknown.\n     (the creation of {HOST_ROOT}/share was sent to WEB01 and got no answer (no answer within 10 s): whether it was made is unknown)\n"
        ),
        "the folder may have been made",
    );
    assert!(web01.join("share").is_dir());
}

/// A parallel step whose connection to one host drops while it writes there: that host's
/// outcome is unknown (as on the one-host path), while the other host finishes.
#[test]
fn a_parallel_host_whose_connection_drops_mid_write_is_in_doubt_not_failed() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01, WEB02] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - id: config\n        title: Config\n        on: web\n        parallel: 2\n        action: {{ type: write_file, dir: '{HOST_ROOT}', file: App.config, content: \"new\\n\" }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\non_failure: pause\nin_doubt: pause\n",
    );
    let hold = t.dir().join("hold");
    let t = t
        .env("STEPWISE_TEST_HOLD", &format!("write:{}", hold.display()))
        .args(RUN_BOOK);
    let out = std::thread::scope(|scope| {
        let running = scope.spawn(|| t.run());
        wait_secs("the hosts to reach their write", 60, || {
            hold.exists() || running.is_finished()
        });
        // Both threads wait on the same file; give the second a moment to reach it too.
        std::thread::sleep(Duration::from_millis(500));
        crate::ssh_failures::kill_host(&mut fleet, "WEB01");
        fs::remove_file(&hold).unwrap();
        running.join().unwrap()
    });
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("   ✗ WEB01: outcome unknown: "),
        "{}",
        out.stdout
    );
    let web01 = kinds(t.dir(), "config@WEB01");
    assert!(
        !web01.iter().any(|e| e.starts_with("instance_failed")),
        "{web01:?}"
    );
    assert_eq!(
        kinds(t.dir(), "config@WEB02"),
        ["instance_started", "instance_done how=automated"]
    );
    assert_eq!(
        fs::read_to_string(fleet.host("WEB02").tree.join("App.config")).unwrap(),
        "new\n"
    );
}
