//! `create_folder` on a host over SSH, against real OpenSSH servers started by
//! [`crate::fleet::Fleet`]: the folder and the folders above it that are missing are made on
//! the instance's host only (through SFTP), its check is read-only and says what a local
//! `create_folder` says, and resume looks on the host whether an interrupted one made it.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::common::Stepwise;
use crate::fleet::{Fleet, HOST_ROOT, run_dir, stepwise, wait_for};

/// The cases a folder can be in, one step each, under the path parameter `root`.
const CASES: &str = "      - { id: there, title: There, on: web, action: { type: create_folder, path: '{{ root }}/there' } }\n      - { id: new, title: New, on: web, action: { type: create_folder, path: '{{ root }}/share/Logs' } }\n      - { id: deep, title: Deep, on: web, action: { type: create_folder, path: '{{ root }}/share/a/b/Logs' } }\n      - { id: file, title: File, on: web, action: { type: create_folder, path: '{{ root }}/file' } }\n      - { id: link, title: Link, on: web, action: { type: create_folder, path: '{{ root }}/link' } }\n      - { id: under-file, title: Under a file, on: web, action: { type: create_folder, path: '{{ root }}/file/Logs' } }\n";

fn book(hosts: &str, steps: &str) -> String {
    format!(
        "id: book\ntitle: Book\narticle: KB0\nproduct: P\nparameters:\n  - {{ name: root, type: path, prompt: Root, default: {HOST_ROOT} }}\nroles:\n  - {{ id: web, title: Web, hosts: [{hosts}] }}\nphases:\n  - id: a\n    title: A\n    steps:\n{steps}"
    )
}

/// A tree with a folder, a share, a file and a link in it.
fn lay_out(tree: &Path) {
    fs::create_dir_all(tree.join("there")).unwrap();
    fs::create_dir_all(tree.join("share")).unwrap();
    fs::write(tree.join("file"), "a file").unwrap();
    std::os::unix::fs::symlink(tree.join("share"), tree.join("link")).unwrap();
}

/// The finding lines of a `check` about a step instance's folder.
fn folder_findings(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.contains(": folder "))
        .map(|l| l.trim().to_string())
        .collect()
}

/// `kind field=value…` of every journal event about `key`, in order.
fn events(dir: &Path, key: &str) -> Vec<String> {
    fs::read_to_string(run_dir(dir).join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(&format!("\"key\":\"{key}\"")))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut s = v["kind"].as_str().unwrap().to_string();
            for field in ["target", "resolution", "how"] {
                if let Some(x) = v.get(field) {
                    s.push_str(&format!(" {field}={}", x.to_string().trim_matches('"')));
                }
            }
            s
        })
        .collect()
}

