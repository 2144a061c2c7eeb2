//! Fleet order over SSH: `parallel: N` steps and `restart` actions, against real OpenSSH servers
//! started by [`crate::fleet::Fleet`] (each host with its own tree, so each host's command
//! records what happened on that host).

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Stepwise, stepwise_command};
use crate::fleet::{Fleet, HOST_ROOT, RESUME_BOOK, RUN_BOOK, journal, prepare, wait_for};

const SIX: [&str; 6] = ["WEB01", "WEB02", "WEB03", "WEB04", "WEB05", "WEB06"];

/// A runbook with one step `work` on the `web` role (hosts `hosts`), the step's other fields
/// as given.
fn book(hosts: &[&str], step: &str) -> String {
    crate::fleet::book(
        &[("web", &hosts.join(", "))],
        &format!("      - id: work\n        title: Work\n        on: web\n{step}"),
    )
}

/// `kind key` of every journal event about step `work`, in order.
fn work_events(journal: &str) -> Vec<String> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["key"].as_str().is_some_and(|k| k.starts_with("work")))
        .map(|e| {
            let mut s = format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["key"].as_str().unwrap()
            );
            if let Some(p) = e["phase"].as_str() {
                s.push_str(&format!(" {p}"));
            }
            s
        })
        .collect()
}

