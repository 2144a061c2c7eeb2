//! The Windows code paths of `stepwise.exe`, under Wine, on `C:\` paths: a check against a
//! package and a share, the real free space of a folder, a folder that cannot be written, a real
//! run with copies, a `write_file` and a `cmd /c` command, a timeout that stops what the command
//! started (a job object), a command of a killed run still running (asked of Windows by its pid),
//! `%VAR%` expansion, names matched ignoring case, paths past `MAX_PATH`, and Ctrl-C.
//!
//! Every test works in its own folder under `C:\stepwise-tests\` (the Wine prefix's `drive_c`),
//! removed when the test ends.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, assert_code, text};
use stepwise::runbook::{self, Action, bundled};

fn prefix() -> PathBuf {
    common::wine_prefix()
}

/// A folder of its own on `C:\`, seen from both sides.
struct CDir {
    /// Where Linux sees it.
    unix: PathBuf,
    /// Where Windows sees it: `C:\stepwise-tests\NAME`.
    win: String,
}

impl CDir {
    fn new(name: &str) -> CDir {
        let unique = format!(
            "{name}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
                ^ std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()
        );
        let unix = prefix()
            .join("drive_c")
            .join("stepwise-tests")
            .join(&unique);
        fs::create_dir_all(&unix).unwrap();
        CDir {
            unix,
            win: format!(r"C:\stepwise-tests\{unique}"),
        }
    }

    /// A path below the folder, both ways: `("pkg", "C:\…\pkg")`.
    fn at(&self, rel: &str) -> (PathBuf, String) {
        (
            self.unix.join(rel.replace('\\', "/")),
            format!(r"{}\{rel}", self.win),
        )
    }

    fn mkdir(&self, rel: &str) -> String {
        let (unix, win) = self.at(rel);
        fs::create_dir_all(unix).unwrap();
        win
    }

    fn write(&self, rel: &str, text: &str) {
        let (unix, _) = self.at(rel);
        fs::create_dir_all(unix.parent().unwrap()).unwrap();
        fs::write(unix, text).unwrap();
    }

