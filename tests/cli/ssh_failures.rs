//! What happens when a host's SSH connection fails, before or during an action, against real
//! OpenSSH servers started by [`crate::fleet::Fleet`]: the exact message of each failure, and
//! that nothing is lost. An action whose connection dropped while it ran has an unknown outcome:
//! it is never recorded as done or failed, `resume` looks again on the host (read-only) and says
//! what it finds before it asks, and a host still unreachable keeps it in doubt.

use std::fs;
use std::time::Duration;

use crate::common::Stepwise;
use crate::fleet::{
    Fleet, HOST_ROOT, book, journal, prepare, run_dir, run_while, stepwise, wait_for,
};

/// Every process below `pid` (children, their children, …), read from `/proc`.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `PID (COMM) STATE PPID …`: the command may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            parent_of.push((p, ppid));
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for &(child, parent) in &parent_of {
            if parent == p && !out.contains(&child) {
                out.push(child);
                todo.push(child);
            }
        }
    }
    out
}

/// Kills a host's SSH server and every session it serves (and what they run) at once, as a
/// crashed server or a host that lost power would: the connections drop mid-action.
pub(crate) fn kill_host(fleet: &mut Fleet, name: &str) {
    let pid = fleet.host(name).sshd.as_ref().unwrap().id();
    let below = descendants(pid);
    fleet.down(name);
    for p in below {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(p as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
    }
}

/// The `kind` and `key` of every instance event of the journal, in order.
fn instance_events(t: &Stepwise, key: &str) -> Vec<String> {
    journal(t.dir())
        .lines()
        .filter(|l| l.contains(&format!("\"key\":\"{key}\"")))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut s = v["kind"].as_str().unwrap().to_string();
            for field in ["target", "resolution", "how", "exit_code"] {
                if let Some(x) = v.get(field) {
                    s.push_str(&format!(" {field}={}", x.to_string().trim_matches('"')));
                }
            }
            s
        })
        .collect()
}

const RUN: [&str; 10] = crate::fleet::RUN_BOOK;

/// A runbook whose first step, on WEB02 (role `gate`), leaves `waiting` in WEB02's tree and
/// goes on once the test writes `go` there; then `steps` (on WEB01, role `web`): what holds a
/// run before the step the test is about.
fn gated_book(steps: &str) -> String {
    book(
        &[("gate", "WEB02"), ("web", "WEB01")],
        &format!(
            "      - {{ id: wait, title: Wait, on: gate, action: {{ type: command, program: sh, args: [-c, 'touch {HOST_ROOT}/waiting; while ! test -e {HOST_ROOT}/go; do sleep 0.1; done'] }} }}\n{steps}"
        ),
    )
}

/// A step on WEB01 (role `web`) that writes `marked` to `mark` in WEB01's tree.
fn mark_step() -> String {
    format!(
        "      - {{ id: mark, title: Mark, on: web, action: {{ type: command, program: sh, args: [-c, 'echo marked > {HOST_ROOT}/mark'] }} }}\n"
    )
}

const RESUME: [&str; 7] = crate::fleet::RESUME_BOOK;

/// Runs `run` (a whole command line) and kills WEB01's server, and every session it serves,
/// once the command of the step on WEB01 has begun (has written `runs` in WEB01's tree).
fn run_and_drop(run: &Stepwise, fleet: &mut Fleet) -> crate::common::Output {
    let tree = fleet.host("WEB01").tree.clone();
    run_while(run, |finished| {
        wait_for("the command to start on WEB01", || {
            tree.join("runs").exists() || finished()
        });
        std::thread::sleep(Duration::from_millis(300));
        kill_host(fleet, "WEB01");
    })
}

