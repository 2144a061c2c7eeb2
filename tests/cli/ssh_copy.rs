//! `copy` to a host over SSH, against real OpenSSH servers started by [`crate::fleet::Fleet`]:
//! from the package on this machine to a share on one host, with backups, content verified by
//! reading it back, resumable, and its check read-only everywhere.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::Stepwise;
use crate::fleet::{CHECK_BOOK, Fleet, HOST_ROOT, book, prepare, run_dir, stepwise};

/// A runbook with one copy step per `(id, files, to)` on role `web`, from `pkg`, with a
/// manifest `files` of the given rows.
fn copy_book(hosts: &str, pkg: &Path, steps: &[(&str, &str, &str)], manifest: &str) -> String {
    let mut text = String::new();
    for (id, files, to) in steps {
        text.push_str(&format!(
            "      - id: {id}\n        title: Copy {id}\n        on: web\n        action: {{ type: copy, from: '{}', to: '{to}', files: [{files}], manifest: files }}\n",
            pkg.display()
        ));
    }
    text.push_str(&format!(
        "manifests:\n  - id: files\n    title: Files\n    files:\n{manifest}"
    ));
    book(&[("web", hosts)], &text)
}

/// The package on this machine: `A.msi` and `B.msi`.
fn package(t: &Stepwise) -> PathBuf {
    let pkg = t.dir().join("pkg");
    fs::create_dir_all(&pkg).unwrap();
    fs::write(pkg.join("A.msi"), "new A\n").unwrap();
    fs::write(pkg.join("B.msi"), vec![b'b'; 3 << 20]).unwrap();
    fs::set_permissions(pkg.join("B.msi"), fs::Permissions::from_mode(0o775)).unwrap();
    pkg
}

/// Runs `book.yaml` in `dir` with its inventory and answers; the output and the run folder.
fn run(dir: &Path, envs: &[(&str, &str)]) -> (crate::common::Output, PathBuf) {
    let mut t = Stepwise::new().current_dir(dir);
    for (k, v) in envs {
        t = t.env(k, v);
    }
    let out = t.args(crate::fleet::RUN_BOOK).run();
    (out, run_dir(dir))
}

/// Every file under a local folder, relative, sorted.
fn local_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_copy_to_web02_backs_up_verifies_and_changes_web02s_tree_only() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    for h in ["WEB01", "WEB02"] {
        fs::create_dir(fleet.host(h).tree.join("share")).unwrap();
    }
    let web02 = fleet.host("WEB02").tree.join("share");
    fs::write(web02.join("a.MSI"), "old A\n").unwrap();
    fs::set_permissions(web02.join("a.MSI"), fs::Permissions::from_mode(0o640)).unwrap();
    let t = Stepwise::new();
    let pkg = package(&t);
    let before = local_tree(&pkg);
    prepare(
        &t,
        &copy_book(
            "WEB02",
            &pkg,
            &[("copy", "A.msi, B.msi", &format!("{HOST_ROOT}/share"))],
            "      - { name: B.msi, size: 3145728 }\n",
        ),
        &fleet.inventory("roles:\n  web: [WEB02]\n"),
        "confirm: true\ndefault: done\n",
    );
    let (out, run_dir) = run(t.dir(), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("✓ copied 2 files to {HOST_ROOT}/share on WEB02")),
        "{}",
        out.stdout
    );
    assert_eq!(fs::read_to_string(web02.join("a.MSI")).unwrap(), "new A\n");
    assert_eq!(fs::read(web02.join("B.msi")).unwrap(), vec![b'b'; 3 << 20]);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        mode(&web02.join("a.MSI")),
        0o640,
        "a replaced file keeps its permissions"
    );
    assert_eq!(
        mode(&web02.join("B.msi")),
        0o755,
        "a new file: the source's, narrowed"
    );
    let backup = run_dir.join("backup/copy@WEB02/a.MSI");
    assert_eq!(fs::read_to_string(&backup).unwrap(), "old A\n");
    assert_eq!(
        mode(&backup),
        0o640,
        "a backup has the original's permissions"
    );
    assert_eq!(
        fleet.trees(),
        [
            "WEB01: share",
            "WEB02: share",
            "WEB02: share/B.msi",
            "WEB02: share/a.MSI"
        ],
        "WEB02's share holds the two files and no temporary file; WEB01 is untouched"
    );
    assert_eq!(local_tree(&pkg), before, "the package is unchanged");
    let journal = fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    for (name, bytes) in [
        ("A.msi", b"new A\n".to_vec()),
        ("B.msi", vec![b'b'; 3 << 20]),
    ] {
        let sha = sha256_hex(&bytes);
        assert!(
            journal
                .lines()
                .any(|l| l.contains("\"kind\":\"file_copied\"")
                    && l.contains(&format!("\"file\":\"{name}\""))
                    && l.contains(&sha)),
            "the journal records {name}'s SHA-256 {sha}:\n{journal}"
        );
    }
}

