//! Runs, journals and the lock, through the real executable: `status`, `log`, `__hold-lock`.
//!
//! The engine that records runs comes later, so each test writes its run folder with the
//! library's recorder (fixed operator, machine and times), then runs `stepwise` on it and
//! compares whole outputs.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use stepwise::journal::{
    Completion, EventKind, Identity, NewEvent, NewRun, Recorder, Resolution, Run, RunOutcome,
    Timestamp,
};
use stepwise::plan::{Bindings, Plan};
use stepwise::runbook::{self, Runbook, Source, Value};

const RUNBOOK: &str = r#"id: demo
title: Demo rollup
article: KB000001
product: Demo 1.0
parameters:
  - { name: ur5_installed, type: bool, prompt: "Has Update Rollup 5 been installed?" }
  - { name: package_dir, type: path, prompt: Package folder, default: 'C:\temp\QFERollupPackage' }
  - { name: admin_password, type: secret, prompt: Password of the admin account }
roles:
  - { id: web, title: Web servers, hosts: [WEB01, WEB02] }
prerequisites:
  - The logon user is a member of the Domain Admins group.
phases:
  - id: prepare
    title: Prepare
    steps:
      - { id: stop-engine, title: Stop the provisioning engine }
      - id: uninstall
        title: Uninstall components
        items: [Resource Manager, Hosted Email]
  - id: finish
    title: Finish
    steps:
      - { id: restart-iis, title: Restart IIS, on: web }
      - { id: extra, title: Extra step, when: not ur5_installed }
"#;

const RUN_A: &str = "20261121-234512-demo-a1b2";
const RUN_B: &str = "20261122-080000-demo-c3d4";

/// A temporary folder with a state folder `runs/` in it, and the way to run stepwise there.
struct Env {
    tmp: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn new() -> Env {
        Env {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> PathBuf {
        self.tmp.path().join("runs")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepwise"));
        cmd.args(args)
            .current_dir(self.tmp.path())
            .env_remove("STEPWISE_STATE_DIR");
        cmd
    }

    /// Runs stepwise; the state folder's path reads `STATE` in the outputs.
    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).stdin(Stdio::null()).output().unwrap();
        let state = self.state().display().to_string();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&state, "STATE");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: clean(&out.stdout),
            stderr: clean(&out.stderr),
        }
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.state().join(id)
    }

    fn journal(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("journal.jsonl")
    }

    /// The text after `Journal:` that status and log show for a run: its events and the
    /// hash of the last one, read by the library.
    fn chain_text(&self, id: &str) -> String {
        let read = stepwise::journal::read_journal(&self.journal(id)).unwrap();
        format!(
            "{} events, chain verified; last sha256 {}",
            read.events.len(),
            read.chain.last().expect("a linked journal")
        )
    }

    /// `text` without its `Journal:` line, which is checked against [`Env::chain_text`].
    fn without_chain_line(&self, id: &str, text: &str) -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with("Journal:"))
            .expect("a Journal: line");
        assert_eq!(
            line.trim_start_matches("Journal:").trim_start(),
            self.chain_text(id)
        );
        text.replacen(&format!("{line}\n"), "", 1)
    }

    /// Appends raw bytes to a run's journal, as a crash or a stranger would leave them.
    fn append_raw(&self, id: &str, bytes: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.journal(id))
            .unwrap();
        f.write_all(bytes.as_bytes()).unwrap();
    }
}

fn source() -> Source {
    Source {
        name: "demo.yaml".into(),
        text: RUNBOOK.into(),
    }
}

fn runbook() -> Runbook {
    let loaded = runbook::load(&source());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.runbook.unwrap()
}

/// 2026-11-21T23:45:12Z plus `secs` seconds.
fn at(secs: i64) -> Timestamp {
    let start = Timestamp::parse("2026-11-21T23:45:12Z").unwrap();
    Timestamp::from_unix_millis(start.unix_millis() + secs * 1000)
}

