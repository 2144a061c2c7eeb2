//! `stepwise check`, through the real executable: every bundled runbook against a package built
//! from its manifest, then broken one way at a time, each with its exact finding and exit code.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stepwise::runbook::{self, Action, ParamType, Runbook, TableRows, bundled};

/// A temporary deployment for one runbook: a folder per `path` parameter, the package extracted
/// into `package_dir` as the manifest spells its files, and every value `check` needs.
struct Case {
    dir: tempfile::TempDir,
    runbook: Runbook,
    /// The runbook argument: a bundled id or a file.
    arg: String,
    sets: Vec<(String, String)>,
    inventory: Option<PathBuf>,
}

impl Case {
    fn bundled(id: &str) -> Case {
        let source = bundled::get(id).unwrap_or_else(|| panic!("no bundled runbook {id}"));
        let rb = runbook::load(&source).runbook.expect("a valid runbook");
        let case = Case::new(rb, id.to_string());
        case.extract_package();
        case
    }

    fn from_yaml(yaml: &str) -> Case {
        let source = runbook::Source {
            name: "test.yaml".into(),
            text: yaml.into(),
        };
        let rb = runbook::load(&source).runbook.expect("a valid runbook");
        let mut case = Case::new(rb, String::new());
        let file = case.dir.path().join("runbook.yaml");
        fs::write(&file, yaml).unwrap();
        case.arg = file.display().to_string();
        case
    }

