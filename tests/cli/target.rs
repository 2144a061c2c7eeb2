//! Where actions run: the inventory's targets, the rule that nothing runs on this machine on
//! behalf of another host, `{{ host }}` and per-host values.

use std::fs;

use crate::common::Stepwise;

/// A runbook whose web servers each get a command that leaves a mark naming the host and a
/// per-host value, and a manual step with an optional automation.
const MARKS: &str = r#"id: marks
title: Marks
article: KB0
product: stepwise tests
parameters:
  - { name: work_dir, type: path, prompt: Work folder }
  - { name: site, type: string, prompt: Site name, default: Default Web Site }
roles:
  - { id: web, title: Web servers, hosts: [WEB01, WEB02] }
phases:
  - id: main
    title: Main
    steps:
      - id: mark
        title: Leave a mark on {{ host }}
        on: web
        action:
          type: command
          program: sh
          args: [-c, 'echo "$1 $2" >> "$0/marks"', '{{ work_dir }}', '{{ host }}', '{{ site }}']
      - id: restart
        title: Restart IIS on {{ host }}
        on: web
        automation: { type: command, program: sh, args: [-c, 'echo restarted >> "$0/restarts"', '{{ work_dir }}'] }
"#;

fn marks_case() -> Stepwise {
    let t = Stepwise::new();
    t.file("marks.yaml", MARKS);
    fs::create_dir(t.dir().join("work")).unwrap();
    t
}

#[test]
fn check_blocks_an_automated_step_on_a_host_without_a_target() {
    let t = marks_case();
    let work = t.dir().join("work");
    let t = t
        .args(["check", "marks.yaml", "--set"])
        .arg(format!("work_dir={}", work.display()));
    let out = t.run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("WEB0"))
        .filter(|l| l.contains("reach") || l.contains("to do"))
        .collect();
    assert_eq!(
        lines,
        [
            "    blocking  mark@WEB01: host WEB01: no way to reach WEB01: give it a target in the inventory, or do the step by hand",
            "              to do: Describe WEB01 under `hosts:` in the inventory (`target: ssh` with its address, or `target: local` when it is this machine), and pass it with --inventory FILE",
            "    blocking  mark@WEB02: host WEB02: no way to reach WEB02: give it a target in the inventory, or do the step by hand",
            "              to do: Describe WEB02 under `hosts:` in the inventory (`target: ssh` with its address, or `target: local` when it is this machine), and pass it with --inventory FILE",
            "    warning   restart@WEB01: automation: host WEB01: no way to reach WEB01: give it a target in the inventory, or do the step by hand",
            "              to do: Describe WEB01 under `hosts:` in the inventory (`target: ssh` with its address, or `target: local` when it is this machine), and pass it with --inventory FILE; or do the step by hand",
            "    warning   restart@WEB02: automation: host WEB02: no way to reach WEB02: give it a target in the inventory, or do the step by hand",
            "              to do: Describe WEB02 under `hosts:` in the inventory (`target: ssh` with its address, or `target: local` when it is this machine), and pass it with --inventory FILE; or do the step by hand",
        ]
    );
    assert_eq!(
        out.stdout.lines().last(),
        Some("5 ok, 2 warnings, 2 blocking")
    );
    // Nothing was run for them here.
    assert!(!work.join("marks").exists());
}

#[test]
fn a_run_never_runs_a_host_s_step_here_without_a_target_and_offers_it_by_hand() {
    let t = marks_case();
    let work = t.dir().join("work");
    t.file(
        "a.yaml",
        &format!(
            "params: {{ work_dir: '{}' }}\nconfirm: true\ndefault: done\noverride_checks: WEB01 and WEB02 are done by hand tonight\nsteps:\n  mark@WEB01: {{ decision: done, note: by hand }}\n  restart@WEB02: automate\n",
            work.display()
        ),
    );
    let t = t.args([
        "run",
        "marks.yaml",
        "--answers",
        "a.yaml",
        "--state-dir",
        "runs",
    ]);
    let out = t.run();
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "   Not run: no way to reach WEB01: give it a target in the inventory, or do the step by hand."
        ),
        "{}",
        out.stdout
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains(
            "`restart@WEB02` is answered `automate`, but its automation cannot run: no way to reach WEB02: give it a target in the inventory, or do the step by hand"
        ),
        "{said}"
    );
    assert!(!work.join("marks").exists(), "a mark was left here");
    assert!(!work.join("restarts").exists(), "IIS was restarted here");
}

