//! Fleet order through the real binary: host-major phases (`for_each_host`, `serial`,
//! `max_failures`) on real SSH hosts ([`crate::fleet::Fleet`]), items with their own `when`,
//! and `check` actions that wait (`retry`).
//!
//! What a host did is proved from the host's own tree: every step leaves a mark with a
//! timestamp taken on the host, so the order is read from the hosts, and again from the journal.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Stepwise, stepwise_program};
use crate::fleet::{Fleet, HOST_ROOT};

/// A command step on `web` that appends `NAME NANOSECONDS` to the host's `marks`, then runs
/// `extra` (shell text) if given.
fn mark_step(id: &str, extra: &str) -> String {
    format!(
        "      - id: {id}\n        title: {id}\n        on: web\n        action:\n          type: command\n          program: sh\n          args: [-c, 'echo \"{id} $(date +%s%N)\" >> {HOST_ROOT}/marks{extra}']\n"
    )
}

/// A runbook with one step before a host-major phase of drain, install, restart (a command:
/// the real restart-and-wait is an action of its own) and verify, `serial` and `max_failures`
/// as given. `install` fails where the host has a file `broken`, and sleeps where it has `slow`
/// (removing it, so it sleeps once).
fn rolling(serial: &str, max_failures: u32) -> String {
    let mut text = format!(
        "id: rolling\ntitle: Rolling update\narticle: KB1\nproduct: Demo\nparameters:\n  - {{ name: with_agent, type: bool, prompt: Is the agent installed? }}\nroles:\n  - {{ id: web, title: Web servers, hosts: [WEB01] }}\nphases:\n  - id: prepare\n    title: Prepare\n    steps:\n      - {{ id: announce, title: Announce the window }}\n  - id: rolling\n    title: Update each web server\n    for_each_host: web\n    serial: {serial}\n    max_failures: {max_failures}\n    steps:\n"
    );
    text.push_str(&mark_step("drain", ""));
    text.push_str(&mark_step(
        "install",
        &format!(
            "; if [ -e {HOST_ROOT}/slow ]; then rm {HOST_ROOT}/slow; sleep 60; fi; test ! -e {HOST_ROOT}/broken"
        ),
    ));
    text.push_str(
        "      - id: components\n        title: Confirm the components\n        on: web\n        items:\n          - Web front end\n          - { text: Monitoring agent, when: with_agent }\n",
    );
    text.push_str(&mark_step("restart", ""));
    text.push_str(&mark_step("verify", ""));
    text
}

/// The fleet's inventory with every host on `web`, and `with_agent` true on the hosts named.
fn inventory(fleet: &Fleet, agent_on: &[&str]) -> String {
    let names: Vec<&str> = fleet.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut text = fleet.inventory(&format!("roles:\n  web: [{}]\n", names.join(", ")));
    for h in agent_on {
        let address = &fleet.host(h).address;
        text = text.replace(
            &format!("  {h}: {{ address: {address} }}"),
            &format!("  {h}: {{ address: {address}, vars: {{ with_agent: 'true' }} }}"),
        );
    }
    text
}

/// The marks a host left: `(step, nanoseconds)`, in the order they were written.
fn marks(fleet: &Fleet, host: &str) -> Vec<(String, u128)> {
    let text = fs::read_to_string(fleet.host(host).tree.join("marks")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let (step, t) = l.split_once(' ').unwrap();
            (step.to_string(), t.parse().unwrap())
        })
        .collect()
}

fn steps_of(marks: &[(String, u128)]) -> Vec<&str> {
    marks.iter().map(|(s, _)| s.as_str()).collect()
}