#[test]
fn a_rerun_skips_files_already_in_place_by_content_and_replaces_a_partial_copy() {
    let fleet = Fleet::start(&["WEB01"]);
    let share = fleet.host("WEB01").tree.join("share");
    fs::create_dir(&share).unwrap();
    let t = Stepwise::new();
    let pkg = package(&t);
    // A.msi is in place already (an interrupted attempt copied it); B.msi's temporary file was
    // left half written.
    fs::write(share.join("A.msi"), "new A\n").unwrap();
    fs::write(share.join(".B.msi.stepwise-part"), "half").unwrap();
    t.file(
        "book.yaml",
        &copy_book(
            "WEB01",
            &pkg,
            &[("copy", "A.msi, B.msi", &format!("{HOST_ROOT}/share"))],
            "      - { name: A.msi, size: 6 }\n",
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    let check = stepwise(t.dir(), &CHECK_BOOK);
    let lines: Vec<&str> = check
        .stdout
        .lines()
        .filter(|l| {
            l.contains("copy@WEB01: ") && !l.contains("room in") && !l.contains("source folder")
        })
        .collect();
    assert_eq!(
        lines,
        [
            format!(
                "    ok        copy@WEB01: package files in {}: all 2 files present; 1 with the size given by manifest `files`; 1 not listed by manifest `files`, so not size-checked: B.msi",
                t.dir().join("pkg").display()
            ),
            format!(
                "    ok        copy@WEB01: destination folder {HOST_ROOT}/share on WEB01: exists and is writable"
            ),
            format!("    ok        copy@WEB01: files replaced in {HOST_ROOT}/share on WEB01: none"),
            format!(
                "    ok        copy@WEB01: partial copies in {HOST_ROOT}/share on WEB01: B.msi (left by an interrupted attempt; replaced when the copy runs)"
            ),
            format!(
                "    ok        copy@WEB01: files already copied to {HOST_ROOT}/share on WEB01: A.msi (same content as the package; left as they are)"
            ),
        ],
        "{}",
        check.stdout
    );
    t.file("a.yaml", "confirm: true\ndefault: done\n");
    let (out, run_dir) = run(t.dir(), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "✓ copied 1 file to {HOST_ROOT}/share on WEB01 (1 already in place)"
        )),
        "{}",
        out.stdout
    );
    assert!(
        !run_dir.join("backup/copy@WEB01").exists(),
        "nothing was replaced"
    );
    let journal = fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let sha_a = sha256_hex(b"new A\n");
    assert!(
        journal
            .lines()
            .any(|l| l.contains("\"kind\":\"file_copied\"")
                && l.contains("\"file\":\"A.msi\"")
                && l.contains("\"in_place\":true")
                && l.contains(&sha_a)),
        "a file found in place is journaled with the hash of what is there:\n{journal}"
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: share", "WEB01: share/A.msi", "WEB01: share/B.msi"]
    );

    // Again: everything is in place.
    let (out, _) = run(t.dir(), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "✓ copied 0 files to {HOST_ROOT}/share on WEB01 (2 already in place)"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn check_findings_for_a_copy_on_a_host_are_exact_and_change_nothing() {
    let fleet = Fleet::start(&["WEB01", "WEB02"]);
    fs::create_dir(fleet.host("WEB01").tree.join("share")).unwrap();
    fs::write(fleet.host("WEB01").tree.join("share/A.msi"), "old").unwrap();
    let t = Stepwise::new();
    let pkg = package(&t);
    let before = local_tree(&pkg);
    t.file(
        "book.yaml",
        &copy_book(
            "WEB01",
            &pkg,
            &[
                ("missing", "Absent.msi", &format!("{HOST_ROOT}/share")),
                ("wrong", "A.msi", &format!("{HOST_ROOT}/share")),
                ("nofolder", "B.msi", &format!("{HOST_ROOT}/nowhere")),
                ("readonly", "B.msi", &format!("{HOST_ROOT}/readonly")),
            ],
            "      - { name: A.msi, size: 5 }\n",
        ),
    );
    t.file("inventory.yaml", &fleet.inventory(""));
    let trees = fleet.trees();
    let out = stepwise(t.dir(), &CHECK_BOOK);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let pkg_shown = pkg.display().to_string();
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Findings"))
        .skip_while(|l| l != &"  1. A")
        .skip(1)
        .filter(|l| l.starts_with("    ") && !l.contains("room in"))
        .collect();
    assert_eq!(
        lines,
        [
            format!("    ok        missing@WEB01: source folder {pkg_shown}: exists"),
            format!(
                "    blocking  missing@WEB01: file Absent.msi in {pkg_shown}: not found (names are matched ignoring case)"
            ),
            format!("              to do: Extract the whole package into {pkg_shown}"),
            format!(
                "    ok        missing@WEB01: destination folder {HOST_ROOT}/share on WEB01: exists and is writable"
            ),
            format!(
                "    ok        missing@WEB01: files replaced in {HOST_ROOT}/share on WEB01: none"
            ),
            format!("    ok        wrong@WEB01: source folder {pkg_shown}: exists"),
            format!(
                "    blocking  wrong@WEB01: size of A.msi in {pkg_shown}: 6 bytes; manifest `files` says 5 bytes"
            ),
            "              to do: The file is incomplete or not the one from the package: extract the package again".to_string(),
            format!(
                "    ok        wrong@WEB01: destination folder {HOST_ROOT}/share on WEB01: exists and is writable"
            ),
            format!(
                "    ok        wrong@WEB01: files replaced in {HOST_ROOT}/share on WEB01: A.msi (each backed up first)"
            ),
            format!("    ok        nofolder@WEB01: source folder {pkg_shown}: exists"),
            format!(
                "    ok        nofolder@WEB01: package files in {pkg_shown}: all 1 file present; 1 not listed by manifest `files`, so not size-checked: B.msi"
            ),
            format!(
                "    blocking  nofolder@WEB01: destination folder {HOST_ROOT}/nowhere on WEB01: does not exist"
            ),
            format!("              to do: Create the folder {HOST_ROOT}/nowhere on WEB01"),
            format!("    ok        readonly@WEB01: source folder {pkg_shown}: exists"),
            format!(
                "    ok        readonly@WEB01: package files in {pkg_shown}: all 1 file present; 1 not listed by manifest `files`, so not size-checked: B.msi"
            ),
            format!(
                "    blocking  readonly@WEB01: destination folder {HOST_ROOT}/readonly on WEB01: is not writable: permission denied"
            ),
            format!("              to do: Give root write access to {HOST_ROOT}/readonly on WEB01"),
        ],
        "{}",
        out.stdout
    );
    let room: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("room in"))
        .collect();
    assert_eq!(room.len(), 3, "{}", out.stdout);
    assert!(
        room[0].starts_with(&format!(
            "    ok        missing@WEB01: room in {HOST_ROOT}/share on WEB01 for the new files: 0 bytes needed, "
        )),
        "{}",
        room[0]
    );
    assert_eq!(fleet.trees(), trees, "check changed a host's tree");
    assert_eq!(local_tree(&pkg), before, "check changed the package");
}

#[test]
fn a_copy_whose_read_back_differs_fails_and_leaves_no_file_at_its_name() {
    let fleet = Fleet::start(&["WEB01"]);
    let share = fleet.host("WEB01").tree.join("share");
    fs::create_dir(&share).unwrap();
    let t = Stepwise::new();
    let pkg = package(&t);
    prepare(
        &t,
        &copy_book(
            "WEB01",
            &pkg,
            &[("copy", "A.msi, B.msi", &format!("{HOST_ROOT}/share"))],
            "      - { name: A.msi, size: 6 }\n",
        ),
        &fleet.inventory(""),
        "confirm: true\ndefault: done\nsteps:\n  copy@WEB01: { on_failure: skip-host, note: the read-back differs on purpose }\n",
    );
    let (out, _) = run(t.dir(), &[("STEPWISE_TEST_ALTER_UPLOAD", "B.msi")]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sent = sha256_hex(&vec![b'b'; 3 << 20]);
    let mut altered = vec![b'b'; 3 << 20];
    let hook = b"altered by STEPWISE_TEST_ALTER_UPLOAD";
    altered[..hook.len()].copy_from_slice(hook);
    let got = sha256_hex(&altered);
    assert!(
        out.stdout.contains(&format!(
            "✗ copy@WEB01 failed: {HOST_ROOT}/share/.B.msi.stepwise-part on WEB01: SHA-256 {got} read back after copying, expected {sent} (the SHA-256 of B.msi)"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        fleet.trees(),
        ["WEB01: share", "WEB01: share/A.msi"],
        "the altered file is not at B.msi's name, and its temporary file is removed"
    );
}

#[test]
fn a_password_host_without_a_terminal_is_blocking_and_never_asked_from_a_file() {
    let fleet = Fleet::start(&["WEB01"]);
    fs::create_dir(fleet.host("WEB01").tree.join("share")).unwrap();
    let t = Stepwise::new();
    let pkg = package(&t);
    t.file(
        "book.yaml",
        &copy_book(
            "WEB01",
            &pkg,
            &[("copy", "A.msi", &format!("{HOST_ROOT}/share"))],
            "      - { name: A.msi, size: 6 }\n",
        ),
    );
    t.file(
        "inventory.yaml",
        &fleet.inventory("").replace(
            "address: 127.0.0.2 }",
            "address: 127.0.0.2, auth: password }",
        ),
    );
    let refusal = "WEB01 authenticates root with a password, which stepwise asks at the terminal and never stores: a password cannot be answered from a file; run stepwise at a terminal, or give WEB01 a key (`key: FILE`) or `auth: agent` in the inventory";
    let out = stepwise(t.dir(), &CHECK_BOOK);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "    blocking  copy@WEB01: host WEB01 over SSH: {refusal}\n"
        )),
        "{}",
        out.stdout
    );
    t.file(
        "a.yaml",
        "confirm: true\ndefault: done\nsteps:\n  copy@WEB01: { on_failure: skip-host, note: no password without a terminal }\n",
    );
    let (out, run_dir) = run(t.dir(), &[]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "  blocking copy@WEB01: host WEB01 over SSH: {refusal}\n"
        )),
        "the run stops at its checks, saying why:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(fleet.trees(), ["WEB01: share"], "nothing reached WEB01");
    let journal = fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert!(!journal.contains("password\":"), "{journal}");
}