#[test]
fn a_command_cut_by_a_dropped_connection_stays_in_doubt_until_the_host_answers_again() {
    let mut fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo run >> {HOST_ROOT}/runs; echo begun; test -e {HOST_ROOT}/quick || sleep 30'] }} }}\n      - {{ id: after, title: After, on: web, action: {{ type: command, program: sh, args: [-c, 'echo after > {HOST_ROOT}/after'] }} }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let t = t.args(RUN);
    let out = run_and_drop(&t, &mut fleet);
    let at = format!("127.0.0.2:{}", fleet.port);
    // The drop is said as what it is, the host is looked at again, and nothing is guessed.
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "   ✗ The connection to WEB01 dropped while `slow@WEB01` ran: its outcome is unknown.\n     (lost the connection to WEB01 while sh -c \"echo run >> /tmp/stepwise-ssh-host/runs; echo begun; test -e /tmp/stepwise-ssh-host/quick || sleep 30\" (on WEB01) ran (the connection ended before the command's exit was known); whether it finished is unknown)\n   Last lines of output:\n     | begun\n"
        ),
        "{}",
        out.stdout
    );
    let unreachable = format!(
        "   WEB01 cannot be reached now: cannot connect to WEB01 ({at}): Connection refused.\n   What the action left on WEB01 cannot be looked at, so nothing is guessed: `slow@WEB01` stays in doubt until WEB01 answers.\n   No exit of the command came back from WEB01 (its connection ended, or it ran past its timeout): stepwise cannot know whether it finished (it may have, or may still be running there). What it printed is in output/slow@WEB01.log.\n"
    );
    assert!(out.stdout.contains(&unreachable), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "WEB01 cannot be reached (cannot connect to WEB01 ({at}): Connection refused); `slow@WEB01` stays in doubt: resume once WEB01 answers (answers file a.yaml)"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        instance_events(&t, "slow@WEB01"),
        [
            format!("instance_started target=ssh {at}"),
            "action_output".to_string(),
            "note_added".to_string(),
        ],
        "neither done nor failed"
    );

    // Resumed while WEB01 is still down: its checks are blocking, naming it, and nothing changes.
    let before = journal(t.dir());
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "  blocking slow@WEB01: host WEB01 over SSH: cannot connect to WEB01 ({at}): Connection refused\n"
        )),
        "{}",
        out.stdout
    );
    assert!(journal(t.dir()).starts_with(&before));

    // Gone on despite them: the walk says WEB01 cannot be reached, and it stays in doubt.
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\noverride_checks: WEB01 is being restarted\n",
    );
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&unreachable), "{}", out.stdout);
    let events = instance_events(&t, "slow@WEB01");
    assert!(
        !events.iter().any(|e| e.starts_with("instance_done")
            || e.starts_with("instance_failed")
            || e.starts_with("in_doubt_resolved")),
        "{events:?}"
    );

    // WEB01 answers again: the re-check says what it can, and the run finishes.
    fleet.up(0);
    fs::write(tree.join("quick"), "").unwrap();
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("   No exit of the command came back from WEB01 (its connection ended, or it ran past its timeout): stepwise cannot know whether it finished (it may have, or may still be running there). What it printed is in output/slow@WEB01.log.\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("cannot be reached"), "{}", out.stdout);
    assert_eq!(
        instance_events(&t, "slow@WEB01")[3..],
        [
            "in_doubt_resolved resolution=not_done".to_string(),
            format!("instance_started target=ssh {at}"),
            "action_output exit_code=0".to_string(),
            "instance_done how=automated".to_string(),
        ]
    );
    assert_eq!(fs::read_to_string(tree.join("runs")).unwrap(), "run\nrun\n");
    assert_eq!(fs::read_to_string(tree.join("after")).unwrap(), "after\n");

    // The as-run record names the target each action ran on, in every format.
    let run = run_dir(t.dir());
    let run = run.to_str().unwrap();
    for format in ["text", "md", "html"] {
        let out = stepwise(
            t.dir(),
            &["checklist", "book.yaml", "--run", run, "--format", format],
        );
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        let done = format!("done (by automation) on ssh {at} by alice at ");
        assert_eq!(
            out.stdout.matches(&done).count(),
            2,
            "{format}:\n{}",
            out.stdout
        );
        if format == "html" {
            let shown = format!("<div class=\"note\">done by automation on ssh {at}</div>");
            assert_eq!(out.stdout.matches(&shown).count(), 2, "{}", out.stdout);
        }
    }
}

/// Stops (SIGSTOP) every session of a host's SSH server: what was sent to it gets no answer.
pub(crate) fn freeze_sessions(fleet: &Fleet, name: &str) {
    let pid = fleet.host(name).sshd.as_ref().unwrap().id();
    for p in descendants(pid) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(p as i32).unwrap(),
            rustix::process::Signal::STOP,
        );
    }
}