#[test]
fn the_check_of_a_folder_over_ssh_says_what_a_local_one_says_and_changes_nothing() {
    let fleet = Fleet::start(&["WEB01"]);
    let tree = fleet.host("WEB01").tree.clone();
    lay_out(&tree);
    let t = Stepwise::new();
    let local = t.dir().join("local");
    lay_out(&local);
    t.file("book.yaml", &book("WEB01", CASES));
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file("here.yaml", "hosts:\n  WEB01: { target: local }\n");
    let before = fleet.trees();

    let remote = stepwise(
        t.dir(),
        &["check", "book.yaml", "--inventory", "inventory.yaml"],
    );
    assert_eq!(remote.code, 1, "{}\n{}", remote.stdout, remote.stderr);
    let root = format!("root={}", local.display());
    let here = stepwise(
        t.dir(),
        &[
            "check",
            "book.yaml",
            "--inventory",
            "here.yaml",
            "--set",
            &root,
        ],
    );
    assert_eq!(here.code, 1, "{}\n{}", here.stdout, here.stderr);
    let r = HOST_ROOT;
    assert_eq!(
        folder_findings(&remote.stdout),
        [
            format!(
                "ok        there@WEB01: folder {r}/there on WEB01: already exists; left as it is"
            ),
            format!(
                "ok        new@WEB01: folder {r}/share/Logs on WEB01: does not exist yet; it will be created, empty"
            ),
            format!(
                "ok        deep@WEB01: folder {r}/share/a/b/Logs on WEB01: does not exist yet; it will be created, empty, with the folders above it that do not exist yet: {r}/share/a, {r}/share/a/b"
            ),
            format!("blocking  file@WEB01: folder {r}/file on WEB01: a file is in its place"),
            format!("blocking  link@WEB01: folder {r}/link on WEB01: a link is in its place"),
            format!(
                "blocking  under-file@WEB01: folder {r}/file/Logs on WEB01: cannot be created: {r}/file is a file, not a folder"
            ),
        ],
        "{}",
        remote.stdout
    );
    // The same words as on this machine, but for the host and the paths.
    let local_said: Vec<String> = folder_findings(&here.stdout)
        .iter()
        .map(|l| l.replace(&local.display().to_string(), HOST_ROOT))
        .collect();
    let remote_said: Vec<String> = folder_findings(&remote.stdout)
        .iter()
        .map(|l| l.replace(" on WEB01", ""))
        .collect();
    assert_eq!(local_said, remote_said, "{}", here.stdout);
    // What to do, too.
    assert!(
        remote.stdout.contains(&format!(
            "Move a file out of the way, or restore the folder {r}/file on WEB01"
        )),
        "{}",
        remote.stdout
    );
    assert_eq!(fleet.trees(), before, "check changed a host's tree");

    // A folder that cannot take a new one (a read-only mount, which even root cannot write).
    t.file(
        "ro.yaml",
        &book(
            "WEB01",
            "      - { id: ro, title: Read-only, on: web, action: { type: create_folder, path: '{{ root }}/readonly/x/Logs' } }\n",
        ),
    );
    let out = stepwise(
        t.dir(),
        &["check", "ro.yaml", "--inventory", "inventory.yaml"],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        folder_findings(&out.stdout),
        [format!(
            "blocking  ro@WEB01: folder {r}/readonly/x/Logs on WEB01: cannot be created: {r}/readonly is not writable: permission denied"
        )]
    );
}

#[test]
fn a_folder_for_web02_is_made_with_its_missing_parents_on_web02_only() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    for h in ["WEB01", "WEB02"] {
        fs::create_dir(fleet.host(h).tree.join("share")).unwrap();
    }
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &book(
            "WEB02",
            "      - { id: logs, title: Logs, on: web, action: { type: create_folder, path: '{{ root }}\\share\\setup\\Logs' } }\n",
        ),
    );
    t.file(
        "inventory.yaml",
        &fleet.inventory("roles:\n  web: [WEB02]\n"),
    );
    t.file("a.yaml", "confirm: true\ndefault: done\n");
    let out = stepwise(t.dir(), &crate::fleet::RUN_BOOK);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let r = HOST_ROOT;
    assert!(
        out.stdout.contains(&format!(
            "   ✓ created the empty folder {r}\\share\\setup\\Logs on WEB02 (and the folders above it: {r}/share/setup)\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        fleet.trees(),
        [
            "WEB01: share",
            "WEB02: share",
            "WEB02: share/setup",
            "WEB02: share/setup/Logs",
        ]
    );
    let at = format!("127.0.0.3:{}", fleet.port);
    assert_eq!(
        events(t.dir(), "logs@WEB02"),
        [
            format!("instance_started target=ssh {at}"),
            "instance_done how=automated".to_string()
        ]
    );

    // Done again in a new run: the folder is left as it is, with what is in it.
    fs::write(
        fleet.host("WEB02").tree.join("share/setup/Logs/setup.log"),
        "kept",
    )
    .unwrap();
    fs::remove_dir_all(t.dir().join("runs")).unwrap();
    let out = stepwise(t.dir(), &crate::fleet::RUN_BOOK);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   ✓ {r}\\share\\setup\\Logs on WEB02 already exists; left as it is\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read_to_string(fleet.host("WEB02").tree.join("share/setup/Logs/setup.log")).unwrap(),
        "kept"
    );
}