/// The one run folder under `runs`.
fn run_dir(t: &Stepwise) -> PathBuf {
    let mut runs: Vec<PathBuf> = fs::read_dir(t.dir().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.pop().unwrap()
}

/// The journal's events as JSON.
fn journal(t: &Stepwise) -> Vec<Value> {
    fs::read_to_string(run_dir(t).join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `KIND KEY` (or `KIND`, or `KIND PHASE/BATCH`) for every event of these kinds.
fn events(journal: &[Value], kinds: &[&str]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| kinds.contains(&e["kind"].as_str().unwrap()))
        .map(|e| {
            let kind = e["kind"].as_str().unwrap();
            match (&e["key"], &e["batch"]) {
                (Value::String(k), _) => format!("{kind} {k}"),
                (_, Value::Number(b)) => format!("{kind} {}/{b}", e["phase"].as_str().unwrap()),
                _ => kind.to_string(),
            }
        })
        .collect()
}

fn run(t: &Stepwise, command: &str, answers: &str) -> crate::common::Output {
    t.file("answers.yaml", answers);
    let mut args = vec![command];
    if command == "run" {
        args.extend(["rolling.yaml", "--inventory", "inventory.yaml"]);
    }
    args.extend([
        "--answers",
        "answers.yaml",
        "--state-dir",
        "runs",
        "--operator",
        "alice",
    ]);
    Stepwise::new().current_dir(t.dir()).args(args).run()
}

const ANSWERS: &str = "params: { with_agent: false }\nconfirm: true\ndefault: done\n";

#[test]
fn serial_one_walks_every_step_on_each_host_in_turn_and_asks_before_each_batch() {
    let fleet = Fleet::start(&["WEB01", "WEB02", "WEB03"]);
    let t = Stepwise::new();
    t.file("rolling.yaml", &rolling("1", 0));
    t.file("inventory.yaml", &inventory(&fleet, &["WEB02"]));

    // The checklist and the dry-run say the order.
    let order = "on each host of Web servers (web) in turn, 1 at a time: WEB01, then WEB02, then WEB03; the walk stops and asks at the first host that fails";
    let checklist = Stepwise::new()
        .current_dir(t.dir())
        .args(["checklist", "rolling.yaml", "--inventory", "inventory.yaml"])
        .stdout();
    assert!(
        checklist
            .replace('\n', " ")
            .contains(&format!("Do every step of this phase {order}.")),
        "{checklist}"
    );
    let md = Stepwise::new()
        .current_dir(t.dir())
        .args(["checklist", "rolling.yaml", "--format", "md"])
        .args(["--inventory", "inventory.yaml"])
        .stdout();
    assert!(
        md.contains(&format!("**Do every step of this phase {order}.**")),
        "{md}"
    );

    let check = Stepwise::new()
        .current_dir(t.dir())
        .args(["check", "rolling.yaml", "--inventory", "inventory.yaml"])
        .args(["--set", "with_agent=false"])
        .run();
    assert!(
        check.stdout.contains(&format!("\n     {order}\n")),
        "{}",
        check.stdout
    );
    let planned: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| l.starts_with("    2."))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .take(6)
        .collect();
    assert_eq!(
        planned,
        [
            "drain@WEB01",
            "install@WEB01",
            "components@WEB01",
            "restart@WEB01",
            "verify@WEB01",
            "drain@WEB02"
        ]
    );

    let json: Value = serde_json::from_str(
        &Stepwise::new()
            .current_dir(t.dir())
            .args([
                "check",
                "--json",
                "rolling.yaml",
                "--inventory",
                "inventory.yaml",
            ])
            .args(["--set", "with_agent=false"])
            .run()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["phases"][1]["host_order"], order);
    assert_eq!(json["phases"][0].get("host_order"), None);
    assert_eq!(json["plan"][2]["key"], "install@WEB01");

    // Batch 2 is answered, batch 3 is not: the confirmation does not carry over.
    let out = run(
        &t,
        "run",
        &format!("{ANSWERS}batches: {{ rolling/2: confirm }}\n"),
    );
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "stepwise: stopped: no answer to \"Batch 2 of 3 done (WEB02): go on to WEB03?\": answer `batches: { rolling/3: confirm }` (or `batches: confirm` for every batch)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        marks(&fleet, "WEB03").is_empty(),
        "WEB03 was touched before its batch was confirmed"
    );

    let out = run(
        &t,
        "resume",
        &format!("{ANSWERS}batches: {{ rolling/3: confirm }}\n"),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Each host did drain, install, restart, verify, once each and in that order ...
    let all: Vec<Vec<(String, u128)>> = ["WEB01", "WEB02", "WEB03"]
        .iter()
        .map(|h| marks(&fleet, h))
        .collect();
    for m in &all {
        assert_eq!(steps_of(m), ["drain", "install", "restart", "verify"]);
    }
    // ... and one host finished before the next began, by the hosts' own clocks.
    for pair in all.windows(2) {
        let last = pair[0].iter().map(|(_, t)| *t).max().unwrap();
        let first = pair[1].iter().map(|(_, t)| *t).min().unwrap();
        assert!(last < first, "hosts overlapped: {pair:?}");
    }

    // The journal shows the same order, and one confirmation per batch.
    let journal = journal(&t);
    let mut expected = vec!["instance_done announce".to_string()];
    for host in ["WEB01", "WEB02", "WEB03"] {
        if host != "WEB01" {
            let batch = if host == "WEB02" { 2 } else { 3 };
            expected.push(format!("batch_confirmed rolling/{batch}"));
        }
        for step in ["drain", "install", "components", "restart", "verify"] {
            expected.push(format!("instance_done {step}@{host}"));
        }
    }
    assert_eq!(
        events(&journal, &["instance_done", "batch_confirmed"]),
        expected
    );

    // The item's `when` holds on WEB02 only (its inventory value): only there is the agent
    // part of the step.
    assert_eq!(
        events(&journal, &["item_done"]),
        [
            "item_done components@WEB01",
            "item_done components@WEB02",
            "item_done components@WEB02",
            "item_done components@WEB03"
        ]
    );
    let agent: Vec<&str> = journal
        .iter()
        .filter(|e| e["item"] == "monitoring-agent")
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(agent, ["components@WEB02"]);

    // `status` lists the instances in the walk's order and says how the batches went.
    let status = Stepwise::new()
        .current_dir(t.dir())
        .args(["status", "--state-dir", "runs"])
        .arg(run_dir(&t))
        .stdout();
    assert!(
        status.contains(&format!("Host by host:  phase rolling: {order}\n")),
        "{status}"
    );
    assert!(
        status.contains("  batch 3 of 3 (WEB03): went on (alice, "),
        "{status}"
    );
    let rows: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("2."))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        &rows[..6],
        [
            "drain@WEB01",
            "install@WEB01",
            "components@WEB01",
            "restart@WEB01",
            "verify@WEB01",
            "drain@WEB02"
        ]
    );
}