#[test]
fn a_write_file_cut_by_a_dropped_connection_is_looked_at_again_on_the_host_and_finished() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let web01 = fleet.host("WEB01").tree.clone();
    let web02 = fleet.host("WEB02").tree.clone();
    fs::create_dir(web01.join("conf")).unwrap();
    fs::write(web01.join("conf/App.config"), "old\n").unwrap();
    let t = Stepwise::new();
    prepare(
        &t,
        &gated_book(&format!(
            "      - id: config\n        title: Config\n        on: web\n        action: {{ type: write_file, dir: '{HOST_ROOT}/conf', file: App.config, content: \"new\\n\" }}\n"
        )),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let t = t.args(RUN);
    let out = run_while(&t, |finished| {
        wait_for("the first step to run on WEB02", || {
            web02.join("waiting").exists() || finished()
        });
        // WEB01's server stops answering, then the walk reaches its write_file: dispatched,
        // and what was sent gets no answer until the server is killed.
        freeze_sessions(&fleet, "WEB01");
        fs::write(web02.join("go"), "").unwrap();
        wait_for("config@WEB01 to be dispatched", || {
            finished()
                || fs::read_dir(t.dir().join("runs")).is_ok_and(|d| {
                    d.flatten().any(|e| {
                        fs::read_to_string(e.path().join("journal.jsonl")).is_ok_and(|j| {
                            j.contains("\"kind\":\"instance_started\",\"key\":\"config@WEB01\"")
                        })
                    })
                })
        });
        std::thread::sleep(Duration::from_millis(300));
        kill_host(&mut fleet, "WEB01");
    });
    let at = format!("127.0.0.2:{}", fleet.port);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "   ✗ The connection to WEB01 dropped while `config@WEB01` ran: its outcome is unknown.\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "   WEB01 cannot be reached now: cannot connect to WEB01 ({at}): Connection refused.\n   What the action left on WEB01 cannot be looked at, so nothing is guessed: `config@WEB01` stays in doubt until WEB01 answers.\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        instance_events(&t, "config@WEB01"),
        [
            format!("instance_started target=ssh {at}"),
            "note_added".to_string()
        ],
        "neither done nor failed"
    );

    // WEB01 is back: resume looks at the file on WEB01 and writes it again. (The temporary file
    // is what a write cut after its first bytes leaves: it is named, and replaced.)
    fleet.up(0);
    fs::write(web01.join("conf/.App.config.stepwise-part"), "ne").unwrap();
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   It was interrupted. What the files look like now: 0 of 1 file in place in {HOST_ROOT}/conf on WEB01\n     App.config  old version (does not hold the content: not written yet); partial temporary file .App.config.stepwise-part beside it\n   Not every file is in place: the evidence says it did not complete.\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("   ✓ wrote {HOST_ROOT}/conf/App.config on WEB01")),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read_to_string(web01.join("conf/App.config")).unwrap(),
        "new\n"
    );
    assert_eq!(
        fleet.trees(),
        [
            "WEB01: conf",
            "WEB01: conf/App.config",
            "WEB02: go",
            "WEB02: waiting"
        ]
    );
    assert_eq!(
        instance_events(&t, "config@WEB01")[2..],
        [
            "in_doubt_resolved resolution=not_done".to_string(),
            format!("instance_started target=ssh {at}"),
            "instance_done how=automated".to_string(),
        ]
    );
}

/// `stepwise run` of one command step on WEB01 with the given inventory and answers: its exit
/// code, the blocking lines of its dry-run checks, and whether anything was dispatched.
fn run_blocked(t: &Stepwise, inventory: &str, answers: &str) -> (i32, Vec<String>, bool) {
    prepare(
        t,
        &book(&[("web", "WEB01")], &mark_step()),
        inventory,
        answers,
    );
    let out = stepwise(t.dir(), &RUN);
    let lines = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("blocking"))
        .map(str::to_string)
        .collect();
    (
        out.code,
        lines,
        journal(t.dir()).contains("instance_started"),
    )
}

