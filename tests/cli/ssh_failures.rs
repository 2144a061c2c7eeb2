//! What happens when a host's SSH connection fails, before or during an action, against real
//! OpenSSH servers started by [`crate::fleet::Fleet`]: the exact message of each failure, and
//! that nothing is lost. An action whose connection dropped while it ran has an unknown outcome:
//! it is never recorded as done or failed, `resume` looks again on the host (read-only) and says
//! what it finds before it asks, and a host still unreachable keeps it in doubt.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::Stepwise;
use crate::fleet::{Fleet, HOST_ROOT};

/// Every process below `pid` (children, their children, …), read from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
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
fn kill_host(fleet: &mut Fleet, name: &str) {
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

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_dir(t: &Stepwise) -> PathBuf {
    fs::read_dir(t.dir().join("runs"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("journal.jsonl").is_file())
        .unwrap()
        .path()
}

fn journal(t: &Stepwise) -> String {
    fs::read_to_string(run_dir(t).join("journal.jsonl")).unwrap()
}

/// The `kind` and `key` of every instance event of the journal, in order.
fn instance_events(t: &Stepwise, key: &str) -> Vec<String> {
    journal(t)
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

fn stepwise(dir: &Path, args: &[&str]) -> crate::common::Output {
    Stepwise::new()
        .current_dir(dir)
        .args(args.iter().copied())
        .run()
}

const RUN: [&str; 10] = [
    "run",
    "book.yaml",
    "--operator",
    "alice",
    "--inventory",
    "inventory.yaml",
    "--answers",
    "a.yaml",
    "--state-dir",
    "runs",
];

const RESUME: [&str; 7] = [
    "resume",
    "--operator",
    "alice",
    "--answers",
    "a.yaml",
    "--state-dir",
    "runs",
];

#[test]
fn a_command_cut_by_a_dropped_connection_stays_in_doubt_until_the_host_answers_again() {
    let mut fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: slow, title: Slow, on: web, action: {{ type: command, program: sh, args: [-c, 'echo run >> {HOST_ROOT}/runs; echo begun; test -e {HOST_ROOT}/quick || sleep 30'] }} }}\n      - {{ id: after, title: After, on: web, action: {{ type: command, program: sh, args: [-c, 'echo after > {HOST_ROOT}/after'] }} }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let t = t.args(RUN);
    let out = std::thread::scope(|scope| {
        let running = scope.spawn(|| t.run());
        wait_for("the command to start on WEB01", || {
            tree.join("runs").exists()
        });
        std::thread::sleep(Duration::from_millis(300));
        kill_host(&mut fleet, "WEB01");
        running.join().unwrap()
    });
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
        "   WEB01 cannot be reached now: cannot connect to WEB01 ({at}): Connection refused.\n   What the action left on WEB01 cannot be looked at, so nothing is guessed: `slow@WEB01` stays in doubt until WEB01 answers.\n   The connection to WEB01 ended before the command's exit came back: stepwise cannot know whether it finished (it may have, or may still be running there). What it printed is in output/slow@WEB01.log.\n"
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
    let before = journal(&t);
    let out = stepwise(t.dir(), &RESUME);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "  blocking slow@WEB01: host WEB01 over SSH: cannot connect to WEB01 ({at}): Connection refused\n"
        )),
        "{}",
        out.stdout
    );
    assert!(journal(&t).starts_with(&before));

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
        out.stdout.contains("   The connection to WEB01 ended before the command's exit came back: stepwise cannot know whether it finished (it may have, or may still be running there). What it printed is in output/slow@WEB01.log.\n"),
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
}