fn nanos(path: &Path) -> u128 {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

unix_only! {
"SSH test hosts need Linux namespaces";

#[test]
fn parallel_three_on_six_hosts_never_runs_more_than_three_at_once_and_finishes_all() {
    let fleet = Fleet::start(&SIX);
    let t = Stepwise::new();
    prepare(
        &t,
        &book(
            &SIX,
            &format!(
                "        parallel: 3\n        action: {{ type: command, program: sh, args: [-c, 'date +%s%N > {HOST_ROOT}/start; sleep 2; date +%s%N > {HOST_ROOT}/end'] }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("   Running on 6 hosts, 3 at a time."), "{}", out.stdout);

    // Each host recorded when its command started and ended, in its own tree.
    let spans: Vec<(u128, u128)> = fleet
        .hosts
        .iter()
        .map(|h| (nanos(&h.tree.join("start")), nanos(&h.tree.join("end"))))
        .collect();
    assert_eq!(
        most_at_once(&spans),
        3,
        "at most three at once, and three did run together: {spans:?}"
    );

    let events = work_events(&journal(t.dir()));
    for host in SIX {
        let key = format!("work@{host}");
        assert!(events.contains(&format!("instance_started {key}")), "{events:?}");
        assert!(events.contains(&format!("instance_done {key}")), "{events:?}");
    }
    assert!(
        journal(t.dir()).lines().filter(|l| l.contains(r#""how":"automated""#)).count() == 6,
        "every host is done by its automation"
    );
}

#[test]
fn a_failure_on_one_host_lets_the_others_finish_then_opens_guided_failure_for_it() {
    let hosts = ["WEB01", "WEB02", "WEB03", "WEB04"];
    let fleet = Fleet::start(&hosts);
    let t = Stepwise::new();
    // WEB02 fails at once; the others take a second, then leave a mark.
    prepare(
        &t,
        &book(
            &hosts,
            &format!(
                "        parallel: 4\n        action: {{ type: command, program: sh, args: [-c, 'test \"$0\" != WEB02 || exit 7; sleep 1; echo \"done on $0\" > {HOST_ROOT}/mark', '{{{{ host }}}}'] }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  work@WEB02: { on_failure: skip-host, note: WEB02 is patched next week }\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for host in ["WEB01", "WEB03", "WEB04"] {
        assert_eq!(
            fs::read_to_string(fleet.host(host).tree.join("mark")).unwrap(),
            format!("done on {host}\n")
        );
    }
    assert!(!fleet.host("WEB02").tree.join("mark").exists());

    // The failure is journaled as it happens; the others finish; then its menu is answered.
    let events = work_events(&journal(t.dir()));
    let at = |what: &str| {
        events
            .iter()
            .position(|e| e == what)
            .unwrap_or_else(|| panic!("no `{what}` in {events:?}"))
    };
    let failed = at("instance_failed work@WEB02");
    let skipped = at("instance_skipped work@WEB02");
    for host in ["WEB01", "WEB03", "WEB04"] {
        let done = at(&format!("instance_done work@{host}"));
        assert!(failed < done && done < skipped, "{events:?}");
    }
    let menu = out.stdout.find("✗ work@WEB02 failed:").expect(&out.stdout);
    for host in ["WEB01", "WEB03", "WEB04"] {
        let done = out.stdout.find(&format!("✓ {host}:")).expect(&out.stdout);
        assert!(done < menu, "the menu comes after the others finished:\n{}", out.stdout);
    }
}

#[test]
fn a_restart_is_waited_for_then_checked() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let old_boot = fleet.host("WEB01").boot_id.clone();
    let t = Stepwise::new();
    write_restart_book(&t);
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file("a.yaml", "confirm: true\ndefault: done\n");
    let mut child = spawn(&t, "run");
    restart_when_asked(&mut fleet, "WEB01", None);
    let out = finish(child.wait().unwrap().code(), &t, "run");
    assert_eq!(out.0, Some(0), "{}", out.1);
    assert_eq!(restarts(&fleet, "WEB01"), 1);
    assert_eq!(restarts(&fleet, "WEB02"), 0, "only WEB01's step restarts it");
    let events = work_events(&journal(t.dir()));
    assert_eq!(
        events,
        [
            "instance_started work@WEB01",
            "restart work@WEB01 boot_read",
            "restart work@WEB01 sent",
            "restart work@WEB01 waiting",
            "restart work@WEB01 down",
            "restart work@WEB01 back",
            "action_output work@WEB01",
            "instance_done work@WEB01",
        ]
    );
    // The boot identity before (journaled before the restart was sent) and after.
    assert_eq!(
        restart_boots(&journal(t.dir())),
        [
            ("boot_read".to_string(), Some(old_boot)),
            ("back".to_string(), Some(fleet.host("WEB01").boot_id.clone())),
        ]
    );
    let _ = child.kill();
}

/// `(phase, boot)` of every restart event that carries a boot identity or could (`boot_read`,
/// `back`), in order.
fn restart_boots(journal: &str) -> Vec<(String, Option<String>)> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "restart" && (e["phase"] == "boot_read" || e["phase"] == "back"))
        .map(|e| {
            (
                e["phase"].as_str().unwrap().to_string(),
                e["boot"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Stepwise is SIGKILLed after it sent the restart and before the host went down (the restart
/// takes the host down only later). On resume the host still answers, in its old boot: it is
/// not taken for back, and its checks (which would pass at once) are not run on it; only once
/// the host has gone down and answers in a new boot are they run. With `boot_ids` false the
/// host cannot tell its boots apart, and the walk goes by the down it sees instead.
fn killed_before_the_host_went_down(boot_ids: bool) {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    if !boot_ids {
        fleet.without_boot_ids();
    }
    let tree = fleet.host("WEB01").tree.clone();
    let old_boot = fleet.host("WEB01").boot_id.clone();
    let t = Stepwise::new();
    write_restart_book(&t);
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file("a.yaml", "confirm: true\ndefault: done\n");
    // `check` reads the boot identity, and says what the walk goes by without one.
    let check = Stepwise::new()
        .current_dir(t.dir())
        .args(["check", "book.yaml", "--inventory", "inventory.yaml"])
        .run();
    assert_eq!(check.code, 0, "{}", check.stdout);
    let said = match boot_ids {
        true => format!(
            "ok        work@WEB01: boot identity of WEB01: {old_boot}: after the restart, WEB01 counts as back when it gives another one\n"
        ),
        false => "warning   work@WEB01: boot identity of WEB01: cannot be read: the host gave an empty boot identity\n".to_string(),
    };
    assert!(check.stdout.contains(&said), "{}", check.stdout);
    // Checks run on the old boot would hold at once.
    fs::write(tree.join("service-up"), "yes").unwrap();
    let mut child = spawn(&t, "run");
    let start = Instant::now();
    let waiting = || {
        fs::read_dir(t.dir().join("runs")).is_ok_and(|d| {
            d.flatten().any(|e| {
                fs::read_to_string(e.path().join("journal.jsonl")).is_ok_and(|j| {
                    work_events(&j).contains(&"restart work@WEB01 waiting".to_string())
                })
            })
        })
    };
    while !waiting() {
        assert!(start.elapsed() < Duration::from_secs(30), "never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, the host still up in its old boot
    assert_eq!(child.wait().unwrap().code(), None);
    let before = work_events(&journal(t.dir()));
    assert_eq!(
        before,
        [
            "instance_started work@WEB01",
            "restart work@WEB01 boot_read",
            "restart work@WEB01 sent",
            "restart work@WEB01 waiting",
        ]
    );
    let read = if boot_ids { Some(old_boot.clone()) } else { None };
    assert_eq!(
        restart_boots(&journal(t.dir())),
        [("boot_read".to_string(), read)]
    );

    let mut resumed = spawn(&t, "resume");
    // Long enough for several connections to the host in its old boot.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        resumed.try_wait().unwrap().is_none(),
        "resume finished on the host that had not restarted:\n{}",
        finish(None, &t, "resume").1
    );
    let waited = work_events(&journal(t.dir()));
    assert_eq!(
        waited[before.len()..],
        ["note_added work@WEB01", "restart work@WEB01 waiting"],
        "neither back nor done while the host runs its old boot"
    );
    // The restart takes the host down now; it comes back in a new boot.
    fleet.down("WEB01");
    std::thread::sleep(Duration::from_secs(if boot_ids { 1 } else { 7 }));
    fleet.up(0);
    let new_boot = fleet.host("WEB01").boot_id.clone();
    assert_ne!(new_boot, old_boot);
    let out = finish(resumed.wait().unwrap().code(), &t, "resume");
    assert_eq!(out.0, Some(0), "{}", out.1);
    assert_eq!(restarts(&fleet, "WEB01"), 1, "the restart was not sent again");
    let events = work_events(&journal(t.dir()));
    let after: Vec<&str> = events[waited.len()..]
        .iter()
        .map(String::as_str)
        .filter(|e| *e != "restart work@WEB01 down")
        .collect();
    assert_eq!(after, ["restart work@WEB01 back", "instance_done work@WEB01"]);
    if !boot_ids {
        assert!(
            events.contains(&"restart work@WEB01 down".to_string()),
            "without boot identities, back only after a down seen: {events:?}"
        );
    }
    let read = if boot_ids { Some(old_boot) } else { None };
    let back = if boot_ids { Some(new_boot) } else { None };
    assert_eq!(
        restart_boots(&journal(t.dir())),
        [("boot_read".to_string(), read), ("back".to_string(), back)]
    );
}

#[test]
fn a_restart_killed_before_its_host_went_down_is_checked_only_in_the_new_boot() {
    killed_before_the_host_went_down(true);
}

#[test]
fn without_a_boot_identity_a_restart_killed_before_its_host_went_down_waits_for_a_down() {
    killed_before_the_host_went_down(false);
}

#[test]
fn a_restart_killed_during_the_wait_resumes_at_the_wait_without_restarting_again() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let t = Stepwise::new();
    write_restart_book(&t);
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file("a.yaml", "confirm: true\ndefault: done\n");
    let mut child = spawn(&t, "run");
    // Down, and once the journal says so, SIGKILL; the host comes back only afterwards.
    restart_when_asked(&mut fleet, "WEB01", Some((&mut child, t.dir())));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by SIGKILL");
    let before = work_events(&journal(t.dir()));
    assert_eq!(before.last().unwrap(), "restart work@WEB01 down", "{before:?}");

    let mut resumed = spawn(&t, "resume");
    std::thread::sleep(Duration::from_secs(2));
    fs::write(fleet.host("WEB01").tree.join("service-up"), "yes").unwrap();
    fleet.up(0);
    let out = finish(resumed.wait().unwrap().code(), &t, "resume");
    assert_eq!(out.0, Some(0), "{}", out.1);
    assert!(
        out.1.contains("The restart of WEB01 was sent before stepwise stopped: it is not sent again"),
        "{}",
        out.1
    );
    assert_eq!(restarts(&fleet, "WEB01"), 1, "the restart was not sent a second time");
    let events = work_events(&journal(t.dir()));
    let after: Vec<&str> = events[before.len()..].iter().map(String::as_str).collect();
    assert_eq!(
        after,
        [
            "note_added work@WEB01",
            "restart work@WEB01 waiting",
            "restart work@WEB01 back",
            "instance_done work@WEB01",
        ]
    );
}

}

/// One restart step on WEB01 (WEB02 is in the role but only WEB01's instance restarts): the
/// restart command leaves a mark in the host's tree; the check wants `service-up` there.
fn write_restart_book(t: &Stepwise) {
    t.file(
        "book.yaml",
        &crate::fleet::book(
            &[("web", "WEB01")],
            &format!(
                "      - id: work\n        title: Restart the server\n        on: web\n        action:\n          type: restart\n          program: sh\n          args: [-c, 'echo sent >> {HOST_ROOT}/restarts']\n          wait: 60\n          checks:\n            - exists: {HOST_ROOT}/service-up\n"
            ),
        ),
    );
}

/// How many restart marks a host's tree holds.
fn restarts(fleet: &Fleet, host: &str) -> usize {
    fs::read_to_string(fleet.host(host).tree.join("restarts"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Starts `stepwise run` (or `resume`) in the test's folder, output to a file there.
fn spawn(t: &Stepwise, command: &str) -> Child {
    let out = fs::File::create(t.dir().join(format!("{command}.out"))).unwrap();
    let args = match command {
        "run" => &RUN_BOOK[..],
        _ => &RESUME_BOOK[..],
    };
    let mut cmd = stepwise_command();
    cmd.args(args)
        .current_dir(t.dir())
        .env_remove("STEPWISE_STATE_DIR")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    cmd.spawn().unwrap()
}

/// The exit code and everything the process printed.
fn finish(code: Option<i32>, t: &Stepwise, command: &str) -> (Option<i32>, String) {
    let text = fs::read_to_string(t.dir().join(format!("{command}.out"))).unwrap_or_default();
    (code, text)
}

/// Plays the host's part of a restart: when its restart mark appears, its SSH server goes
/// down. With `kill` (the process and the test's folder), the `stepwise` process is then
/// SIGKILLed once its journal says the host is down, and the host stays down; otherwise the
/// host comes back after three seconds, with its service up a second later.
fn restart_when_asked(fleet: &mut Fleet, host: &str, kill: Option<(&mut Child, &Path)>) {
    let tree = fleet.host(host).tree.clone();
    wait_for("the restart command", || tree.join("restarts").exists());
    fleet.down(host);
    let i = fleet.hosts.iter().position(|h| h.name == host).unwrap();
    match kill {
        Some((child, dir)) => {
            let start = Instant::now();
            let down = format!("restart work@{host} down");
            while !work_events(&journal(dir)).contains(&down) {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "the host was never seen down"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            child.kill().unwrap(); // SIGKILL
        }
        None => {
            std::thread::sleep(Duration::from_secs(3));
            fleet.up(i);
            std::thread::sleep(Duration::from_secs(1));
            fs::write(tree.join("service-up"), "yes").unwrap();
        }
    }
}

/// The largest number of `(start, end)` spans that overlap at any start.
fn most_at_once(spans: &[(u128, u128)]) -> usize {
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

unix_only! {
"signals and `sh`";

#[test]
fn a_parallel_step_on_local_targets_runs_them_too() {
    let t = Stepwise::new();
    let marks = t.dir().join("marks");
    fs::create_dir(&marks).unwrap();
    let hosts = ["L1", "L2", "L3", "L4"];
    prepare(
        &t,
        &book(
            &hosts,
            &format!(
                "        parallel: 2\n        action: {{ type: command, program: sh, args: [-c, 'date +%s%N > {m}/$0.start; sleep 1; date +%s%N > {m}/$0.end', '{{{{ host }}}}'] }}\n",
                m = marks.display()
            ),
        ),
        "hosts:\n  L1: { target: local }\n  L2: { target: local }\n  L3: { target: local }\n  L4: { target: local }\n",
        "confirm: true\ndefault: done\n",
    );
    let t = t.args(RUN_BOOK);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let spans: Vec<(u128, u128)> = hosts
        .iter()
        .map(|h| {
            (
                nanos(&marks.join(format!("{h}.start"))),
                nanos(&marks.join(format!("{h}.end"))),
            )
        })
        .collect();
    assert_eq!(most_at_once(&spans), 2, "{spans:?}");
    let events = work_events(&journal(t.dir()));
    for h in hosts {
        assert!(events.contains(&format!("instance_done work@{h}")), "{events:?}");
    }
}

}

unix_only! {
"SSH test hosts need Linux namespaces";

#[test]
fn ctrl_c_stops_every_running_host_and_resume_answers_each_from_its_evidence() {
    let hosts = ["WEB01", "WEB02", "WEB03"];
    let fleet = Fleet::start(&hosts);
    let t = Stepwise::new();
    // The first time on a host it takes long; once it has begun there, it ends at once.
    prepare(
        &t,
        &book(
            &hosts,
            &format!(
                "        parallel: 3\n        action: {{ type: command, program: sh, args: [-c, 'if [ -f {HOST_ROOT}/began ]; then echo again >> {HOST_ROOT}/began; exit 0; fi; echo first > {HOST_ROOT}/began; sleep 60'] }}\n"
            ),
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let mut child = spawn(&t, "run");
    for h in hosts {
        wait_for("a host's command", || fleet.host(h).tree.join("began").exists());
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, text) = finish(child.wait().unwrap().code(), &t, "run");
    assert_eq!(code, Some(130), "{text}");
    let events = work_events(&journal(t.dir()));
    for h in hosts {
        let key = format!("work@{h}");
        assert!(events.contains(&format!("instance_started {key}")), "{events:?}");
        assert!(events.contains(&format!("action_output {key}")), "{events:?}");
        assert!(!events.contains(&format!("instance_done {key}")), "{events:?}");
        assert!(!events.contains(&format!("instance_failed {key}")), "{events:?}");
    }
    // Each output was saved without an exit code: stopped before it exited.
    let stopped = journal(t.dir())
        .lines()
        .filter(|l| l.contains(r#""kind":"action_output""#) && !l.contains("exit_code"))
        .count();
    assert_eq!(stopped, 3);

    let mut resumed = spawn(&t, "resume");
    let (code, text) = finish(resumed.wait().unwrap().code(), &t, "resume");
    assert_eq!(code, Some(0), "{text}");
    let events = work_events(&journal(t.dir()));
    for h in hosts {
        let key = format!("work@{h}");
        assert!(events.contains(&format!("in_doubt_resolved {key}")), "{events:?}");
        assert!(events.contains(&format!("instance_done {key}")), "{events:?}");
        assert_eq!(
            fs::read_to_string(fleet.host(h).tree.join("began")).unwrap(),
            "first\nagain\n",
            "{h}: taken up again once, on its own evidence"
        );
    }
}

}

#[test]
fn the_checklist_says_how_many_hosts_a_parallel_step_runs_on_at_once() {
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &book(
            &["WEB01", "WEB02", "WEB03"],
            "        parallel: 2\n        action: { type: command, program: iisreset.exe }\n",
        ),
    );
    let out = t.args(["checklist", "book.yaml"]).stdout();
    assert!(
        out.contains("       Automated (command, on up to 2 hosts at once): runs iisreset.exe\n"),
        "{out}"
    );
}