fn alice() -> Identity {
    Identity {
        operator: "alice".into(),
        machine: "MPS01".into(),
        pid: 4242,
    }
}

fn bindings(ur5: bool) -> Bindings {
    let mut b = Bindings::default();
    b.values.insert("ur5_installed".into(), Value::Bool(ur5));
    b.values.insert(
        "admin_password".into(),
        Value::Text("hunter2-secret".into()),
    );
    b
}

/// Creates run `id` started at `at(start)`.
fn create(env: &Env, id: &str, plan: &Plan, rehearsal: bool, start: i64) -> Recorder {
    let src = source();
    let mut new = NewRun::new(&src, plan, rehearsal);
    new.identity = alice();
    new.started = at(start);
    new.run_id = Some(id.into());
    Recorder::create(&env.state(), new).unwrap()
}

/// Run A: a rehearsal, UR5 not installed, interrupted in the middle of `uninstall`.
fn run_a(env: &Env) {
    let rb = runbook();
    let plan = Plan::new(&rb, &bindings(false));
    let mut rec = create(env, RUN_A, &plan, true, 0);
    let i = &plan.instances;
    let keys: Vec<&str> = i.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "stop-engine",
            "uninstall",
            "restart-iis@WEB01",
            "restart-iis@WEB02",
            "extra"
        ]
    );
    for event in [
        NewEvent::instance_started(&i[0]).at(at(30)),
        NewEvent::instance_done(&i[0], Completion::Confirmed).at(at(120)),
        NewEvent::instance_started(&i[1]).at(at(130)),
        NewEvent::item_done(&i[1], "resource-manager").at(at(140)),
        NewEvent::note_added(Some(&i[1]), "the tool is slow today").at(at(150)),
    ] {
        rec.record(event).unwrap();
    }
}

/// Run B: UR5 installed, finished; one host skipped, one failure retried.
fn run_b(env: &Env) {
    let rb = runbook();
    let plan = Plan::new(&rb, &bindings(true));
    // 2026-11-22T08:00:00Z
    let start = 8 * 3600 + 14 * 60 + 48;
    let mut rec = create(env, RUN_B, &plan, false, start);
    let i = &plan.instances;
    let t = |s: i64| at(start + s);
    for event in [
        NewEvent::new(EventKind::PrerequisitesConfirmed).at(t(5)),
        NewEvent::instance_started(&i[0]).at(t(10)),
        NewEvent::instance_done(&i[0], Completion::Automated).at(t(25)),
        NewEvent::instance_started(&i[1]).at(t(30)),
        NewEvent::item_done(&i[1], "resource-manager").at(t(40)),
        NewEvent::item_skipped(&i[1], "hosted-email", "not installed here").at(t(50)),
        NewEvent::instance_done(&i[1], Completion::Confirmed).at(t(60)),
        NewEvent::instance_started(&i[2]).at(t(70)),
        NewEvent::action_output(&i[2], "output/000013-restart-iis@WEB01.log", Some(5)).at(t(75)),
        NewEvent::instance_failed(&i[2], "iisreset exited with 5").at(t(80)),
        NewEvent::known_issue_applied(Some(&i[2]), "iis-busy").at(t(90)),
        NewEvent::instance_started(&i[2]).at(t(100)),
        NewEvent::instance_done(&i[2], Completion::ByHand).at(t(3700)),
        NewEvent::instance_skipped(&i[3], "decommissioned last week").at(t(3710)),
        NewEvent::new(EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        })
        .at(t(3720)),
    ] {
        rec.record(event).unwrap();
    }
}