unix_only! {
"its runbook's commands are `sh` scripts";

#[test]
fn host_and_per_host_values_fill_each_instance_on_its_target() {
    let t = marks_case();
    let work = t.dir().join("work");
    t.file(
        "inventory.yaml",
        "hosts:\n  WEB01: { target: local }\n  WEB02: { target: local, vars: { site: Intranet } }\n",
    );
    t.file(
        "a.yaml",
        &format!(
            "params: {{ work_dir: '{}' }}\nconfirm: true\ndefault: done\n",
            work.display()
        ),
    );
    let t = t.args([
        "run",
        "marks.yaml",
        "--operator",
        "alice",
        "--inventory",
        "inventory.yaml",
        "--answers",
        "a.yaml",
        "--state-dir",
        "runs",
    ]);
    let out = t.run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        fs::read_to_string(work.join("marks")).unwrap(),
        "WEB01 Default Web Site\nWEB02 Intranet\n"
    );
    assert!(
        out.stdout.contains("Leave a mark on WEB02  on WEB02"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("     on WEB01 (this machine)"),
        "{}",
        out.stdout
    );
}
}

#[test]
fn an_inventory_that_does_not_fit_is_refused_with_where_and_what() {
    let cases = [
        (
            "hosts:\n  WEB01: { target: ssh, adress: 10.0.0.1 }\n",
            "inventory.yaml:2:25: an inventory has `roles` (role to host names), `defaults`, `hosts` (host to how it is reached) and `known_hosts`: hosts.WEB01: unknown field `adress`, expected one of `target`, `address`, `port`, `user`, `auth`, `key`, `shell`, `connect_timeout`, `vars`",
        ),
        (
            "hosts:\n  WEB01: { target: winrm }\n",
            "inventory.yaml:2:20: an inventory has `roles` (role to host names), `defaults`, `hosts` (host to how it is reached) and `known_hosts`: hosts.WEB01.target: unknown variant `winrm`, expected `local` or `ssh`",
        ),
        (
            "hosts:\n  WEB01: { target: local, vars: { sites: x } }\n",
            "inventory.yaml: host WEB01: vars: runbook `marks` has no parameter `sites`; did you mean `site`?",
        ),
        (
            "hosts:\n  WEB01: { target: local, vars: { host: x } }\n",
            "inventory.yaml: host WEB01: vars: `host` is the host's own name and cannot be given",
        ),
        (
            "roles:\n  webs: [WEB01]\n",
            "inventory.yaml: runbook `marks` has no role `webs`; did you mean `web`?",
        ),
    ];
    for (text, expected) in cases {
        let t = marks_case();
        t.file("inventory.yaml", text);
        let out = t
            .args(["check", "marks.yaml", "--inventory", "inventory.yaml"])
            .run();
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (2, format!("stepwise: {expected}\n").as_str()),
            "{text}"
        );
    }
}

#[test]
fn host_is_known_only_in_a_step_on_a_role_and_is_no_parameter_name() {
    let t = Stepwise::new();
    t.file(
        "bad.yaml",
        "id: bad\ntitle: Bad\narticle: KB0\nproduct: P\nparameters:\n  - { name: host, type: string, prompt: Host }\nphases:\n  - id: a\n    title: A\n    steps:\n      - { id: one, title: 'On {{ host }}' }\n",
    );
    let out = t.args(["validate", "bad.yaml"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "bad.yaml:6:13: error: `host` is the name of the host a step instance is for; give the parameter another name"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "bad.yaml:11:34: error: `{{ host }}` is only known in a step that runs `on:` a role"
        ),
        "{}",
        out.stderr
    );
}

/// Every YAML block of docs/inventory.md that starts with `# inventory example` is an inventory
/// that `stepwise check hmc45-ur6` accepts.
#[test]
fn inventory_reference_examples_are_accepted() {
    let doc = fs::read_to_string(crate::common::root().join("docs/inventory.md")).unwrap();
    let mut count = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let block = block.split("```").next().unwrap();
        if !block.starts_with("# inventory example") {
            continue;
        }
        count += 1;
        let t = Stepwise::new();
        t.file("inventory.yaml", block);
        let out = t
            .args(["check", "hmc45-ur6", "--inventory", "inventory.yaml"])
            .run();
        assert!(
            out.code != 2 && out.stderr.is_empty(),
            "example {count} of docs/inventory.md: exit {}\n{}\n{block}",
            out.code,
            out.stderr
        );
    }
    assert!(count >= 2, "found only {count} examples");
}