#[test]
fn resume_looks_on_the_host_whether_an_interrupted_create_folder_made_its_folder() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let web01 = fleet.host("WEB01").tree.clone();
    let web02 = fleet.host("WEB02").tree.clone();
    let t = Stepwise::new();
    t.file(
        "book.yaml",
        &format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: gate, title: Gate, hosts: [WEB02] }}\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: wait, title: Wait, on: gate, action: {{ type: command, program: sh, args: [-c, 'touch {HOST_ROOT}/waiting; while ! test -e {HOST_ROOT}/go; do sleep 0.1; done'] }} }}\n      - {{ id: logs, title: Logs, on: web, action: {{ type: create_folder, path: '{HOST_ROOT}/Logs' }} }}\n"
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let run = Stepwise::new()
        .current_dir(t.dir())
        .args(crate::fleet::RUN_BOOK);
    let out = std::thread::scope(|scope| {
        let running = scope.spawn(|| run.run());
        wait_for("the first step to run on WEB02", || {
            web02.join("waiting").exists() || running.is_finished()
        });
        // WEB01's server stops answering before the walk reaches its folder: dispatched, and
        // what was sent gets no answer until the server is gone.
        crate::ssh_failures::freeze_sessions(&fleet, "WEB01");
        fs::write(web02.join("go"), "").unwrap();
        wait_for("logs@WEB01 to be dispatched", || {
            running.is_finished()
                || fs::read_dir(t.dir().join("runs")).is_ok_and(|d| {
                    d.flatten().any(|e| {
                        fs::read_to_string(e.path().join("journal.jsonl")).is_ok_and(|j| {
                            j.contains("\"kind\":\"instance_started\",\"key\":\"logs@WEB01\"")
                        })
                    })
                })
        });
        std::thread::sleep(Duration::from_millis(300));
        crate::ssh_failures::kill_host(&mut fleet, "WEB01");
        running.join().unwrap()
    });
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "   ✗ The connection to WEB01 dropped while `logs@WEB01` ran: its outcome is unknown.\n"
        ),
        "{}",
        out.stdout
    );
    let at = format!("127.0.0.2:{}", fleet.port);
    assert_eq!(
        events(t.dir(), "logs@WEB01"),
        [
            format!("instance_started target=ssh {at}"),
            "note_added".into()
        ],
        "neither done nor failed"
    );

    // WEB01 answers again and the folder is not there: the evidence says so, and pausing
    // leaves the instance in doubt.
    fleet.up(0);
    let resume = [
        "resume",
        "--operator",
        "alice",
        "--answers",
        "p.yaml",
        "--state-dir",
        "runs",
    ];
    t.file("p.yaml", "confirm: true\ndefault: done\nin_doubt: pause\n");
    let out = stepwise(t.dir(), &resume);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   It was interrupted. What is there now: the folder {HOST_ROOT}/Logs on WEB01 is missing (not created yet): the evidence says it did not complete.\n"
        )),
        "{}",
        out.stdout
    );
    assert!(!web01.join("Logs").exists());

    // Made meanwhile (the mkdir had reached the host): present, and done on that evidence.
    fs::create_dir(web01.join("Logs")).unwrap();
    t.file(
        "p.yaml",
        "confirm: true\ndefault: done\nin_doubt: evidence\n",
    );
    let out = stepwise(t.dir(), &resume);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "   It was interrupted. What is there now: the folder {HOST_ROOT}/Logs on WEB01 is present: the evidence says it completed.\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        events(t.dir(), "logs@WEB01")[2..],
        ["in_doubt_resolved resolution=done how=automated".to_string()]
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: Logs", "WEB02: go", "WEB02: waiting"]
    );
}