#[test]
fn status_lists_runs_newest_first() {
    let env = Env::new();
    run_a(&env);
    run_b(&env);
    let out = env.run(&["status", "--state-dir", "runs"]);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        "\
RUN                        RUNBOOK  STATE                    DONE  LEFT  LAST ACTIVITY
20261122-080000-demo-c3d4  demo     finished                  2/4     0  2026-11-22T09:02:00Z
20261121-234512-demo-a1b2  demo     interrupted (rehearsal)   1/5     4  2026-11-21T23:47:42Z
"
    );
    assert_eq!(out.code, 0);
}

#[test]
fn the_state_folder_comes_from_the_environment() {
    let env = Env::new();
    run_a(&env);
    let out = env
        .command(&["status"])
        .env("STEPWISE_STATE_DIR", env.state())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(RUN_A), "{stdout}");
    // And `./stepwise-runs` is the default.
    std::fs::rename(env.state(), env.tmp.path().join("stepwise-runs")).unwrap();
    let out = env.run(&["status"]);
    assert!(out.stdout.contains(RUN_A), "{}", out.stdout);
}

#[test]
fn status_of_one_run_in_detail() {
    let env = Env::new();
    run_a(&env);
    let out = env.run(&["status", "--state-dir", "runs", RUN_A]);
    assert_eq!(out.stderr, "");
    let sha = source().content_hash();
    assert_eq!(
        env.without_chain_line(RUN_A, &out.stdout),
        format!(
            "\
Run:           20261121-234512-demo-a1b2 (rehearsal)
Folder:        runs/20261121-234512-demo-a1b2
Runbook:       demo: Demo rollup
Source:        demo.yaml (sha256 {})
Started:       2026-11-21T23:45:12Z by alice on MPS01
State:         interrupted: the process stopped without recording why
Last activity: 2026-11-21T23:47:42Z
Progress:      1 done (1 by hand), 0 partly done, 0 skipped, 0 failed, 1 in doubt, 3 pending: 4 left of 5
Prerequisites: not confirmed yet
Parameters:    admin_password = (secret, not recorded)
               package_dir = C:\\temp\\QFERollupPackage
               ur5_installed = false
Hosts:         web: WEB01, WEB02

STEP  INSTANCE           STATE         BY     AT
1.1   stop-engine        done by hand  alice  2026-11-21T23:47:12Z
       done by hand: the operator confirmed the step
1.2   uninstall          IN DOUBT      alice  2026-11-21T23:47:22Z
       started and never finished: did it complete?
       note: the tool is slow today (alice, 2026-11-21T23:47:42Z)
       item resource-manager: done (alice, 2026-11-21T23:47:32Z)
       item hosted-email: pending
2.1   restart-iis@WEB01  pending
2.1   restart-iis@WEB02  pending
2.2   extra              pending

1 instance is IN DOUBT: started and never finished; `stepwise resume` asks whether it completed.
",
            &sha[..12]
        )
    );
    assert_eq!(out.code, 0);
    // A run folder's path works as well as its id, and gives the same report.
    let by_path = env.run(&["status", "--state-dir", "runs", &format!("runs/{RUN_A}")]);
    assert_eq!(by_path.stdout, out.stdout);
}

#[test]
fn status_of_a_finished_run_in_detail() {
    let env = Env::new();
    run_b(&env);
    let out = env.run(&["status", "--state-dir", "runs", RUN_B]);
    assert_eq!(out.stderr, "");
    let text = out.stdout;
    let table = &text[text.find("STEP").unwrap()..];
    assert_eq!(
        table,
        "\
STEP  INSTANCE           STATE               BY     AT
1.1   stop-engine        done by automation  alice  2026-11-22T08:00:25Z
       done by its automation (its outcome is journaled)
1.2   uninstall          partly done         alice  2026-11-22T08:01:00Z
       partly done: items left: hosted-email
       item resource-manager: done (alice, 2026-11-22T08:00:40Z)
       item hosted-email: skipped: not installed here (alice, 2026-11-22T08:00:50Z)
2.1   restart-iis@WEB01  done by hand        alice  2026-11-22T09:01:40Z
       done by hand, on the operator's word (see the notes)
       started 2 times
       output: output/000013-restart-iis@WEB01.log (exit code 5)
       known issue applied: iis-busy
2.1   restart-iis@WEB02  skipped             alice  2026-11-22T09:01:50Z
       reason: decommissioned last week
"
    );
    assert!(text.contains("\nState:         finished\n"), "{text}");
    assert!(
        text.contains("\nPrerequisites: confirmed (alice, 2026-11-22T08:00:05Z)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "\nProgress:      2 done (1 by hand), 1 partly done, 1 skipped, 0 failed, 0 in doubt, 0 pending: 0 left of 4\n"
        ),
        "{text}"
    );
}