#[test]
fn a_run_says_exactly_why_a_host_cannot_be_used_and_sends_it_nothing() {
    let fleet = Fleet::start(&["WEB01"]);
    let at = format!("127.0.0.2:{}", fleet.port);
    let answers = "confirm: true\ndefault: done\n";

    // A host whose SSH server accepts the connection and never answers.
    let silent = std::net::TcpListener::bind(("127.0.0.9", fleet.port)).unwrap();
    let t = Stepwise::new();
    let inventory = fleet
        .inventory("")
        .replace("connect_timeout: 5", "connect_timeout: 1")
        .replace("address: 127.0.0.2", "address: 127.0.0.9");
    assert_eq!(
        run_blocked(&t, &inventory, answers),
        (
            1,
            vec![format!(
                "  blocking mark@WEB01: host WEB01 over SSH: cannot connect to WEB01 (127.0.0.9:{}): no answer within 1 s",
                fleet.port
            )],
            false
        )
    );
    drop(silent);

    // A user the host does not have: authentication fails.
    let t = Stepwise::new();
    let inventory = fleet
        .inventory("")
        .replace("user: root", "user: nobody-here");
    assert_eq!(
        run_blocked(&t, &inventory, answers),
        (
            1,
            vec![format!(
                "  blocking mark@WEB01: host WEB01 over SSH: WEB01 refused authentication as nobody-here with the key {}",
                fleet.path("client_key").display()
            )],
            false
        )
    );

    // A key that is not pinned, and no answer to trust it: refused, and nothing pinned.
    fs::write(fleet.path("known_hosts"), "").unwrap();
    let fp = fleet.fingerprint("WEB01");
    let t = Stepwise::new();
    assert_eq!(
        run_blocked(&t, &fleet.inventory(""), answers),
        (
            1,
            vec![format!(
                "  blocking mark@WEB01: host WEB01 over SSH: WEB01 ({at}) offers a host key that is not pinned: ssh-ed25519 {fp}; check that it is WEB01's, then accept it at the terminal or pin it with `host_keys: {{ WEB01: \"{fp}\" }}` in the answers file"
            )],
            false
        )
    );
    assert_eq!(fs::read_to_string(fleet.path("known_hosts")).unwrap(), "");
    assert_eq!(fleet.trees(), Vec::<String>::new(), "nothing ran on WEB01");
}

#[test]
fn a_host_down_when_its_step_comes_fails_that_step_with_nothing_sent_and_resume_runs_it() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let web02 = fleet.host("WEB02").tree.clone();
    let t = Stepwise::new();
    prepare(
        &t,
        &gated_book(&mark_step()),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  mark@WEB01: { on_failure: pause }\n",
    );
    let t = t.args(RUN);
    let out = run_while(&t, |finished| {
        wait_for("the first step to run on WEB02", || {
            web02.join("waiting").exists() || finished()
        });
        kill_host(&mut fleet, "WEB01");
        fs::write(web02.join("go"), "").unwrap();
    });
    let at = format!("127.0.0.2:{}", fleet.port);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   ✗ mark@WEB01 failed: cannot connect to WEB01 ({at}): Connection refused\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        instance_events(&t, "mark@WEB01"),
        [
            format!("instance_started target=ssh {at}"),
            "instance_failed".to_string()
        ]
    );
    assert!(!fleet.host("WEB01").tree.join("mark").exists());

    fleet.up(0);
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        fs::read_to_string(fleet.host("WEB01").tree.join("mark")).unwrap(),
        "marked\n"
    );
}

#[test]
fn after_a_crash_during_a_command_on_a_host_resume_says_its_outcome_cannot_be_known() {
    let fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo run >> {HOST_ROOT}/runs; while ! test -e {HOST_ROOT}/quick; do sleep 0.1; done'] }} }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let mut child = crate::common::stepwise_command()
        .args(RUN)
        .current_dir(t.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the command to start on WEB01", || {
        tree.join("runs").exists() || child.try_wait().ok().flatten().is_some()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // What the host runs is let go (it may still run after stepwise died).
    fs::write(tree.join("quick"), "").unwrap();
    let at = format!("127.0.0.2:{}", fleet.port);
    assert_eq!(
        instance_events(&t, "slow@WEB01"),
        [format!("instance_started target=ssh {at}")]
    );
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("   No exit of the command came back from WEB01 (its connection ended, or it ran past its timeout): stepwise cannot know whether it finished (it may have, or may still be running there).\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        instance_events(&t, "slow@WEB01")[1..],
        [
            "in_doubt_resolved resolution=not_done".to_string(),
            format!("instance_started target=ssh {at}"),
            "action_output exit_code=0".to_string(),
            "instance_done how=automated".to_string(),
        ]
    );
    assert_eq!(fs::read_to_string(tree.join("runs")).unwrap(), "run\nrun\n");
}

#[test]
fn a_step_whose_host_dropped_can_be_settled_by_hand_with_a_note_while_the_host_is_down() {
    let mut fleet = Fleet::start(&["WEB01"]);
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo run >> {HOST_ROOT}/runs; sleep 30'] }} }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  slow@WEB01: { in_doubt: done, note: \"the console of WEB01 shows it finished\" }\n",
    );
    let t = t.args(RUN);
    let out = run_and_drop(&t, &mut fleet);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("   WEB01 cannot be reached now: "),
        "{}",
        out.stdout
    );
    let at = format!("127.0.0.2:{}", fleet.port);
    assert_eq!(
        instance_events(&t, "slow@WEB01"),
        [
            format!("instance_started target=ssh {at}"),
            "action_output".to_string(),
            "note_added".to_string(),
            "in_doubt_resolved resolution=done how=by_hand".to_string(),
        ]
    );
    assert!(
        journal(t.dir()).contains("\"note\":\"the console of WEB01 shows it finished\""),
        "{}",
        journal(t.dir())
    );
}