    fn new(rb: Runbook, arg: String) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let mut sets = Vec::new();
        for p in &rb.parameters {
            match p.kind {
                ParamType::Path => {
                    let folder = dir.path().join(&p.name);
                    fs::create_dir_all(&folder).unwrap();
                    sets.push((p.name.clone(), folder.display().to_string()));
                }
                // Every step that a "no" answer leaves in is checked.
                ParamType::Bool if p.default.is_none() => {
                    sets.push((p.name.clone(), "false".into()));
                }
                _ => {}
            }
        }
        // Every server of the case is this machine, its folders temporary ones; a role the
        // runbook names no host for gets one.
        let empty: Vec<String> = rb
            .roles
            .iter()
            .filter(|r| r.hosts.is_empty())
            .map(|r| format!("  {}: [{}01]\n", r.id, r.id.to_uppercase()))
            .collect();
        let mut text = String::from("defaults: { target: local }\n");
        if !empty.is_empty() {
            text.push_str("roles:\n");
            text.push_str(&empty.concat());
        }
        let file = dir.path().join("inventory.yaml");
        fs::write(&file, text).unwrap();
        let inventory = Some(file);
        Case {
            dir,
            runbook: rb,
            arg,
            sets,
            inventory,
        }
    }

    /// The folder given for a path parameter.
    fn path(&self, param: &str) -> PathBuf {
        self.dir.path().join(param)
    }

    /// Shows a path as the findings do.
    fn show(&self, param: &str) -> String {
        self.path(param).display().to_string()
    }

    /// The package: every manifest file as the manifest spells it, with its size; every file a
    /// copy step names that no manifest lists by its whole name (spelled in lower case, unlike
    /// the step), at the size of the row the table cut short for it (rows cut short to the same
    /// text go to the files in name order), else 1000 bytes; every file a command argument names
    /// under a path parameter.
    fn extract_package(&self) {
        if self.runbook.parameter("package_dir").is_some() {
            let pkg = self.path("package_dir");
            for m in &self.runbook.manifests {
                for f in &m.files {
                    write_sized(&pkg.join(&f.name), f.size.unwrap_or(1000));
                }
            }
        }
        let steps = self
            .runbook
            .steps()
            .map(|(_, s)| s)
            .chain(self.runbook.known_issues.iter().flat_map(|k| &k.steps));
        for step in steps {
            for action in std::iter::once(&step.action).chain(&step.automation) {
                match action {
                    Action::Copy(c) => {
                        let from = first_param(c.from.source());
                        let manifest = c.manifest.as_ref().map(|m| m.value.as_str());
                        let mut names: Vec<&str> =
                            c.files.iter().map(|f| f.value.as_str()).collect();
                        names.sort_by_key(|n| n.to_lowercase());
                        let mut used: Vec<&runbook::ManifestFile> = Vec::new();
                        for name in names {
                            let size = match self.runbook.table_rows(manifest, name) {
                                TableRows::Named(_) => continue,
                                TableRows::CutShort(r) => r.size,
                                TableRows::Ambiguous(rows) => rows
                                    .into_iter()
                                    .find(|r| !used.iter().any(|u| std::ptr::eq(*u, *r)))
                                    .and_then(|r| {
                                        used.push(r);
                                        r.size
                                    }),
                                TableRows::Unlisted => None,
                            };
                            write_sized(
                                &self.path(&from).join(name.to_lowercase()),
                                size.unwrap_or(1000),
                            );
                        }
                    }
                    Action::Command(c) => {
                        for arg in &c.args {
                            let text = arg.source();
                            if let Some(rest) = text.strip_prefix("{{ ")
                                && let Some((param, file)) = rest.split_once(" }}\\")
                            {
                                write_sized(&self.path(param).join(file), 1000);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.sets.retain(|(n, _)| n != name);
        self.sets.push((name.into(), value.into()));
    }

    fn unset(&mut self, name: &str) {
        self.sets.retain(|(n, _)| n != name);
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = common::stepwise_command();
        cmd.current_dir(self.dir.path())
            .env_remove("STEPWISE_STATE_DIR")
            .arg("check")
            .arg(&self.arg);
        for (name, value) in &self.sets {
            cmd.arg("--set").arg(format!("{name}={value}"));
        }
        if let Some(inv) = &self.inventory {
            cmd.arg("--inventory").arg(inv);
        }
        cmd.args(extra);
        cmd
    }

    fn check(&self, extra: &[&str]) -> Checked {
        Checked::from(self.command(extra).output().unwrap())
    }
}

fn first_param(template: &str) -> String {
    let start = template.find("{{").expect("a parameter") + 2;
    let end = template[start..].find("}}").unwrap() + start;
    template[start..end].trim().to_string()
}

fn write_sized(path: &Path, size: u64) {
    let f = fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
}

struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Checked {
    fn from(o: Output) -> Checked {
        Checked {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }
}

impl Checked {
    /// Asserts that the text has these consecutive lines.
    fn has_lines(&self, lines: &[&str]) {
        let all: Vec<&str> = self.stdout.lines().collect();
        let found = all.windows(lines.len()).any(|w| w == lines);
        assert!(
            found,
            "expected lines\n{}\nin\n{}",
            lines.join("\n"),
            self.stdout
        );
    }

    fn blocking_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("blocking "))
            .collect()
    }

    fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

/// The bundled runbooks this test knows how to deploy.
const RUNBOOKS: [&str; 5] = [
    "hmc45-ur6",
    "hmc40-rollup-2011",
    "ocs2007-kb961569",
    "ocs2007r2-avmcu-kb2028578",
    "exchange2007-ur1",
];

#[test]
fn every_bundled_runbook_checks_clean_with_its_package() {
    for id in RUNBOOKS {
        if bundled::get(id).is_none() {
            eprintln!("{id} is not bundled yet: skipped");
            continue;
        }
        let case = Case::bundled(id);
        let out = case.check(&[]);
        assert!(
            out.blocking_lines().is_empty() && out.code == 0,
            "{id}: exit {}\n{}{}",
            out.code,
            out.stdout,
            out.stderr
        );
        assert!(
            out.summary().ends_with(", 0 blocking"),
            "{id}: {}",
            out.summary()
        );
    }
}

#[test]
fn hmc45_shows_the_plan_and_its_findings() {
    let case = Case::bundled("hmc45-ur6");
    let out = case.check(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let (pkg, share) = (case.show("package_dir"), case.show("msi_share"));
    out.has_lines(&[
        "    3.2   copy-msis  Back up and copy the MSI files to the MSI share  [copy]",
        &format!("          from     {pkg}"),
        &format!("          to       {share}"),
        "          files    Exchange2007ResourceManagerNS.msi, Exchange2007ResourceManagerWS.msi, HostedEmail2007NS.msi, HostedEmail2007WS.msi, ManagedEmail2007NS.msi, ManagedEmail2007WS.msi, Exchange2007MobilityProvider.msi, Exchange2007Provider.msi, UnifiedMessaging2007Provider.msi",
        "          backup   yes",
        "          verify   sizes of manifest `files`",
    ]);
    out.has_lines(&[
        "    4.6   restart-iis@PROV01  Restart IIS  [manual, optional command]",
        "          command  iisreset.exe",
        "          success  exit code 0; timeout 600 s",
    ]);
    out.has_lines(&[
        &format!("    ok        copy-msis: source folder {pkg}: exists"),
        &format!(
            "    ok        copy-msis: package files in {pkg}: all 9 files present; 9 with the size given by manifest `files`"
        ),
        &format!("    ok        copy-msis: destination folder {share}: exists and is writable"),
        &format!("    ok        copy-msis: files replaced in {share}: none"),
    ]);
    if common::windows() {
        // On Windows the program is looked up; there is no IIS here.
        out.has_lines(&[
            "    ok        restart-iis@PROV01: manual step: the operator does it and confirms",
            "    warning   restart-iis@PROV01: automation: program iisreset.exe: not found on PATH",
            "              to do: Install the program, or correct its name in the runbook; or do the step by hand",
        ]);
    } else {
        out.has_lines(&[
            "    ok        restart-iis@PROV01: manual step: the operator does it and confirms",
            "    warning   restart-iis@PROV01: automation: program iisreset.exe: can only be checked on Windows",
            "              to do: Run `stepwise check` on the Windows server to check it",
        ]);
    }
}

#[test]
fn a_missing_msi_is_blocking() {
    let case = Case::bundled("hmc45-ur6");
    fs::remove_file(case.path("package_dir").join("Exchange2007provider.msi")).unwrap();
    let out = case.check(&[]);
    let pkg = case.show("package_dir");
    assert_eq!(out.code, 1);
    out.has_lines(&[
        &format!(
            "    blocking  copy-msis: file Exchange2007Provider.msi in {pkg}: not found (names are matched ignoring case)"
        ),
        &format!(
            "              to do: Extract the whole package into {pkg}, or point `package_dir` at the folder that has it (--set package_dir=FOLDER)"
        ),
    ]);
    assert_eq!(out.blocking_lines().len(), 1, "{}", out.stdout);
    assert!(out.summary().ends_with(", 1 blocking"));
}

#[test]
fn a_missing_package_folder_is_blocking() {
    let mut case = Case::bundled("hmc45-ur6");
    let gone = case.dir.path().join("not-extracted");
    case.set("package_dir", &gone.display().to_string());
    let out = case.check(&[]);
    assert_eq!(out.code, 1);
    let gone = gone.display();
    for step in ["copy-msis", "copy-msis-ur5"] {
        out.has_lines(&[
            &format!("    blocking  {step}: source folder {gone}: does not exist"),
            &format!(
                "              to do: Extract the package into {gone}, or point `package_dir` at the right folder (--set package_dir=FOLDER)"
            ),
        ]);
    }
    assert_eq!(out.blocking_lines().len(), 2, "{}", out.stdout);
}

#[test]
fn a_wrong_size_is_blocking() {
    let case = Case::bundled("hmc45-ur6");
    write_sized(
        &case.path("package_dir").join("Exchange2007provider.msi"),
        537_599,
    );
    let out = case.check(&[]);
    let pkg = case.show("package_dir");
    assert_eq!(out.code, 1);
    out.has_lines(&[
        &format!(
            "    blocking  copy-msis: size of Exchange2007provider.msi in {pkg}: 537599 bytes; manifest `files` says 537600 bytes"
        ),
        "              to do: The file is incomplete or not the one from the package: extract the package again",
    ]);
    // The whole package is checked against the article's table too.
    out.has_lines(&[&format!(
        "    blocking  package {pkg} against the file table: Exchange2007provider.msi has 537599 bytes, not 537600"
    )]);
    assert_eq!(out.blocking_lines().len(), 2, "{}", out.stdout);
}

#[test]
fn the_package_is_checked_against_the_whole_file_table() {
    let case = Case::bundled("hmc45-ur6");
    let pkg_dir = case.path("package_dir");
    // A file no step of this plan copies is missing, and a file the table does not list is there.
    std::fs::remove_file(pkg_dir.join("Adcollector.msi")).unwrap();
    write_sized(&pkg_dir.join("readme.txt"), 10);
    let out = case.check(&[]);
    let pkg = case.show("package_dir");
    assert_eq!(out.code, 0, "{}", out.stdout);
    out.has_lines(&[
        &format!("    warning   package {pkg} against the file table: 32 of 33 files present; missing: Adcollector.msi"),
        "              to do: Check that the whole package was extracted",
        &format!("    ok        package {pkg} against the file table: also holds files the table does not list: readme.txt"),
    ]);
}

#[cfg(unix)]
fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Makes a folder unwritable for the user running the tests: permission bits for a normal user;
/// for root, which passes them, the immutable attribute. Undone on drop.
#[cfg(unix)]
struct Unwritable {
    dir: PathBuf,
    immutable: bool,
}

#[cfg(unix)]
impl Unwritable {
    fn new(dir: &Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        if !is_root() {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
            return Some(Unwritable {
                dir: dir.into(),
                immutable: false,
            });
        }
        let status = Command::new("chattr").arg("+i").arg(dir).status();
        match status {
            Ok(s) if s.success() => Some(Unwritable {
                dir: dir.into(),
                immutable: true,
            }),
            _ => None,
        }
    }
}

#[cfg(unix)]
impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.dir).status();
        } else {
            let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755));
        }
    }
}