#[test]
fn status_as_json() {
    let env = Env::new();
    run_a(&env);
    let out = env.run(&["status", "--state-dir", "runs", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list["runs"][0]["run_id"], RUN_A);
    assert_eq!(list["runs"][0]["state"], "interrupted");
    assert_eq!(list["runs"][0]["rehearsal"], true);
    assert_eq!(list["runs"][0]["counts"]["left"], 4);
    let out = env.run(&["status", "--state-dir", "runs", "--json", RUN_A]);
    let one: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(one["counts"]["in_doubt"], 1);
    assert_eq!(one["instances"][1]["key"], "uninstall");
    assert_eq!(one["instances"][1]["state"], "in_doubt");
    assert_eq!(one["instances"][1]["in_doubt"], true);
    assert_eq!(one["instances"][1]["items"][0]["id"], "resource-manager");
    assert_eq!(one["params"]["ur5_installed"], false);
    assert_eq!(one["secret_params"][0], "admin_password");
    assert_eq!(one["held_by"], serde_json::Value::Null);
    let empty = Env::new();
    std::fs::create_dir(empty.state()).unwrap();
    let out = empty.run(&["status", "--state-dir", "runs", "--json"]);
    assert_eq!(
        out.stdout,
        "{\n  \"abandoned_creations\": [],\n  \"format\": 1,\n  \"runs\": [],\n  \"state_dir\": \"runs\"\n}\n"
    );
}

#[test]
fn log_is_a_timeline_with_durations() {
    let env = Env::new();
    run_a(&env);
    run_b(&env);
    let out = env.run(&["log", "--state-dir", "runs", RUN_B]);
    assert_eq!(out.stderr, "");
    assert_eq!(
        env.without_chain_line(RUN_B, &out.stdout),
        "\
Run 20261122-080000-demo-c3d4: demo, Demo rollup
2026-11-22T08:00:00Z  alice  run started on MPS01
2026-11-22T08:00:00Z  alice  parameters: package_dir=C:\\temp\\QFERollupPackage, ur5_installed=true
2026-11-22T08:00:00Z  alice  hosts: web: WEB01, WEB02
2026-11-22T08:00:05Z  alice  prerequisites confirmed
2026-11-22T08:00:10Z  alice  1.1 stop-engine: started
2026-11-22T08:00:25Z  alice  1.1 stop-engine: done by automation after 15s
2026-11-22T08:00:30Z  alice  1.2 uninstall: started
2026-11-22T08:00:40Z  alice  1.2 uninstall: item resource-manager done
2026-11-22T08:00:50Z  alice  1.2 uninstall: item hosted-email skipped: not installed here
2026-11-22T08:01:00Z  alice  1.2 uninstall: partly done after 30s (recorded as done): items left: hosted-email
2026-11-22T08:01:10Z  alice  2.1 restart-iis@WEB01: started
2026-11-22T08:01:15Z  alice  2.1 restart-iis@WEB01: output saved to output/000013-restart-iis@WEB01.log (exit code 5)
2026-11-22T08:01:20Z  alice  2.1 restart-iis@WEB01: failed after 10s: iisreset exited with 5
2026-11-22T08:01:30Z  alice  2.1 restart-iis@WEB01: known issue iis-busy applied
2026-11-22T08:01:40Z  alice  2.1 restart-iis@WEB01: started (attempt 2)
2026-11-22T09:01:40Z  alice  2.1 restart-iis@WEB01: done by hand after 1h 00m
2026-11-22T09:01:50Z  alice  2.1 restart-iis@WEB02: skipped: decommissioned last week
2026-11-22T09:02:00Z  alice  run finished: completed after 1h 02m
State: finished: 2 done (1 by hand), 1 partly done, 1 skipped, 0 failed, 0 in doubt, 0 pending: 0 left of 4
"
    );
    assert_eq!(out.code, 0);
}

#[test]
fn log_without_a_run_shows_the_newest_and_marks_a_rehearsal() {
    let env = Env::new();
    run_a(&env);
    let out = env.run(&["log", "--state-dir", "runs"]);
    assert_eq!(out.stderr, "");
    assert_eq!(
        env.without_chain_line(RUN_A, &out.stdout),
        "\
Run 20261121-234512-demo-a1b2 (rehearsal): demo, Demo rollup
2026-11-21T23:45:12Z  alice  run started on MPS01 (rehearsal)
2026-11-21T23:45:12Z  alice  parameters: package_dir=C:\\temp\\QFERollupPackage, ur5_installed=false
2026-11-21T23:45:12Z  alice  hosts: web: WEB01, WEB02
2026-11-21T23:45:42Z  alice  1.1 stop-engine: started
2026-11-21T23:47:12Z  alice  1.1 stop-engine: done by hand after 1m 30s
2026-11-21T23:47:22Z  alice  1.2 uninstall: started
2026-11-21T23:47:32Z  alice  1.2 uninstall: item resource-manager done
2026-11-21T23:47:42Z  alice  1.2 uninstall: note: the tool is slow today
State: interrupted (rehearsal): 1 done (1 by hand), 0 partly done, 0 skipped, 0 failed, 1 in doubt, 3 pending: 4 left of 5
"
    );
    run_b(&env);
    let newest = env.run(&["log", "--state-dir", "runs"]);
    assert!(
        newest.stdout.starts_with(&format!("Run {RUN_B}:")),
        "{}",
        newest.stdout
    );
}

#[test]
fn an_empty_state_folder_has_no_runs() {
    let env = Env::new();
    std::fs::create_dir(env.state()).unwrap();
    let out = env.run(&["status", "--state-dir", "runs"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "no runs under runs\n", "")
    );
    let out = env.run(&["log", "--state-dir", "runs"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "", "stepwise: no runs under runs\n")
    );
}

#[test]
fn a_missing_state_folder_is_an_error() {
    let env = Env::new();
    let out = env.run(&["status", "--state-dir", "nowhere"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            "stepwise: cannot read the state folder nowhere: no such file or folder\n"
        )
    );
    let out = env.run(&["log"]);
    assert_eq!(
        out.stderr,
        "stepwise: cannot read the state folder stepwise-runs: no such file or folder\n"
    );
    std::fs::write(env.tmp.path().join("a-file"), "").unwrap();
    let out = env.run(&["status", "--state-dir", "a-file"]);
    assert_eq!(
        out.stderr,
        "stepwise: cannot read the state folder a-file: a part of the path is not a folder\n"
    );
}

#[test]
fn an_unknown_run_is_wrong_usage() {
    let env = Env::new();
    run_a(&env);
    let out = env.run(&["status", "--state-dir", "runs", "20990101-000000-demo-ffff"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            2,
            "stepwise: no run `20990101-000000-demo-ffff`: not a run folder, and not a run id under runs\n"
        )
    );
    std::fs::create_dir(env.tmp.path().join("empty")).unwrap();
    let out = env.run(&["log", "empty"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "stepwise: empty: not a stepwise run folder (it has no run.json)\n"
        )
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_state_folder_refuses_a_new_run_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::create_dir(env.state()).unwrap();
    std::fs::set_permissions(env.state(), std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(env.state().join("probe"), "").is_ok() {
        // Running as root: permissions do not bind, so there is nothing to observe here.
        eprintln!("skipped: the state folder stays writable for this user (root)");
        return;
    }
    let rb = runbook();
    let plan = Plan::new(&rb, &bindings(false));
    let src = source();
    let mut new = NewRun::new(&src, &plan, false);
    new.run_id = Some(RUN_A.into());
    let err = Recorder::create(&env.state(), new).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create a run under {}: permission denied",
            env.state().display()
        )
    );
    // Nothing half-made is left behind.
    assert_eq!(std::fs::read_dir(env.state()).unwrap().count(), 0);
    std::fs::set_permissions(env.state(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_new_run_folder_is_complete_and_never_holds_a_secret() {
    let env = Env::new();
    let rb = runbook();
    let plan = Plan::new(&rb, &bindings(false));
    let src = source();
    let rec = Recorder::create(&env.state(), NewRun::new(&src, &plan, false)).unwrap();
    let dir = rec.run().dir().to_path_buf();
    let id = rec.run().id().to_string();
    // YYYYMMDD-HHMMSS-demo-XXXX
    assert_eq!(id.len(), 15 + 1 + 4 + 1 + 4, "{id}");
    assert!(id[16..].starts_with("demo-"), "{id}");
    for name in [
        "run.json",
        "runbook.yaml",
        "journal.jsonl",
        "output",
        "backup",
        "lock",
        "lock.json",
    ] {
        assert!(dir.join(name).exists(), "{name}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("runbook.yaml")).unwrap(),
        RUNBOOK
    );
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(header["stepwise_run_format"], 2);
    assert_eq!(header["runbook_sha256"], src.content_hash());
    assert_eq!(header["params"]["ur5_installed"], false);
    assert_eq!(header["params"].get("admin_password"), None);
    assert_eq!(
        header["hosts"]["web"],
        serde_json::json!(["WEB01", "WEB02"])
    );
    for entry in walk(&dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("hunter2-secret"),
            "{} holds the secret",
            entry.display()
        );
    }
    // Recording a secret is refused.
    let mut rec = rec;
    let err = rec
        .record(NewEvent::new(EventKind::ParamsSet {
            params: [(
                "admin_password".to_string(),
                stepwise::journal::ParamValue::Text("x".into()),
            )]
            .into(),
        }))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing to record the value of secret parameter `admin_password`"
    );
    // Dropping the recorder releases the lock and removes the holder's description.
    drop(rec);
    assert!(!dir.join("lock.json").exists());
    // A second run in the same second gets another id.
    let again = Recorder::create(&env.state(), NewRun::new(&src, &plan, false)).unwrap();
    assert_ne!(again.run().id(), id);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_torn_last_line_is_tolerated_and_repaired_on_resume() {
    let env = Env::new();
    run_a(&env);
    let before = env.run(&["status", "--state-dir", "runs", RUN_A]).stdout;
    env.append_raw(
        RUN_A,
        r#"{"seq":9,"time":"2026-11-21T23:48:00.000Z","operator":"al"#,
    );
    let out = env.run(&["status", "--state-dir", "runs", RUN_A]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "stepwise: warning: runs/20261121-234512-demo-a1b2/journal.jsonl:9: the last line is torn (an unfinished write, probably from a crash); it is ignored\n"
    );
    assert_eq!(out.stdout, before);
    // Resuming closes the torn line with a newline and says so in its `resumed` event.
    let run = Run::open(&env.run_dir(RUN_A)).unwrap();
    let mut rec = Recorder::resume(run, alice()).unwrap();
    assert_eq!(rec.warnings().len(), 1);
    assert_eq!(rec.progress().in_doubt(), ["uninstall"]);
    let rb = runbook();
    let plan = Plan::new(&rb, &bindings(false));
    rec.record(NewEvent::in_doubt_resolved(&plan.instances[1], Resolution::Done, None).at(at(200)))
        .unwrap();
    drop(rec);
    let text = std::fs::read_to_string(env.journal(RUN_A)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 11);
    assert_eq!(
        lines[8],
        r#"{"seq":9,"time":"2026-11-21T23:48:00.000Z","operator":"al"#
    );
    assert!(
        lines[9].contains(r#""kind":"resumed","#)
            && lines[9].contains(r#""repaired_torn_line":true"#),
        "{}",
        lines[9]
    );
    let out = env.run(&["log", "--state-dir", "runs", RUN_A]);
    assert_eq!(out.stderr, "");
    let tail: Vec<&str> = out.stdout.lines().rev().take(3).collect();
    assert!(
        tail[2].contains("  alice  resumed on MPS01 (the journal's torn last line was closed)"),
        "{}",
        tail[2]
    );
    assert_eq!(
        tail[1],
        "2026-11-21T23:48:32Z  alice  1.2 uninstall: in doubt, resolved: it had completed"
    );
    assert_eq!(
        tail[0],
        "State: interrupted (rehearsal): 2 done (2 by hand), 0 partly done, 0 skipped, 0 failed, 0 in doubt, 3 pending: 3 left of 5"
    );
}

#[test]
fn a_corrupt_line_in_the_middle_is_an_error_naming_the_line() {
    let env = Env::new();
    run_a(&env);
    env.append_raw(RUN_A, "this is not JSON\n");
    env.append_raw(
        RUN_A,
        r#"{"seq":9,"time":"2026-11-21T23:48:00.000Z","operator":"alice","kind":"paused"}
"#,
    );
    for cmd in ["status", "log"] {
        let out = env.run(&[cmd, "--state-dir", "runs", RUN_A]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (
                1,
                "",
                "stepwise: runs/20261121-234512-demo-a1b2/journal.jsonl:9: corrupt journal: not a valid event (expected ident at column 2)\n"
            ),
            "{cmd}"
        );
    }
    // The list goes on with the other runs, names the broken one, and fails.
    run_b(&env);
    let out = env.run(&["status", "--state-dir", "runs"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        "\
RUN                        RUNBOOK  STATE       DONE  LEFT  LAST ACTIVITY
20261122-080000-demo-c3d4  demo     finished     2/4     0  2026-11-22T09:02:00Z
20261121-234512-demo-a1b2  ?        unreadable     -     -  -
"
    );
    assert_eq!(
        out.stderr,
        "stepwise: runs/20261121-234512-demo-a1b2/journal.jsonl:9: corrupt journal: not a valid event (expected ident at column 2)\n"
    );
}

#[test]
fn a_foreign_journal_or_header_is_an_error_naming_the_file() {
    let env = Env::new();
    run_a(&env);
    std::fs::write(env.journal(RUN_A), RUNBOOK).unwrap();
    let out = env.run(&["status", "--state-dir", "runs", RUN_A]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "stepwise: runs/20261121-234512-demo-a1b2/journal.jsonl:1: not a stepwise journal: the first line is not a run_started event (expected value at column 1)\n"
        )
    );
    // Another run's journal.
    run_b(&env);
    std::fs::copy(env.journal(RUN_B), env.journal(RUN_A)).unwrap();
    let out = env.run(&["log", "--state-dir", "runs", RUN_A]);
    assert_eq!(
        out.stderr,
        "stepwise: runs/20261121-234512-demo-a1b2/journal.jsonl:1: this journal belongs to run 20261122-080000-demo-c3d4, not to run 20261121-234512-demo-a1b2 (run.json)\n"
    );
    // Headers: YAML, JSON of another shape, a newer format, a missing field.
    let header = env.run_dir(RUN_B).join("run.json");
    let original = std::fs::read_to_string(&header).unwrap();
    for (text, message) in [
        (
            "id: demo\n".to_string(),
            "runs/20261122-080000-demo-c3d4/run.json:1: not a stepwise run header: expected value",
        ),
        (
            "{\"name\": \"something else\"}\n".to_string(),
            "runs/20261122-080000-demo-c3d4/run.json: not a stepwise run header (it has no stepwise_run_format)",
        ),
        (
            original.replace("\"stepwise_run_format\": 2", "\"stepwise_run_format\": 7"),
            "runs/20261122-080000-demo-c3d4/run.json: the run was recorded by a newer stepwise (run format 7; this one reads 2)",
        ),
        (
            original.replace("  \"runbook_sha256\"", "  \"runbook_hash\""),
            "runs/20261122-080000-demo-c3d4/run.json:26: invalid run header: missing field `runbook_sha256`",
        ),
    ] {
        std::fs::write(&header, text).unwrap();
        let out = env.run(&["status", "--state-dir", "runs", RUN_B]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (1, format!("stepwise: {message}\n").as_str())
        );
    }
}

/// Starts `stepwise __hold-lock RUN` and waits until it holds the lock.
fn hold(env: &Env, id: &str) -> Child {
    let mut child = env
        .command(&["__hold-lock", "--state-dir", "runs", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line,
        format!("holding run {id} as process {}\n", child.id())
    );
    child
}

#[test]
fn the_lock_refuses_a_second_process_and_names_the_holder() {
    let env = Env::new();
    run_a(&env);
    let mut holder = hold(&env, RUN_A);
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.run_dir(RUN_A).join("lock.json")).unwrap(),
    )
    .unwrap();
    let since = Timestamp::parse(info["since"].as_str().unwrap()).unwrap();
    let machine = stepwise::journal::machine_name();
    let out = env.run(&["__hold-lock", "--state-dir", "runs", RUN_A]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            1,
            "",
            format!(
                "stepwise: run {RUN_A} is in use by process {} on {machine} since {since}\n",
                holder.id()
            )
            .as_str()
        )
    );
    // The library refuses the same way.
    let err = Recorder::resume(Run::open(&env.run_dir(RUN_A)).unwrap(), alice()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "run {RUN_A} is in use by process {} on {machine} since {since}",
            holder.id()
        )
    );
    // While held, the run is running, and status says by whom.
    let out = env.run(&["status", "--state-dir", "runs", RUN_A]);
    assert!(
        out.stdout.contains(&format!(
            "\nState:         running: process {} on {machine} since {since}\n",
            holder.id()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("1.2   uninstall          in progress   alice"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("IN DOUBT"), "{}", out.stdout);
    // Closing the holder's standard input lets go; the lock is free again.
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    let out = env.run(&["__hold-lock", "--state-dir", "runs", RUN_A]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn the_lock_is_released_when_its_holder_is_killed() {
    let env = Env::new();
    run_a(&env);
    let mut holder = hold(&env, RUN_A);
    let out = env.run(&["status", "--state-dir", "runs"]);
    assert!(
        out.stdout.contains(" running (rehearsal) "),
        "{}",
        out.stdout
    );
    holder.kill().unwrap(); // SIGKILL: no destructor runs, lock.json stays behind
    holder.wait().unwrap();
    assert!(env.run_dir(RUN_A).join("lock.json").exists());
    let out = env.run(&["status", "--state-dir", "runs"]);
    assert!(
        out.stdout.contains(" interrupted (rehearsal) "),
        "{}",
        out.stdout
    );
    // Another process gets the run at once.
    let mut next = hold(&env, RUN_A);
    drop(next.stdin.take());
    assert!(next.wait().unwrap().success());
    // And so does the library.
    let rec = Recorder::resume(Run::open(&env.run_dir(RUN_A)).unwrap(), alice()).unwrap();
    assert_eq!(rec.progress().resumes, 1);
}