#[test]
fn a_copy_cut_by_a_dropped_connection_is_surveyed_on_the_host_and_finished_on_resume() {
    let mut fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    fs::create_dir(tree.join("share")).unwrap();
    fs::write(tree.join("share/Small.msi"), "old small\n").unwrap();
    let t = Stepwise::new();
    let pkg = t.dir().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join("Small.msi"), "new small\n").unwrap();
    let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
    fs::write(pkg.join("Big.msi"), &big).unwrap();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: copy, title: Copy, on: web, action: {{ type: copy, from: '{}', to: '{HOST_ROOT}/share', files: [Small.msi, Big.msi] }} }}\n",
                pkg.display()
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let t = t.args(RUN);
    let part = tree.join("share/.Big.msi.stepwise-part");
    let out = run_while(&t, |finished| {
        wait_for("Big.msi to be half way on WEB01", || {
            finished() || fs::metadata(&part).is_ok_and(|m| m.len() > 1 << 20)
        });
        kill_host(&mut fleet, "WEB01");
    });
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "   ✗ The connection to WEB01 dropped while `copy@WEB01` ran: its outcome is unknown.\n"
        ),
        "{}",
        out.stdout
    );
    let at = format!("127.0.0.2:{}", fleet.port);
    let events = instance_events(&t, "copy@WEB01");
    assert_eq!(events[0], format!("instance_started target=ssh {at}"));
    assert!(
        !events
            .iter()
            .any(|e| e.starts_with("instance_done") || e.starts_with("instance_failed")),
        "{events:?}"
    );
    assert!(part.exists(), "the copy was cut half way");

    fleet.up(0);
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   It was interrupted. What the files look like now: 1 of 2 files in place in {HOST_ROOT}/share on WEB01\n     Small.msi  in place (content matches the source)\n     Big.msi    missing (not copied yet); partial temporary file .Big.msi.stepwise-part beside it\n   Not every file is in place: the evidence says it did not complete.\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(fs::read(tree.join("share/Big.msi")).unwrap(), big);
    assert_eq!(
        fs::read_to_string(tree.join("share/Small.msi")).unwrap(),
        "new small\n"
    );
    assert!(!part.exists());
    let events = instance_events(&t, "copy@WEB01");
    assert_eq!(events.last().unwrap(), "instance_done how=automated");
}

#[test]
fn a_settled_step_leaves_no_temporary_file_of_an_earlier_attempt_on_its_host() {
    let fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    fs::create_dir(tree.join("conf")).unwrap();
    fs::write(tree.join("conf/App.config"), "old\n").unwrap();
    // What a write cut after its first bytes leaves.
    fs::write(tree.join("conf/.App.config.stepwise-part"), "ne").unwrap();
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &[("web", "WEB01")],
            &format!(
                "      - {{ id: config, title: Config, on: web, action: {{ type: write_file, dir: '{HOST_ROOT}/conf', file: App.config, content: \"new\\n\" }} }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  config@WEB01: { confirm: false, decision: by-hand, note: written from the console }\n",
    );
    let out = stepwise(t.dir(), &RUN);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   Removed the partial temporary file {HOST_ROOT}/conf/.App.config.stepwise-part on WEB01.\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(fleet.trees(), ["WEB01: conf", "WEB01: conf/App.config"]);
    assert_eq!(
        fs::read_to_string(tree.join("conf/App.config")).unwrap(),
        "old\n"
    );
}