unix_only! {
"root's unwritable folder is `chattr +i`, which Wine does not show; tests/windows/wine.rs has the Windows version";
#[cfg(unix)]
#[test]
fn an_unwritable_share_is_blocking() {
    let case = Case::bundled("hmc45-ur6");
    let Some(_guard) = Unwritable::new(&case.path("msi_share")) else {
        eprintln!(
            "skipped: running as root and `chattr +i` is not available here, so no folder can be made unwritable for root"
        );
        return;
    };
    let out = case.check(&[]);
    let share = case.show("msi_share");
    assert_eq!(out.code, 1, "{}", out.stdout);
    for step in ["copy-msis", "copy-msis-ur5"] {
        out.has_lines(&[
            &format!(
                "    blocking  {step}: destination folder {share}: is not writable: permission denied"
            ),
            &format!(
                "              to do: Give the account that runs stepwise write access to {share}, or run stepwise as a user who has it"
            ),
        ]);
    }
    assert_eq!(out.blocking_lines().len(), 2, "{}", out.stdout);
}
}

unix_only! {
"runs stepwise as another Unix user through setpriv";
/// The permission bits are asked for the effective user: as root, the same check is run again
/// as `nobody` (through `setpriv`) against a share with mode 0555.
#[cfg(target_os = "linux")]
#[test]
fn permission_bits_block_a_normal_user() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("skipped: already covered by an_unwritable_share_is_blocking for a normal user");
        return;
    }
    let case = Case::bundled("hmc45-ur6");
    fs::set_permissions(case.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(case.path("msi_share"), fs::Permissions::from_mode(0o555)).unwrap();
    let cmd = case.command(&[]);
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .current_dir(case.dir.path())
        .env_remove("STEPWISE_STATE_DIR")
        .output();
    let out = match output {
        Ok(o) if o.stdout.is_empty() => {
            eprintln!(
                "skipped: cannot run stepwise as nobody here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Ok(o) => Checked::from(o),
        Err(e) => {
            eprintln!("skipped: setpriv is not available: {e}");
            return;
        }
    };
    let share = case.show("msi_share");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    out.has_lines(&[&format!(
        "    blocking  copy-msis: destination folder {share}: is not writable: permission denied"
    )]);
    assert_eq!(out.blocking_lines().len(), 2, "{}", out.stdout);
}
}

unix_only! {
"a read-only mount in a private mount namespace, which Wine does not show";
/// Root passes permission bits, but not a read-only mount: checked in a private mount namespace
/// with a read-only tmpfs over the share.
#[cfg(target_os = "linux")]
#[test]
fn a_read_only_mount_is_blocking_even_for_root() {
    if !is_root() {
        eprintln!(
            "skipped: needs root to mount a read-only file system (a normal user is covered by an_unwritable_share_is_blocking)"
        );
        return;
    }
    let case = Case::bundled("hmc45-ur6");
    let share = case.show("msi_share");
    let cmd = case.command(&[]);
    let mut script = format!("mount -t tmpfs -o ro tmpfs '{share}' && exec");
    script.push_str(&format!(" '{}'", cmd.get_program().to_string_lossy()));
    for arg in cmd.get_args() {
        script.push_str(&format!(" '{}'", arg.to_string_lossy()));
    }
    let output = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .current_dir(case.dir.path())
        .env_remove("STEPWISE_STATE_DIR")
        .output();
    let out = match output {
        Ok(o) if o.status.code() != Some(0) && o.stdout.is_empty() => {
            eprintln!(
                "skipped: cannot mount a read-only file system here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Ok(o) => Checked::from(o),
        Err(e) => {
            eprintln!("skipped: unshare is not available: {e}");
            return;
        }
    };
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    out.has_lines(&[&format!(
        "    blocking  copy-msis: destination folder {share}: is not writable: the file system is read-only"
    )]);
}
}

#[test]
fn a_missing_parameter_is_blocking_and_names_the_set_to_give() {
    let mut case = Case::bundled("hmc45-ur6");
    case.unset("ur5_installed");
    let out = case.check(&[]);
    assert_eq!(out.code, 1);
    out.has_lines(&[
        "    blocking  parameter ur5_installed: has no value and no default",
        "              to do: Answer \"Has Update Rollup 5 already been installed?\" with --set ur5_installed=true|false",
    ]);
    out.has_lines(&[
        "    warning   condition `not ur5_installed` of phase prov01: open: decided once `ur5_installed` is given; its steps were checked as if it applies",
        "              to do: Give --set ur5_installed=VALUE",
    ]);
    assert_eq!(out.blocking_lines().len(), 1, "{}", out.stdout);
}

#[test]
fn a_parameter_no_step_needs_may_stay_empty() {
    let mut case = Case::bundled("hmc45-ur6");
    case.set("ur5_installed", "true");
    case.unset("upgraded_from_hmc40");
    let out = case.check(&[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    out.has_lines(&[
        "    ok        parameter upgraded_from_hmc40: no value; not needed: no step that applies uses it",
    ]);
}

#[test]
fn an_inventory_with_an_empty_host_list_is_refused() {
    let mut case = Case::bundled("hmc45-ur6");
    let inv = case.dir.path().join("hosts.yaml");
    fs::write(&inv, "mps_engine: []\n").unwrap();
    case.inventory = Some(inv.clone());
    let out = case.check(&[]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "stepwise: {}: role `mps_engine` has an empty host list\n",
            inv.display()
        )
    );
}

#[test]
fn a_role_without_hosts_is_blocking() {
    let mut case = Case::bundled("hmc40-rollup-2011");
    case.inventory = None;
    let out = case.check(&[]);
    assert_eq!(out.code, 1);
    out.has_lines(&[
        "    blocking  hosts of role web_services: none: the runbook names no default hosts and none were given",
        "              to do: List the Web services servers in an inventory file (`web_services: [HOST1, HOST2]`) and pass it with --inventory FILE",
    ]);
    assert_eq!(out.blocking_lines().len(), 1, "{}", out.stdout);
}

/// A runbook with an unknown program and a known one (`sh`, or `cmd` for the Windows build).
fn tools() -> String {
    let known = if common::windows() { "cmd" } else { "sh" };
    TOOLS.replace("program: sh", &format!("program: {known}"))
}

const TOOLS: &str = r#"
id: tools
title: Tools
article: KB1
product: Demo
phases:
  - id: main
    title: Main
    steps:
      - id: run-tool
        title: Run the tool
        action: { type: command, program: no-such-program-stepwise, args: [--now, "two words"] }
      - id: run-sh
        title: Run sh
        action: { type: command, program: sh, args: [-c, "exit 0"] }
"#;

#[test]
fn an_unknown_program_is_blocking() {
    let case = Case::from_yaml(&tools());
    let out = case.check(&[]);
    assert_eq!(out.code, 1);
    out.has_lines(&[
        "    1.1   run-tool  Run the tool  [command]",
        "          command  no-such-program-stepwise --now \"two words\"",
    ]);
    out.has_lines(&[
        "    blocking  run-tool: program no-such-program-stepwise: not found on PATH",
        "              to do: Install the program, or correct its name in the runbook",
    ]);
    assert_eq!(out.blocking_lines().len(), 1, "{}", out.stdout);
    assert_eq!(out.summary(), "1 ok, 0 warnings, 1 blocking");
}

/// Every entry under a folder: path, size, modification time, permissions.
fn tree(root: &Path) -> BTreeSet<(PathBuf, u64, std::time::SystemTime, bool)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let meta = fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.insert((
                e.path(),
                meta.len(),
                meta.modified().unwrap(),
                meta.permissions().readonly(),
            ));
        }
    }
    out
}

fn set_tree_readonly(root: &Path, readonly: bool) {
    // Changing a file's mode needs no write access to its folder, so the order does not matter.
    let mut stack = vec![root.to_path_buf()];
    let mut all = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    for path in all {
        let mut perms = fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(readonly);
        fs::set_permissions(&path, perms).unwrap();
    }
}

#[test]
fn check_changes_nothing_in_a_read_only_tree() {
    let case = Case::bundled("hmc45-ur6");
    // Something to replace and a leftover of an interrupted copy, so the check has to look.
    fs::write(case.path("msi_share").join("HostedEmail2007NS.msi"), b"old").unwrap();
    fs::write(
        case.path("msi_share")
            .join(".Managedemail2007ns.msi.stepwise-part"),
        b"half",
    )
    .unwrap();
    set_tree_readonly(case.dir.path(), true);
    let before = tree(case.dir.path());
    let text = case.check(&[]);
    let json = case.check(&["--json"]);
    let after = tree(case.dir.path());
    set_tree_readonly(case.dir.path(), false);
    assert_eq!(before, after, "the check changed the tree");
    assert!(!case.dir.path().join("stepwise-runs").exists());
    assert!(text.stdout.contains("Findings"), "{}", text.stdout);
    assert!(json.stdout.starts_with('{'));
}

#[test]
fn json_has_the_documented_shape() {
    let case = Case::bundled("hmc45-ur6");
    fs::remove_file(case.path("package_dir").join("Exchange2007provider.msi")).unwrap();
    let out = case.check(&["--json"]);
    assert_eq!(out.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["format"], 1);
    assert_eq!(doc["runbook"]["id"], "hmc45-ur6");
    assert_eq!(doc["runbook"]["article"], "KB979704");
    assert!(doc["runbook"]["title"].is_string());
    assert_eq!(doc["blocking"], true);

    let params = doc["parameters"].as_array().unwrap();
    let ur5 = params
        .iter()
        .find(|p| p["name"] == "ur5_installed")
        .unwrap();
    assert_eq!(ur5["type"], "bool");
    assert_eq!(ur5["value"], "false");
    assert_eq!(ur5["source"], "given");
    assert_eq!(ur5["needed"], true);

    let roles = doc["roles"].as_array().unwrap();
    let mps = roles.iter().find(|r| r["id"] == "mps_engine").unwrap();
    assert_eq!(mps["hosts"], serde_json::json!(["MPS01"]));
    assert_eq!(mps["source"], "default");
    assert_eq!(mps["used"], true);
    assert!(mps["title"].is_string());

    let phases = doc["phases"].as_array().unwrap();
    assert_eq!(phases[0]["number"], 1);
    assert_eq!(phases[0]["id"], "shutdown");
    assert!(phases[0]["title"].is_string());
    assert!(phases[0]["only_if"].is_null());

    let plan = doc["plan"].as_array().unwrap();
    let copy = plan.iter().find(|e| e["key"] == "copy-msis").unwrap();
    assert_eq!(copy["number"], "3.2");
    assert_eq!(copy["phase"], "copy-msis");
    assert_eq!(copy["step"], "copy-msis");
    assert!(copy["host"].is_null());
    assert!(copy["ordinal"].is_u64());
    assert_eq!(copy["items"], 0);
    assert!(copy["only_if"].is_null());
    assert_eq!(copy["action"]["type"], "copy");
    assert_eq!(copy["action"]["from"], case.show("package_dir"));
    assert_eq!(copy["action"]["to"], case.show("msi_share"));
    assert_eq!(copy["action"]["files"].as_array().unwrap().len(), 9);
    assert_eq!(copy["action"]["backup"], true);
    assert_eq!(copy["action"]["manifest"], "files");
    assert!(copy["automation"].is_null());
    let iis = plan
        .iter()
        .find(|e| e["key"] == "restart-iis@PROV01")
        .unwrap();
    assert_eq!(iis["host"], "PROV01");
    assert_eq!(iis["action"]["type"], "manual");
    assert_eq!(iis["automation"]["type"], "command");
    assert_eq!(iis["automation"]["command_line"], "iisreset.exe");
    assert_eq!(iis["automation"]["program"], "iisreset.exe");
    assert_eq!(iis["automation"]["args"], serde_json::json!([]));
    assert!(iis["automation"]["cwd"].is_null());
    assert_eq!(iis["automation"]["timeout_secs"], 600);
    assert_eq!(iis["automation"]["success_codes"], serde_json::json!([0]));
    assert_eq!(iis["automation"]["shell"], false);

    let findings = doc["findings"].as_array().unwrap();
    let missing = findings
        .iter()
        .find(|f| f["severity"] == "blocking")
        .unwrap();
    assert_eq!(missing["phase"], "copy-msis");
    assert_eq!(missing["instance"], "copy-msis");
    assert_eq!(
        missing["checked"],
        format!(
            "file Exchange2007Provider.msi in {}",
            case.show("package_dir")
        )
    );
    assert_eq!(
        missing["found"],
        "not found (names are matched ignoring case)"
    );
    assert!(missing["to_do"].is_string());
    let param = findings
        .iter()
        .find(|f| f["checked"] == "parameter ur5_installed")
        .unwrap();
    assert!(param["phase"].is_null());
    assert!(param["instance"].is_null());
    assert!(param["to_do"].is_null());

    let count = |s: &str| findings.iter().filter(|f| f["severity"] == s).count();
    assert_eq!(doc["summary"]["ok"], count("ok"));
    assert_eq!(doc["summary"]["warnings"], count("warning"));
    assert_eq!(doc["summary"]["blocking"], count("blocking"));
    assert_eq!(doc["summary"]["blocking"], 1);
    let keys: BTreeSet<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let documented: BTreeSet<&str> = [
        "format",
        "runbook",
        "parameters",
        "roles",
        "phases",
        "plan",
        "findings",
        "summary",
        "blocking",
    ]
    .into();
    assert_eq!(keys, documented);
}

#[test]
fn json_of_a_clean_check_exits_0() {
    let case = Case::bundled("ocs2007r2-avmcu-kb2028578");
    let out = case.check(&["--json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["blocking"], false);
    assert_eq!(doc["summary"]["blocking"], 0);
}

/// A runbook with one host-major phase of a manual step and a check per host: the folder of
/// each host under `dir`, of which only W1's exists.
const ROLLING: &str = r#"id: rolling
title: Rolling
article: KB1
product: P
parameters:
  - { name: dir, type: path, prompt: Folder to look at }
roles:
  - { id: web, title: Web servers, hosts: [W1, W2, W3] }
phases:
  - id: rolling
    title: Update each web server
    for_each_host: web
    serial: 2
    steps:
      - { id: drain, title: "Drain {{ host }}", on: web }
      - id: look
        title: Look on {{ host }}
        on: web
        action: { type: check, checks: [ { exists: '{{ dir }}/{{ host }}' } ] }
"#;

unix_only! {
"the findings name the folders with Unix separators";
/// The plan of a host-major phase is listed batch by batch (the walk's order), its findings in
/// plan order, each checked as it is written, and the summary counts what was written.
#[test]
fn a_host_major_phase_is_listed_batch_by_batch_and_its_findings_in_plan_order() {
    let case = Case::from_yaml(ROLLING);
    fs::create_dir(case.path("dir").join("W1")).unwrap();
    let out = case.check(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout.replace(&case.show("dir"), "DIR");
    let plan = &text[text.find("Plan\n").expect("a plan")..];
    assert_eq!(
        plan,
        "Plan
  1. Update each web server
     on each host of Web servers (web) in turn, 2 at a time: W1 and W2, then W3; the walk stops and asks at the first host that fails
    1.1   drain@W1  Drain W1  [manual]
    1.1   drain@W2  Drain W2  [manual]
    1.2   look@W1  Look on W1  [check]
          check    exists DIR/W1
    1.2   look@W2  Look on W2  [check]
          check    exists DIR/W2
    1.1   drain@W3  Drain W3  [manual]
    1.2   look@W3  Look on W3  [check]
          check    exists DIR/W3

Findings
  Runbook
    ok        parameter dir: DIR (given)
    ok        hosts of role web: W1, W2, W3 (the default)
  1. Update each web server
    ok        drain@W1: manual step: the operator does it and confirms
    ok        drain@W2: manual step: the operator does it and confirms
    ok        drain@W3: manual step: the operator does it and confirms
    ok        look@W1: DIR/W1 exists: yes (a folder)
    warning   look@W2: DIR/W2 exists: does not exist (names are matched ignoring case)
              to do: Create or restore DIR/W2, or point `dir` at the right place (--set dir=FOLDER)
    warning   look@W3: DIR/W3 exists: does not exist (names are matched ignoring case)
              to do: Create or restore DIR/W3, or point `dir` at the right place (--set dir=FOLDER)

6 ok, 2 warnings, 0 blocking
"
    );

    let json = case.check(&["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    let keys = |list: &str, field: &str| -> Vec<String> {
        doc[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[field].as_str().unwrap_or("-").to_string())
            .collect()
    };
    assert_eq!(
        keys("plan", "key"),
        ["drain@W1", "drain@W2", "look@W1", "look@W2", "drain@W3", "look@W3"]
    );
    assert_eq!(
        keys("findings", "instance"),
        ["-", "-", "drain@W1", "drain@W2", "drain@W3", "look@W1", "look@W2", "look@W3"]
    );
    assert_eq!(
        doc["summary"],
        serde_json::json!({ "ok": 6, "warnings": 2, "blocking": 0 })
    );
    assert_eq!(doc["blocking"], false);
}
}