#[test]
fn an_item_when_is_printed_only_if_while_open_and_left_out_where_false() {
    let t = Stepwise::new();
    t.file("rolling.yaml", &rolling("50%", 0));
    let open = Stepwise::new()
        .current_dir(t.dir())
        .args(["checklist", "rolling.yaml"])
        .stdout();
    assert!(
        open.contains("[ ] Monitoring agent (only if with_agent)"),
        "{open}"
    );
    let without = Stepwise::new()
        .current_dir(t.dir())
        .args(["checklist", "rolling.yaml", "--set", "with_agent=false"])
        .stdout();
    assert!(!without.contains("Monitoring agent"), "{without}");
    assert!(without.contains("[ ] Web front end"), "{without}");
}

#[test]
fn max_failures_one_stops_the_walk_at_the_second_failing_host_and_asks() {
    let fleet = Fleet::start(&["WEB01", "WEB02", "WEB03", "WEB04"]);
    for h in ["WEB01", "WEB02"] {
        fs::write(fleet.host(h).tree.join("broken"), "").unwrap();
    }
    let t = Stepwise::new();
    t.file("rolling.yaml", &rolling("1", 1));
    t.file("inventory.yaml", &inventory(&fleet, &[]));
    let answers = format!("{ANSWERS}batches: confirm\non_failure: skip-host\n");
    let out = run(&t, "run", &answers);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "stepwise: stopped: no answer to \"2 hosts of phase `rolling` failed (WEB01, WEB02), more than its max_failures (1): go on with the next host, pause, or stop?\": answer `too_many_failures: continue`, `pause` or `stop`"
        ),
        "{}",
        out.stderr
    );
    // The first failing host did not stop the walk; the second did, before WEB03.
    assert_eq!(steps_of(&marks(&fleet, "WEB01")), ["drain", "install"]);
    assert_eq!(steps_of(&marks(&fleet, "WEB02")), ["drain", "install"]);
    assert!(marks(&fleet, "WEB03").is_empty());
    let journal = journal(&t);
    assert_eq!(
        events(&journal, &["host_failed"]),
        ["host_failed install@WEB01", "host_failed install@WEB02"]
    );
    let skipped: Vec<&Value> = journal
        .iter()
        .filter(|e| e["kind"] == "instance_skipped" && e["key"] == "restart@WEB01")
        .collect();
    assert_eq!(
        skipped[0]["reason"],
        "host WEB01 failed at install@WEB01: the rest of phase rolling is not done on it"
    );

    // Resume asks again; going on is journaled, and the remaining hosts are done.
    let out = run(
        &t,
        "resume",
        &format!("{answers}too_many_failures: continue\n"),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for h in ["WEB03", "WEB04"] {
        assert_eq!(
            steps_of(&marks(&fleet, h)),
            ["drain", "install", "restart", "verify"]
        );
    }
    assert_eq!(steps_of(&marks(&fleet, "WEB01")), ["drain", "install"]);
    let journal = self::journal(&t);
    let accepted: Vec<&Value> = journal
        .iter()
        .filter(|e| e["kind"] == "failures_accepted")
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["failed"], 2);
    let status = Stepwise::new()
        .current_dir(t.dir())
        .args(["status", "--state-dir", "runs"])
        .arg(run_dir(&t))
        .stdout();
    assert!(
        status.contains("  failed hosts: WEB01 (at install@WEB01), WEB02 (at install@WEB02)\n"),
        "{status}"
    );
    let json: Value = serde_json::from_str(
        &Stepwise::new()
            .current_dir(t.dir())
            .args(["status", "--json", "--state-dir", "runs"])
            .arg(run_dir(&t))
            .stdout(),
    )
    .unwrap();
    let fleet = &json["fleet"][0];
    assert_eq!(fleet["phase"], "rolling");
    assert_eq!(
        fleet["failed_hosts"],
        serde_json::json!([
            { "host": "WEB01", "key": "install@WEB01" },
            { "host": "WEB02", "key": "install@WEB02" }
        ])
    );
    assert_eq!(fleet["failures_accepted"], 2);
    assert_eq!(fleet["batches"][3]["hosts"], serde_json::json!(["WEB04"]));
    assert_eq!(fleet["batches"][3]["went_on"]["operator"], "alice");
    assert_eq!(fleet["batches"][0]["went_on"], Value::Null);
}