    /// Reads a file below the folder, its name matched ignoring case (as Windows finds it).
    fn read(&self, rel: &str) -> String {
        let mut path = self.unix.clone();
        for part in rel.split('\\') {
            let exact = path.join(part);
            path = if exact.exists() {
                exact
            } else {
                fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(part))
                    })
                    .unwrap_or(exact)
            };
        }
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn exists(&self, rel: &str) -> bool {
        self.at(rel).0.exists()
    }

    /// Runs stepwise in the folder (its working folder is `C:\…`).
    fn stepwise(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run stepwise")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = common::stepwise_command();
        cmd.args(args)
            .current_dir(&self.unix)
            .env_remove("STEPWISE_STATE_DIR")
            .env("USER", "alice")
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for CDir {
    fn drop(&mut self) {
        for entry in walk(&self.unix) {
            let mut perms = match fs::symlink_metadata(&entry) {
                Ok(m) => m.permissions(),
                Err(_) => continue,
            };
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            let _ = fs::set_permissions(&entry, perms);
        }
        let _ = fs::remove_dir_all(&self.unix);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Runs a program of the Wine prefix (`taskkill`, `cmd`).
fn wine(args: &[&str]) -> Output {
    Command::new("/usr/lib/wine/wine64")
        .args(args)
        .env("WINEPREFIX", prefix())
        .env("WINEDEBUG", "-all")
        .stdin(Stdio::null())
        .output()
        .expect("run wine64")
}

/// A YAML single-quoted scalar.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The hmc45-ur6 package (every manifest file at its size) and a share holding the previous
/// version of every MSI, on `C:\`; returns the `--set`s for a check.
fn hmc45_on_c(c: &CDir) -> Vec<String> {
    let rb = runbook::load(&bundled::get("hmc45-ur6").unwrap())
        .runbook
        .unwrap();
    let pkg = c.mkdir("QFERollupPackage");
    let share = c.mkdir("MSIShare");
    for m in &rb.manifests {
        for f in &m.files {
            let size = f.size.unwrap_or(1024) as usize;
            fs::write(c.at("QFERollupPackage").0.join(&f.name), vec![b'N'; size]).unwrap();
        }
    }
    for (_, step) in rb.steps() {
        if let Some(Action::Copy(copy)) = step.automated() {
            for f in &copy.files {
                c.write(&format!(r"MSIShare\{}", f.value), "previous");
            }
        }
    }
    let dotnet = c.mkdir("dotnet");
    let agent = c.mkdir("agent");
    vec![
        format!("package_dir={pkg}"),
        format!("msi_share={share}"),
        format!("dotnet_framework_dir={dotnet}"),
        format!("categorizer_agent_dir={agent}"),
        "ur5_installed=false".into(),
        "upgraded_from_hmc40=false".into(),
    ]
}

fn check_args(sets: &[String]) -> Vec<String> {
    let mut args = vec!["check".to_string(), "hmc45-ur6".to_string()];
    for s in sets {
        args.push("--set".into());
        args.push(s.clone());
    }
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn hmc45_checks_clean_against_a_package_and_a_share_on_c() {
    let c = CDir::new("check");
    let sets = hmc45_on_c(&c);
    let out = c.stepwise(&strs(&check_args(&sets)));
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.trim_end().ends_with(", 0 blocking"), "{stdout}");
    let share = c.at("MSIShare").1;
    assert!(
        stdout.contains(&format!(
            "destination folder {share}: exists and is writable"
        )),
        "{stdout}"
    );
}

/// Free space is asked of Windows (`GetDiskFreeSpaceExW`), not said to be unknown; it is the
/// free space of the disk that holds the prefix, as Linux counts it.
#[test]
fn check_reports_the_real_free_space_of_a_c_folder() {
    let c = CDir::new("room");
    let sets = hmc45_on_c(&c);
    let out = c.stepwise(&strs(&check_args(&sets)));
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("cannot be checked on this system"),
        "{stdout}"
    );
    let share = c.at("MSIShare").1;
    let line = stdout
        .lines()
        .find(|l| l.contains(&format!("room in {share} for")))
        .unwrap_or_else(|| panic!("no room finding for {share} in\n{stdout}"));
    let free = line
        .rsplit_once(", ")
        .and_then(|(_, f)| f.strip_suffix(" free"))
        .unwrap_or_else(|| panic!("no free space in {line}"));
    let (number, unit) = free.split_once(' ').unwrap();
    let scale = match unit {
        "KB" => 1024f64,
        "MB" => 1024f64.powi(2),
        "GB" => 1024f64.powi(3),
        "TB" => 1024f64.powi(4),
        _ => panic!("unit {unit} in {line}"),
    };
    let reported = number.parse::<f64>().unwrap() * scale;
    let df = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(&c.unix)
        .output()
        .expect("df");
    let actual: f64 = text(&df.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df's figure");
    // The same figure to within what other work on the machine writes meanwhile, and the
    // rounding of one decimal.
    let tolerance = (actual * 0.01).max(64.0 * 1024.0 * 1024.0);
    assert!(
        (reported - actual).abs() <= tolerance,
        "stepwise.exe says {free} free in {share}, df says {actual} bytes"
    );
}

/// A folder nobody may write (mode 0555, which Wine shows Windows as a read-only folder) is
/// blocking; checked without writing anything into it.
#[test]
fn a_c_folder_that_cannot_be_written_is_blocking() {
    use std::os::unix::fs::PermissionsExt;
    let c = CDir::new("unwritable");
    let sets = hmc45_on_c(&c);
    let (share_unix, share) = c.at("MSIShare");
    let before: Vec<_> = walk(&share_unix);
    fs::set_permissions(&share_unix, fs::Permissions::from_mode(0o555)).unwrap();
    let out = c.stepwise(&strs(&check_args(&sets)));
    fs::set_permissions(&share_unix, fs::Permissions::from_mode(0o755)).unwrap();
    assert_code(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "blocking  copy-msis: destination folder {share}: is not writable: permission denied"
        )),
        "{stdout}"
    );
    assert_eq!(walk(&share_unix), before, "the check wrote into the share");
}

/// A real run on `C:\` paths: a copy that replaces a file (and backs it up), a copy whose name
/// differs in case from the file on disk, a `write_file`, and a `cmd /c` command that reads what
/// the run wrote.
#[test]
fn a_real_run_on_c_copies_writes_and_runs_cmd() {
    let c = CDir::new("run");
    c.write(r"pkg\UPDATE.MSI", "new update");
    c.write(r"pkg\Tool.exe", "new tool");
    c.write(r"dest\Tool.exe", "old tool");
    let yaml = format!(
        r#"id: on-c
title: A run on C
article: KB0
product: stepwise tests
parameters:
  - {{ name: pkg, type: path, prompt: Package, default: {pkg} }}
  - {{ name: dest, type: path, prompt: Destination, default: {dest} }}
phases:
  - id: main
    title: Main
    steps:
      - id: copy
        title: Copy
        action: {{ type: copy, from: '{{{{ pkg }}}}', to: '{{{{ dest }}}}', files: [Update.msi, Tool.exe] }}
      - id: config
        title: Write the configuration
        action:
          type: write_file
          dir: '{{{{ dest }}}}'
          file: app.config
          content: |
            <configuration enabled="true"/>
      - id: read-back
        title: Read it back through cmd
        action:
          type: command
          program: cmd
          args: [/c, 'type {{{{ dest }}}}\app.config > {{{{ dest }}}}\seen.txt && echo read back']
"#,
        pkg = q(&c.at("pkg").1),
        dest = q(&c.at("dest").1),
    );
    c.write("on-c.yaml", &yaml);
    c.write("answers.yaml", "confirm: true\ndefault: done\n");
    let out = c.stepwise(&["run", "on-c.yaml", "--answers", "answers.yaml"]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("Run finished."),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(c.read(r"dest\Update.msi"), "new update");
    assert_eq!(c.read(r"dest\Tool.exe"), "new tool");
    assert_eq!(
        c.read(r"dest\app.config"),
        "<configuration enabled=\"true\"/>\n"
    );
    assert_eq!(
        c.read(r"dest\seen.txt").trim_end(),
        "<configuration enabled=\"true\"/>"
    );
}

/// A runbook whose command starts a grandchild in the background (it writes `started.txt` at
/// once and `alive.txt` a few seconds later), then waits far longer, with this timeout.
fn tree_runbook(c: &CDir, timeout: u32) {
    let (started, alive) = (c.at("started.txt").1, c.at("alive.txt").1);
    let grandchild =
        format!("echo started> {started} & ping -n 6 127.0.0.1 >nul & echo alive> {alive}");
    // Through the shell (`cmd /C`, the line as it is): `start /b` runs the grandchild in the
    // background, then the command itself waits.
    let yaml = format!(
        r#"id: tree
title: A command that starts another
article: KB0
product: stepwise tests
phases:
  - id: main
    title: Main
    steps:
      - id: slow
        title: Start a grandchild, then wait
        action:
          type: command
          shell: true
          program: start
          args: [/b, cmd, /c, {grandchild}, '&', ping, -n, '30', 127.0.0.1]
          timeout: {timeout}
"#,
        grandchild = q(&format!("\"{grandchild}\"")),
    );
    c.write("tree.yaml", &yaml);
    c.write("answers.yaml", "confirm: true\non_failure: abort\n");
}

/// The grandchild started, and is gone: long enough after stepwise ended for it to have written
/// `alive.txt`, had it lived, it has not.
fn assert_grandchild_gone(c: &CDir) {
    assert!(c.exists("started.txt"), "the grandchild never started");
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !c.exists("alive.txt"),
        "the grandchild outlived the command: {}",
        c.read("alive.txt")
    );
}

/// A timeout stops the command and what it started (a job object).
#[test]
fn a_timeout_stops_a_process_the_command_started() {
    let c = CDir::new("timeout");
    tree_runbook(&c, 3);
    let begun = Instant::now();
    let out = c.stepwise(&["run", "tree.yaml", "--answers", "answers.yaml"]);
    assert_code(&out, 1);
    assert!(
        text(&out.stdout).contains("did not finish within 3 seconds and was stopped"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        begun.elapsed() < Duration::from_secs(25),
        "the command was not stopped at its timeout"
    );
    assert_grandchild_gone(&c);
}

/// Ctrl-C (SIGINT to Wine, which raises CTRL_C_EVENT in stepwise.exe) stops the command and what
/// it started, and saves the run: exit 130.
#[test]
fn ctrl_c_stops_a_process_the_command_started() {
    let c = CDir::new("ctrlc");
    tree_runbook(&c, 600);
    let child = c
        .command(&["run", "tree.yaml", "--answers", "answers.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let begun = Instant::now();
    while !c.exists("started.txt") {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the grandchild never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The wrapper runs Wine in its own process: the signal goes to stepwise.exe.
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 130);
    assert!(
        text(&out.stderr).contains("progress is saved"),
        "{}",
        text(&out.stderr)
    );
    assert_grandchild_gone(&c);
}

/// A command that outlives a killed stepwise is named on resume: Windows says its process is
/// still running.
#[test]
fn resume_says_when_a_command_of_a_killed_run_is_still_running() {
    let c = CDir::new("indoubt");
    c.write(
        "slow.yaml",
        "id: slow\ntitle: Slow\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: slow\n        title: A slow command\n        action: { type: command, program: ping, args: ['-n', '40', '127.0.0.1'] }\n",
    );
    c.write("a.yaml", "confirm: true\ndefault: done\nin_doubt: done\n");
    let mut child = c
        .command(&[
            "run",
            "slow.yaml",
            "--answers",
            "a.yaml",
            "--state-dir",
            "runs",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (_, pid) = common::command_started(&c.unix.join("runs"), Duration::from_secs(60));
    // SIGKILL to the Wine process of stepwise.exe: the command, its own process, runs on.
    child.kill().unwrap();
    child.wait().unwrap();
    let out = c.stepwise(&["resume", "--answers", "a.yaml", "--state-dir", "runs"]);
    // The orphaned command is stopped here, whatever the outcome.
    let _ = wine(&["taskkill", "/F", "/PID", &pid.to_string()]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains(&format!(
            "The command is still running as process {pid} on this machine"
        )),
        "{}",
        text(&out.stdout)
    );
}

/// `%VAR%` in a path is expanded from the environment, as Windows does.
#[test]
fn percent_variables_in_paths_are_expanded() {
    let c = CDir::new("envvar");
    c.write(r"pkg\Demo.msi", "demo");
    c.mkdir("share");
    let yaml = "id: env\ntitle: Env\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: copy\n        title: Copy\n        action: { type: copy, from: '%STEPWISE_TEST_ROOT%\\pkg', to: '%STEPWISE_TEST_ROOT%\\share', files: [Demo.msi] }\n";
    c.write("env.yaml", yaml);
    let out = c
        .command(&["check", "env.yaml"])
        .env("STEPWISE_TEST_ROOT", &c.win)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    for line in [
        r"    ok        copy: source folder %STEPWISE_TEST_ROOT%\pkg: exists",
        r"    ok        copy: destination folder %STEPWISE_TEST_ROOT%\share: exists and is writable",
    ] {
        assert!(stdout.contains(line), "{line}\nin\n{stdout}");
    }
    // Unset, the variable leaves the path unresolved: said, not guessed.
    let out = c
        .command(&["check", "env.yaml"])
        .env_remove("STEPWISE_TEST_ROOT")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains(r"source folder %STEPWISE_TEST_ROOT%\pkg: exists"),
        "{stdout}"
    );
}

/// A destination deeper than `MAX_PATH` (260 characters) is checked and written.
#[test]
fn paths_longer_than_max_path_are_checked_and_written() {
    let c = CDir::new("long");
    c.write(r"pkg\Demo.msi", "demo");
    let deep = (0..12)
        .map(|i| format!("a-folder-with-a-long-name-{i:02}"))
        .collect::<Vec<_>>()
        .join("\\");
    let (deep_unix, deep_win) = c.at(&deep);
    assert!(deep_win.len() > 300, "{}", deep_win.len());
    fs::create_dir_all(&deep_unix).unwrap();
    let yaml = format!(
        "id: long\ntitle: Long\narticle: KB0\nproduct: stepwise tests\nphases:\n  - id: main\n    title: Main\n    steps:\n      - id: copy\n        title: Copy\n        action: {{ type: copy, from: {pkg}, to: {to}, files: [Demo.msi] }}\n",
        pkg = q(&c.at("pkg").1),
        to = q(&deep_win),
    );
    c.write("long.yaml", &yaml);
    let out = c.stepwise(&["check", "long.yaml"]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "destination folder {deep_win}: exists and is writable"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("cannot be checked"), "{stdout}");
    c.write("answers.yaml", "confirm: true\ndefault: done\n");
    let out = c.stepwise(&["run", "long.yaml", "--answers", "answers.yaml"]);
    assert_code(&out, 0);
    assert_eq!(
        fs::read_to_string(deep_unix.join("Demo.msi")).unwrap(),
        "demo"
    );
}
