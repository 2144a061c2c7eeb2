//! SSH from a Windows jump host: `stepwise.exe`, under Wine, reaching Linux hosts started by the
//! harness of the Linux suite ([`Fleet`], real OpenSSH servers each with its own tree). The key
//! file and the known-hosts file are given to it as Windows paths (`Z:\…`, Wine's view of `/`).
//!
//! Proves what a Windows operator relies on: a command on WEB02 runs on WEB02 and nowhere else,
//! `check` reaches every host and stays read-only, and an unknown or changed host key and an
//! unreachable host are blocking with the same words as on Linux.

use std::fs;
use std::path::Path;

use crate::common::Stepwise;
use crate::fleet::{CHECK_BOOK, Fleet, HOST_ROOT, RUN_BOOK, prepare};

/// How Windows programs under Wine name a Linux path: drive `Z:` is `/`.
fn z(path: &Path) -> String {
    format!(r"Z:{}", path.display().to_string().replace('/', r"\"))
}

/// The fleet's inventory with its key and known-hosts file as Windows paths.
fn windows_inventory(fleet: &Fleet) -> String {
    let key = fleet.path("client_key");
    let known = fleet.path("known_hosts");
    fleet
        .inventory("")
        .replace(
            &format!("key: {}", key.display()),
            &format!("key: '{}'", z(&key)),
        )
        .replace(
            &format!("known_hosts: {}", known.display()),
            &format!("known_hosts: '{}'", z(&known)),
        )
}

const BOOK: &str = "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - { id: web, title: Web, hosts: [WEB01, WEB02] }\nphases:\n  - id: a\n    title: A\n    steps:\n      - { id: mark, title: Leave a mark, on: web, action: { type: command, program: sh, args: [-c, 'echo {{ host }} > /tmp/stepwise-ssh-host/mark'] } }\n";

#[test]
fn a_command_runs_on_exactly_the_host_its_instance_is_for() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    let t = Stepwise::new();
    prepare(
        &t,
        BOOK,
        &windows_inventory(&fleet),
        "confirm: true\ndefault: done\n",
    );
    let out = t.args(RUN_BOOK).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for name in ["WEB01", "WEB02"] {
        let mark = fleet.host(name).tree.join("mark");
        assert_eq!(
            fs::read_to_string(&mark).unwrap_or_else(|e| panic!("{name}: {e}")),
            format!("{name}\n")
        );
    }
    assert!(
        !Path::new(HOST_ROOT).join("mark").exists(),
        "the command ran on this machine"
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: mark", "WEB02: mark"],
        "each host's tree holds its own mark and nothing else"
    );
}

#[test]
fn check_reaches_each_host_and_reports_keys_and_unreachable_hosts_as_blocking() {
    let mut fleet = Fleet::start(&["WEB01", "WEB02"]);
    let check = |fleet: &Fleet| {
        let t = Stepwise::new();
        t.file("book.yaml", BOOK);
        t.file("inventory.yaml", &windows_inventory(fleet));
        let out = t.args(CHECK_BOOK).run();
        let blocking: Vec<String> = out
            .stdout
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("blocking"))
            .map(str::to_string)
            .collect();
        (out.code, blocking, out.stdout)
    };

    // Both hosts pinned and up: nothing blocks, and no host's tree changes.
    let (code, blocking, stdout) = check(&fleet);
    assert_eq!((code, blocking.len()), (0, 0), "{stdout}");
    assert!(fleet.trees().is_empty(), "{:?}", fleet.trees());

    // WEB02's key unknown: its fingerprint is shown, WEB01 still checks clean.
    let at2 = format!("127.0.0.3:{}", fleet.port);
    let fp2 = fleet.fingerprint("WEB02");
    let pinned = fs::read_to_string(fleet.path("known_hosts")).unwrap();
    let only_web01: String = pinned
        .lines()
        .filter(|l| l.starts_with("[127.0.0.2]"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(fleet.path("known_hosts"), &only_web01).unwrap();
    let (code, blocking, stdout) = check(&fleet);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        blocking,
        [format!(
            "blocking  mark@WEB02: host WEB02 over SSH: WEB02 ({at2}) offers a host key that is not pinned: ssh-ed25519 {fp2}; check that it is WEB02's, then accept it at the terminal or pin it with `host_keys: {{ WEB02: \"{fp2}\" }}` in the answers file"
        )],
        "{stdout}"
    );
    assert_eq!(
        fs::read_to_string(fleet.path("known_hosts")).unwrap(),
        only_web01,
        "a check pins nothing"
    );

    // WEB02 down: refused, naming the host.
    fleet.pin_all();
    fleet.down("WEB02");
    let (code, blocking, stdout) = check(&fleet);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(blocking.len(), 1, "{stdout}");
    assert!(
        blocking[0].starts_with(&format!(
            "blocking  mark@WEB02: host WEB02 over SSH: cannot connect to WEB02 ({at2}): "
        )),
        "{stdout}"
    );
}