unix_only! {
    "SIGKILL";

    #[test]
    fn killed_in_batch_two_resumes_on_batch_twos_host_at_the_step() {
        let fleet = Fleet::start(&["WEB01", "WEB02", "WEB03"]);
        fs::write(fleet.host("WEB02").tree.join("slow"), "").unwrap();
        let t = Stepwise::new();
        t.file("rolling.yaml", &rolling("1", 0));
        t.file("inventory.yaml", &inventory(&fleet, &[]));
        t.file(
            "answers.yaml",
            &format!("{ANSWERS}batches: {{ rolling/2: confirm }}\n"),
        );
        let mut child = spawn_run(t.dir());
        // Killed while install runs on WEB02 (batch 2): its mark is there, and it sleeps.
        wait_for(&mut child, || {
            steps_of(&marks(&fleet, "WEB02")).contains(&"install")
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let before = journal(&t);
        assert_eq!(
            events(&before, &["instance_started"]).last().unwrap(),
            "instance_started install@WEB02"
        );

        // Batch 2 was confirmed before the kill: the resume does not ask it again (its
        // answers only name batch 3), and takes install@WEB02 up again, then goes on there.
        let out = run(
            &t,
            "resume",
            &format!("{ANSWERS}batches: {{ rolling/3: confirm }}\nin_doubt: rerun\n"),
        );
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        let after = journal(&t);
        let resumed = after[before.len()..].to_vec();
        let walked = events(
            &resumed,
            &["in_doubt_resolved", "instance_started", "instance_done", "batch_confirmed"],
        );
        assert_eq!(
            &walked[..6],
            [
                "in_doubt_resolved install@WEB02",
                "instance_started install@WEB02",
                "instance_done install@WEB02",
                "instance_done components@WEB02",
                "instance_started restart@WEB02",
                "instance_done restart@WEB02",
            ]
        );
        assert_eq!(
            events(&after, &["batch_confirmed"]),
            ["batch_confirmed rolling/2", "batch_confirmed rolling/3"]
        );
        assert_eq!(
            steps_of(&marks(&fleet, "WEB01")),
            ["drain", "install", "restart", "verify"]
        );
        assert_eq!(
            steps_of(&marks(&fleet, "WEB02")),
            ["drain", "install", "install", "restart", "verify"],
            "WEB02 went on at install, not before it"
        );
        assert_eq!(
            steps_of(&marks(&fleet, "WEB03")),
            ["drain", "install", "restart", "verify"]
        );
    }
}

fn spawn_run(dir: &Path) -> Child {
    Command::new(stepwise_program())
        .args(["run", "rolling.yaml", "--inventory", "inventory.yaml"])
        .args(["--answers", "answers.yaml", "--state-dir", "runs"])
        .args(["--operator", "alice"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (at most 60 s) until `ready`; the child must still run.
fn wait_for(child: &mut Child, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "stepwise ended before the point to kill it"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the point to kill stepwise never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A runbook whose only step checks, waiting up to `bound`, that `flag` exists in `dir`.
fn waiting_check(bound: &str) -> String {
    format!(
        "id: waits\ntitle: Waits\narticle: KB1\nproduct: Demo\nparameters:\n  - {{ name: dir, type: path, prompt: Folder }}\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: service-up\n        title: Wait for the service\n        action:\n          type: check\n          retry: {{ for: {bound}, every: 1s }}\n          checks:\n            - exists: '{{{{ dir }}}}/flag'\n"
    )
}

#[test]
fn a_check_that_waits_passes_when_the_file_appears_and_fails_after_its_bound() {
    let t = Stepwise::new();
    let dir = t.dir().join("service");
    fs::create_dir_all(&dir).unwrap();
    t.file("waits.yaml", &waiting_check("30s"));
    t.file(
        "answers.yaml",
        &format!(
            "params: {{ dir: '{}' }}\nconfirm: true\non_failure: pause\n",
            dir.display()
        ),
    );
    let args = |cmd: &str| {
        Stepwise::new()
            .current_dir(t.dir())
            .args([cmd, "waits.yaml", "--answers", "answers.yaml"])
            .args(["--state-dir", "runs", "--operator", "alice"])
    };

    // The dry-run looks once, and says the run would wait.
    let check = Stepwise::new()
        .current_dir(t.dir())
        .args(["check", "waits.yaml", "--set"])
        .arg(format!("dir={}", dir.display()))
        .run();
    assert!(
        check.stdout.contains("    ok        service-up: the check waits: a run waits up to 30s (looking every 1s) for every assertion to hold; this check looked once\n"),
        "{}",
        check.stdout
    );
    assert!(!dir.join("flag").exists());

    // A process makes the file a moment after the run starts: the check waits and holds.
    let flag = dir.join("flag");
    let maker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        fs::write(flag, "up").unwrap();
    });
    let out = args("run").run();
    maker.join().unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("   ✓ the check held after "),
        "{}",
        out.stdout
    );

    // A file that never appears: the step fails once its bound has passed, saying so.
    let t2 = Stepwise::new();
    t2.file("waits.yaml", &waiting_check("2s"));
    t2.file(
        "answers.yaml",
        &format!(
            "params: {{ dir: '{}' }}\nconfirm: true\non_failure: pause\n",
            t2.dir().display()
        ),
    );
    let out = Stepwise::new()
        .current_dir(t2.dir())
        .args(["run", "waits.yaml", "--answers", "answers.yaml"])
        .args(["--state-dir", "runs", "--operator", "alice"])
        .run();
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let expected = format!(
        "   ✗ service-up failed: the check did not hold within 2s (3 looks): {}/flag exists: does not exist (names are matched ignoring case)\n",
        t2.dir().display()
    );
    assert!(out.stdout.contains(&expected), "{}", out.stdout);
    let failed: Vec<String> = fs::read_to_string(run_dir(&t2).join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "instance_failed")
        .map(|e| e["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        failed,
        [format!(
            "the check did not hold within 2s (3 looks): {}/flag exists: does not exist (names are matched ignoring case)",
            t2.dir().display()
        )]
    );
}

unix_only! {
    "SIGINT";

    /// Ctrl-C (SIGINT) while a check waits stops the wait as it stops a command: progress is
    /// saved, the journal says `interrupted`, stepwise exits 130, and resume asks about the
    /// check, which then holds.
    #[test]
    fn ctrl_c_while_a_check_waits_saves_and_resume_takes_it_up() {
        let t = Stepwise::new();
        t.file("waits.yaml", &waiting_check("10m"));
        t.file(
            "answers.yaml",
            &format!(
                "params: {{ dir: '{}' }}\nconfirm: true\nin_doubt: rerun\n",
                t.dir().display()
            ),
        );
        let mut child = Command::new(stepwise_program())
            .args(["run", "waits.yaml", "--answers", "answers.yaml"])
            .args(["--state-dir", "runs", "--operator", "alice"])
            .current_dir(t.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let journal_has = |what: &str| {
            fs::read_dir(t.dir().join("runs"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    fs::read_to_string(e.path().join("journal.jsonl"))
                        .is_ok_and(|j| j.contains(what))
                })
        };
        wait_for(&mut child, || journal_has(r#""kind":"instance_started""#));
        std::thread::sleep(Duration::from_millis(300));
        let status = crate::common::signal_and_wait(&mut child, "-INT");
        assert_eq!(status.code(), Some(130));
        let kinds: Vec<String> = journal(&t)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            &kinds[kinds.len() - 2..],
            ["instance_started", "interrupted"],
            "{kinds:?}"
        );
        fs::write(t.dir().join("flag"), "up").unwrap();
        let out = run_in(&t, "resume");
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        let journal = journal(&t);
        assert_eq!(
            events(&journal, &["in_doubt_resolved", "instance_done"]),
            ["in_doubt_resolved service-up", "instance_done service-up"]
        );
    }
}

fn run_in(t: &Stepwise, command: &str) -> crate::common::Output {
    Stepwise::new()
        .current_dir(t.dir())
        .args([command, "--answers", "answers.yaml"])
        .args(["--state-dir", "runs", "--operator", "alice"])
        .run()
}

#[test]
fn an_answers_file_names_batches_by_phase_and_number_or_is_refused() {
    let t = Stepwise::new();
    t.file("rolling.yaml", &rolling("1", 0));
    t.file(
        "answers.yaml",
        "confirm: true\nbatches:\n  rollng/2: confirm\n  rolling/1: confirm\n  prepare/2: confirm\n  rolling: pause\n",
    );
    let out = Stepwise::new()
        .current_dir(t.dir())
        .args(["run", "rolling.yaml", "--answers", "answers.yaml"])
        .args(["--state-dir", "runs", "--operator", "alice"])
        .run();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr,
        "stepwise: answers.yaml: the answers file does not fit (4 problems):\n\
         answers.yaml:3:3: batches: `rollng/2`: runbook `rolling` has no phase `rollng`; did you mean `rolling`?\n\
         answers.yaml:4:3: batches: `rolling/1`: `1` is not a batch to go on to: a number from 2 (the first batch starts without asking)\n\
         answers.yaml:5:3: batches: `prepare/2`: phase `prepare` does not run host by host (no `for_each_host`)\n\
         answers.yaml:6:3: batches: `rolling`: expected PHASE/BATCH, for example `rolling/2` (the batch about to start)\n"
    );
}
