//! The interactive walk in a real terminal: the `stepwise` executable in a tmux pane, driven by
//! keystrokes the way an operator drives it, and read back from the screen.
//!
//! Every test starts its own tmux server (`tmux -L <unique name>`), so the tests run in parallel
//! and never touch a user's tmux; the server is killed when the test ends, pass or fail. The pane
//! runs a plain `sh`, and commands are typed into it as an operator would, each followed by
//! `echo EXIT=$?` so that the exit code shows on the screen. Waits poll the screen (for at most
//! [`WAIT`]) for what the operator would wait for; there are no fixed sleeps.
//!
//! How a prompt is recognised: dialoguer draws a pending prompt as a line starting with `? ` and
//! replaces it, once answered, with `✔ PROMPT · ANSWER`. The driver counts the answers it gave
//! and waits until as many answered lines are on the screen (so a stale prompt is never taken
//! for the next one) and the latest prompt line is a pending one.
//!
//! Only what the latest command drew counts: everything after its command line (`$ …`, the
//! shell's prompt and the line typed). A command interrupted at a prompt leaves that prompt
//! pending on the screen, and the next command (`resume`) often asks the very same question;
//! so typing a command waits for the shell's prompt first, then for the command line to be
//! echoed after it, and only then looks for prompts. Waiting for a command to exit likewise
//! waits for the shell's prompt that follows, so the next command is never typed ahead of it.
//!
//! tmux is required: without it these tests fail with a message saying to install it, unless
//! `STEPWISE_SKIP_TERMINAL=1`, which skips them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod record;

use stepwise::journal::{
    self, Completion, Event, EventKind, InstanceState, Lifecycle, Progress, Run, RunOutcome,
};

mod faces;
mod parallel;
mod unreachable;

/// The longest wait for anything to appear on the screen.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);
const COLUMNS: &str = "120";
const ROWS: &str = "40";
const OPERATOR: &str = "night-operator";
/// How the overall progress bar's line reads; it must never be left on the screen.
const BAR_TEXT: &str = " step instances ";

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// A terminal for one test, or `None` when tmux is missing and `STEPWISE_SKIP_TERMINAL=1` says
/// to skip these tests (as `STEPWISE_SKIP_BROWSER=1` does for the browser test).
fn terminal(name: &str) -> Option<Terminal> {
    let found = Command::new("tmux")
        .arg("-V")
        .env_remove("TMUX")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("STEPWISE_SKIP_TERMINAL").is_ok_and(|v| v == "1") {
            eprintln!("skipped: tmux is not installed and STEPWISE_SKIP_TERMINAL=1");
            return None;
        }
        panic!(
            "tmux is not installed: these tests drive stepwise in a real terminal through tmux. \
             Install it (`apt-get install tmux`, as .ci/run does), or set \
             STEPWISE_SKIP_TERMINAL=1 to skip them."
        );
    }
    Some(Terminal::start(name))
}

/// One tmux server with one pane running `sh`, in a temporary folder of its own.
struct Terminal {
    socket: String,
    /// The socket's file, removed with the server.
    socket_path: Option<PathBuf>,
    dir: tempfile::TempDir,
    /// Prompts answered so far: as many `✔ … · …` lines must be on the screen.
    answered: usize,
    /// Commands that exited so far: as many `EXIT=` lines are on the screen.
    exits: usize,
    /// Commands typed so far: as many command lines (`$ …`) are on the screen.
    commands: usize,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .output();
        if let Some(path) = &self.socket_path {
            let _ = fs::remove_file(path);
        }
    }
}

/// Quotes a word for `sh`.
fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn is_answered(line: &str) -> bool {
    line.starts_with("✔ ") && line.contains(" ·")
}

fn is_pending(line: &str) -> bool {
    line.starts_with("? ")
}

/// A command typed at the shell: its prompt (`$ `) followed by the line typed.
fn is_command_line(line: &str) -> bool {
    line.strip_prefix("$ ")
        .is_some_and(|typed| !typed.trim().is_empty())
}

fn command_lines(screen: &str) -> usize {
    screen.lines().filter(|l| is_command_line(l)).count()
}

/// The shell waits for a command: its prompt (`$ `) is the last thing on the screen.
fn shell_ready(screen: &str) -> bool {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end() == "$")
}

/// What the pane showed since the latest command was typed at the shell (`$ …`).
fn since_command(screen: &str) -> &str {
    let mut start = 0;
    let mut at = 0;
    for line in screen.split_inclusive('\n') {
        if is_command_line(line) {
            start = at;
        }
        at += line.len();
    }
    &screen[start..]
}

/// The line of the latest prompt of the latest command, pending or answered.
fn latest_prompt(screen: &str) -> Option<&str> {
    since_command(screen)
        .lines()
        .rev()
        .find(|l| is_pending(l) || is_answered(l))
}

/// The pending prompt of the latest command, once drawn up to its ` ›` (the prompt text is
/// whole; a line caught half-written is not taken).
fn pending_prompt(screen: &str) -> Option<&str> {
    latest_prompt(screen).filter(|l| is_pending(l) && l.contains(" ›"))
}

fn exit_lines(screen: &str) -> Vec<i32> {
    screen
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("EXIT="))
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The header of the step instance shown last (`── [3/7] Step 2.1  …`).
fn current_step(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| l.starts_with("── "))
        .unwrap_or("")
}

impl Terminal {
    fn start(name: &str) -> Terminal {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut t = Terminal {
            socket: format!(
                "stepwise-test-{name}-{}-{}",
                std::process::id(),
                SERVERS.fetch_add(1, Ordering::SeqCst)
            ),
            socket_path: None,
            dir,
            answered: 0,
            exits: 0,
            commands: 0,
        };
        let conf = t.path("tmux.conf");
        fs::write(&conf, "set -g history-limit 100000\nset -g status off\n").unwrap();
        let tmp = t.path("tmp");
        fs::create_dir(&tmp).unwrap();
        let out = Command::new("tmux")
            .arg("-u")
            .args(["-L", &t.socket, "-f"])
            .arg(&conf)
            .args([
                "new-session",
                "-d",
                "-s",
                "op",
                "-x",
                COLUMNS,
                "-y",
                ROWS,
                "-c",
            ])
            .arg(t.dir.path())
            .arg("sh")
            .env_remove("TMUX")
            .env_remove("ENV")
            .env_remove("STEPWISE_STATE_DIR")
            .env_remove("NO_COLOR")
            .env("PS1", "$ ")
            .env("SHELL", "/bin/sh")
            .env("HOME", t.dir.path())
            .env("USER", OPERATOR)
            // A rehearsal's sandbox goes here, and goes away with the test.
            .env("TMPDIR", &tmp)
            .output()
            .expect("tmux starts");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let socket_path = t.tmux(&["display-message", "-p", "#{socket_path}"]);
        t.socket_path = Some(PathBuf::from(socket_path.trim_end()));
        t.wait_until("the shell prompt", shell_ready);
        t
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-u")
            .args(["-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the pane showed since it started (scrollback and screen), wrapped lines
    /// joined.
    fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "op"])
    }

    /// What is on the screen now.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "op"])
    }

    fn cursor_visible(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "op", "#{cursor_flag}"])
            .trim()
            == "1"
    }

    /// Polls the pane's history until `done` holds; fails with the screen after [`WAIT`].
    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let h = self.history();
            if done(&h) {
                return h;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "waited {} s for {what}; the screen:\n{}",
                    WAIT.as_secs(),
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "op"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "op", "-l", text]);
    }

    /// Types `stepwise ARGS…; echo EXIT=$?` at the shell prompt.
    fn run(&mut self, args: &[&str]) {
        self.run_piped(args, "");
    }

    /// Types `stepwise ARGS… PIPE; echo EXIT=$?` at the shell prompt (`PIPE` as given, e.g.
    /// `| tee log`; the exit code is then the last command's).
    fn run_piped(&mut self, args: &[&str], pipe: &str) {
        let mut line = sh_quote(env!("CARGO_BIN_EXE_stepwise"));
        for a in args {
            line.push(' ');
            line.push_str(&sh_quote(a));
        }
        if !pipe.is_empty() {
            line.push(' ');
            line.push_str(pipe);
        }
        line.push_str("; echo EXIT=$?");
        self.type_command(&line);
    }

    /// Types `line` at the shell prompt and presses Enter, once the shell waits for a command;
    /// returns once the line is echoed, so that from then on [`since_command`] sees only what
    /// this command draws (never a prompt left pending by the one before).
    fn type_command(&mut self, line: &str) {
        self.wait_until("the shell prompt before typing a command", shell_ready);
        self.type_text(line);
        self.send(&["Enter"]);
        let n = self.commands + 1;
        self.wait_until("the command line to be echoed", |h| command_lines(h) >= n);
        self.commands = n;
    }

    /// Waits for the command typed last to exit and the shell to prompt again, and returns its
    /// exit code.
    fn exit_code(&mut self) -> i32 {
        let n = self.exits + 1;
        let h = self.wait_until("the command to exit and the shell prompt", |h| {
            exit_lines(h).len() >= n && shell_ready(h)
        });
        self.exits = n;
        exit_lines(&h)[n - 1]
    }

    fn all_answered(&self, h: &str) -> bool {
        h.lines().filter(|l| is_answered(l)).count() >= self.answered
    }

    /// Waits for the next pending prompt, which must contain `text`; returns the history.
    fn prompt(&self, text: &str) -> String {
        let h = self.wait_until(&format!("a prompt `{text}`"), |h| {
            self.all_answered(h) && pending_prompt(h).is_some() || exit_lines(h).len() > self.exits
        });
        let line = pending_prompt(&h).unwrap_or("");
        assert!(
            line.contains(text),
            "expected a prompt `{text}`; the screen:\n{}",
            self.screen()
        );
        h
    }

    /// Waits for the next pending prompt, or for the command to exit (`None`).
    fn next_prompt(&self) -> Option<String> {
        let h = self.wait_until("a prompt or the end of the command", |h| {
            self.all_answered(h) && pending_prompt(h).is_some() || exit_lines(h).len() > self.exits
        });
        if exit_lines(&h).len() > self.exits {
            return None;
        }
        pending_prompt(&h).map(str::to_string)
    }

    /// Answers the pending prompt with keys (`y`, `Enter`).
    fn answer(&mut self, keys: &[&str]) {
        self.send(keys);
        self.answered += 1;
    }

    /// Types an answer at a text prompt and presses Enter.
    fn type_answer(&mut self, text: &str) {
        self.type_text(text);
        self.send(&["Enter"]);
        self.answered += 1;
    }

    /// Picks the menu entry containing `label` of the pending menu: arrow keys, then Enter.
    fn choose(&mut self, label: &str) {
        /// How far the entry is from the menu's cursor, once both are drawn.
        fn distance(screen: &str, label: &str) -> Option<isize> {
            let lines: Vec<&str> = screen.lines().collect();
            let at = lines.iter().rposition(|l| is_pending(l))?;
            let menu = &lines[at + 1..];
            let cursor = menu.iter().position(|l| l.starts_with('❯'))?;
            let target = menu.iter().position(|l| l.contains(label))?;
            Some(target as isize - cursor as isize)
        }
        let screen = self.wait_until(&format!("a menu entry `{label}`"), |h| {
            distance(since_command(h), label).is_some()
        });
        let d = distance(since_command(&screen), label).unwrap();
        let key = if d > 0 { "Down" } else { "Up" };
        let mut keys = vec![key; d.unsigned_abs()];
        keys.push("Enter");
        self.answer(&keys);
    }
}

/// No progress bar (overall or an action's) may be left on the screen once it was cleared.
fn assert_no_leftover_bar(history: &str) {
    let left: Vec<&str> = history
        .lines()
        .filter(|l| l.starts_with("progress [") || l.contains(BAR_TEXT))
        .collect();
    assert!(
        left.is_empty(),
        "progress bar lines were left on the screen:\n{}\n\nthe whole screen:\n{history}",
        left.join("\n")
    );
}

/// The one run under `state_dir`, its events, and the progress they replay into.
fn the_run(state_dir: &Path) -> (Run, Vec<Event>, Progress) {
    let runs = journal::list_runs(state_dir).expect("the state folder lists");
    assert_eq!(runs.len(), 1, "one run under {}", state_dir.display());
    let run = runs.into_iter().next().unwrap().run.expect("the run opens");
    let events = run.read_journal().expect("the journal reads").events;
    let progress = Progress::replay(&events);
    (run, events, progress)
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

fn assert_finished(progress: &Progress) {
    assert_eq!(
        progress.lifecycle,
        Some(Lifecycle::Finished(RunOutcome::Completed))
    );
}

/// The inventory that makes the test runbooks' web servers this machine.
fn web_local() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/web-local.yaml")
        .display()
        .to_string()
}

fn runbook(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/runbooks")
        .join(name)
        .display()
        .to_string()
}

/// The folders of `tests/runbooks/automated.yaml`: the package at the manifest's sizes, a share
/// that holds an old Alpha.msi, and an empty work folder.
struct Folders {
    package: PathBuf,
    share: PathBuf,
    work: PathBuf,
}

const PACKAGE: [(&str, usize); 4] = [
    ("Alpha.msi", 300_000),
    ("Beta.msi", 200_000),
    ("Gamma.msi", 150_000),
    ("Delta.msi", 100_000),
];

impl Folders {
    fn prepare(t: &Terminal) -> Folders {
        let f = Folders {
            package: t.path("package"),
            share: t.path("share"),
            work: t.path("work"),
        };
        for d in [&f.package, &f.share, &f.work] {
            fs::create_dir_all(d).unwrap();
        }
        for (name, size) in PACKAGE {
            fs::write(f.package.join(name), vec![b'N'; size]).unwrap();
        }
        fs::write(f.share.join("Alpha.msi"), "old Alpha\n").unwrap();
        f
    }

    fn run_args(&self, t: &Terminal) -> Vec<String> {
        vec![
            "run".into(),
            runbook("automated.yaml"),
            "--inventory".into(),
            web_local(),
            "--set".into(),
            format!("package_dir={}", self.package.display()),
            "--set".into(),
            format!("share={}", self.share.display()),
            "--set".into(),
            format!("work_dir={}", self.work.display()),
            "--state-dir".into(),
            t.state_dir().display().to_string(),
        ]
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

const AUTOMATED_KEYS: [&str; 7] = [
    "copy-package",
    "write-config",
    "restart-web@WEB01",
    "restart-web@WEB02",
    "confirm-web@WEB01",
    "confirm-web@WEB02",
    "verify",
];

/// Starts `automated.yaml` and confirms the four automated steps before the manual ones.
fn walk_to_the_manual_steps(t: &mut Terminal, f: &Folders) {
    t.run(&strs(&f.run_args(t)));
    t.prompt("Hosts for Web servers (web)");
    t.answer(&["Enter"]);
    for (step, prompt) in [
        (
            "[1/7] Step 1.1  Back up and copy the package",
            "Run step 1.1 now?",
        ),
        (
            "[2/7] Step 1.2  Write the service configuration",
            "Run step 1.2 now?",
        ),
        (
            "[3/7] Step 2.1  Restart the web service  on WEB01",
            "Run step 2.1 on WEB01 now?",
        ),
        (
            "[4/7] Step 2.1  Restart the web service  on WEB02",
            "Run step 2.1 on WEB02 now?",
        ),
    ] {
        let h = t.prompt(prompt);
        assert!(current_step(&h).contains(step), "at {step}:\n{h}");
        t.answer(&["y"]);
    }
}

#[test]
fn an_operator_walks_the_automated_runbook_to_the_end() {
    let Some(mut t) = terminal("walk") else {
        return;
    };
    let f = Folders::prepare(&t);
    t.run(&strs(&f.run_args(&t)));

    let h = t.prompt("Hosts for Web servers (web), separated by commas (WEB01, WEB02)");
    assert!(
        h.contains("Automated test procedure\nKB0 · stepwise tests\n"),
        "{h}"
    );
    t.answer(&["Enter"]);

    let h = t.prompt("Run step 1.1 now?");
    for text in [
        "✔ Hosts for Web servers (web), separated by commas · WEB01, WEB02",
        "7 step instances",
        "Dry-run checks: ",
        "── [1/7] Step 1.1  Back up and copy the package",
        "   key: copy-package   phase: Files",
        "   This step is automated; it will:",
        &format!(
            "     copy from {} to {}",
            f.package.display(),
            f.share.display()
        ),
        "     back up every file it replaces into the run folder",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    let state = t.state_dir().display().to_string();
    assert!(
        h.lines()
            .any(|l| l.starts_with("Run ") && l.contains(&format!("state in {state}/"))),
        "the header names the run and its state folder:\n{h}"
    );
    t.answer(&["y"]);

    let h = t.prompt("Run step 1.2 now?");
    assert!(h.contains(&format!("   ✓ copied 4 files to {}", f.share.display())));
    assert!(current_step(&h).contains("[2/7] Step 1.2  Write the service configuration"));
    t.answer(&["y"]);
    for host in ["WEB01", "WEB02"] {
        let h = t.prompt(&format!("Run step 2.1 on {host} now?"));
        assert!(
            current_step(&h).contains(&format!("Step 2.1  Restart the web service  on {host}")),
            "{h}"
        );
        t.answer(&["y"]);
    }
    for host in ["WEB01", "WEB02"] {
        let h = t.prompt(&format!("Step 2.2 on {host}: what now?"));
        assert!(
            current_step(&h).contains(&format!(
                "Step 2.2  Confirm the web site answers  on {host}"
            )),
            "{h}"
        );
        assert!(h.contains("   Open the site on the server and log on.\n"));
        t.choose("Done");
    }
    let h = t.prompt("Run step 2.3 now?");
    assert!(current_step(&h).contains("[7/7] Step 2.3  Verify the share"));
    assert!(h.contains(&format!(
        "check: exists {} (300000 bytes)",
        f.share.join("Alpha.msi").display()
    )));
    t.answer(&["y"]);

    assert_eq!(t.exit_code(), 0);
    let h = t.history();
    let state = t.state_dir().display().to_string();
    // The summary: how every instance was done, per host, the time, the run folder.
    for text in [
        "   ✓ all 2 checks held\n\nSummary: 7 step instances: 7 done (5 by automation, 2 by hand), 0 skipped, 0 partly done, 0 failed, 0 left\n",
        "  (not per host)  3 done (3 by automation), 0 skipped, 0 partly done, 0 failed, 0 left\n",
        "  WEB01           2 done (1 by automation, 1 by hand), 0 skipped, 0 partly done, 0 failed, 0 left\n",
        "  elapsed: ",
        &format!("  run folder: {state}/"),
        "\nRun finished. The record is in ",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    assert!(t.cursor_visible());
    assert_no_leftover_bar(&h);

    let (run, events, progress) = the_run(&t.state_dir());
    for key in AUTOMATED_KEYS {
        assert!(
            matches!(progress.state(key), InstanceState::Done(_)),
            "{key}: {:?}",
            progress.state(key)
        );
    }
    assert_eq!(
        progress.state("confirm-web@WEB01"),
        &InstanceState::Done(Completion::Confirmed)
    );
    assert_eq!(
        progress.state("copy-package"),
        &InstanceState::Done(Completion::Automated)
    );
    assert_finished(&progress);
    assert!(events.iter().all(|e| e.operator == OPERATOR));
    assert_eq!(
        fs::metadata(f.share.join("Alpha.msi")).unwrap().len(),
        300_000
    );
    assert_eq!(
        fs::read_to_string(run.backup_dir().join("copy-package/Alpha.msi")).unwrap(),
        "old Alpha\n"
    );
    let restarts = fs::read_to_string(f.work.join("restarts.log")).unwrap();
    assert_eq!(restarts.lines().count(), 2, "{restarts}");
}

#[test]
fn ctrl_c_at_a_prompt_saves_restores_the_terminal_and_resume_finishes() {
    let Some(mut t) = terminal("ctrlc") else {
        return;
    };
    let f = Folders::prepare(&t);
    walk_to_the_manual_steps(&mut t, &f);
    let h = t.prompt("Step 2.2 on WEB01: what now?");
    assert!(current_step(&h).contains("[5/7] Step 2.2  Confirm the web site answers  on WEB01"));
    t.send(&["C-c"]);

    assert_eq!(t.exit_code(), 130);
    assert!(
        t.cursor_visible(),
        "the cursor is hidden after Ctrl-C:\n{}",
        t.screen()
    );
    let screen = t.screen();
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let exit = lines.iter().rposition(|l| *l == "EXIT=130").unwrap();
    let message = lines[..exit].iter().rev().find(|l| !l.is_empty()).unwrap();
    assert!(
        message.starts_with("Interrupted: progress is saved; `stepwise resume ")
            && message.ends_with("` goes on from here."),
        "the last line before the shell is the interrupted message:\n{screen}"
    );
    assert_eq!(
        screen.matches("Interrupted: ").count(),
        1,
        "one interrupted message:\n{screen}"
    );
    assert_eq!(lines.get(exit + 1).copied(), Some("$"), "{screen}");
    assert_no_leftover_bar(&t.history());

    let (_, events, progress) = the_run(&t.state_dir());
    let k = kinds(&events);
    assert_eq!(k.last(), Some(&"interrupted"), "{k:?}");
    assert_eq!(
        k.iter().filter(|k| **k == "interrupted").count(),
        1,
        "{k:?}"
    );
    // Nothing was decided at WEB01's menu, so nothing is in doubt.
    assert!(progress.in_doubt().is_empty(), "{:?}", progress.in_doubt());

    // The operator takes the run up again in the same terminal, at the same step.
    let state = t.state_dir().display().to_string();
    t.run(&["resume", "--state-dir", &state]);
    let h = t.prompt("Step 2.2 on WEB01: what now?");
    assert!(
        h.contains("4 done, 0 skipped, 0 failed, 3 left of 7"),
        "{h}"
    );
    t.choose("Add a note");
    t.prompt("Note");
    t.type_answer("logged on to the site before the break");
    t.prompt("Step 2.2 on WEB01: what now?");
    t.choose("Done");
    let h = t.prompt("Step 2.2 on WEB02: what now?");
    assert!(current_step(&h).contains("[6/7] Step 2.2  Confirm the web site answers  on WEB02"));
    t.choose("Done");
    t.prompt("Run step 2.3 now?");
    t.answer(&["y"]);
    assert_eq!(t.exit_code(), 0);
    assert!(t.history().contains("Run finished. The record is in "));
    assert!(t.cursor_visible());

    let (_, events, progress) = the_run(&t.state_dir());
    for key in AUTOMATED_KEYS {
        assert!(
            matches!(progress.state(key), InstanceState::Done(_)),
            "{key}"
        );
    }
    assert_finished(&progress);
    let note = events
        .iter()
        .find(|e| e.kind.name() == "note_added")
        .expect("the note is journaled");
    assert_eq!(note.kind.key(), Some("confirm-web@WEB01"));
    assert_eq!(
        note.note.as_deref(),
        Some("logged on to the site before the break")
    );
    assert!(kinds(&events).contains(&"resumed"));
}

#[test]
fn skip_with_a_reason_add_a_note_pause_and_resume() {
    let Some(mut t) = terminal("pause") else {
        return;
    };
    let f = Folders::prepare(&t);
    walk_to_the_manual_steps(&mut t, &f);

    t.prompt("Step 2.2 on WEB01: what now?");
    t.choose("Add a note");
    t.prompt("Note");
    t.type_answer("the site answers slowly from the jump host");
    let h = t.prompt("Step 2.2 on WEB01: what now?");
    assert!(h.contains("   Note saved.\n"));
    assert!(current_step(&h).contains("on WEB01"));
    t.choose("Skip (a reason is required)");
    t.prompt("Why skip it?");
    t.type_answer("WEB01 is out of the load balancer tonight");

    let h = t.prompt("Step 2.2 on WEB02: what now?");
    assert!(current_step(&h).contains("[6/7] Step 2.2  Confirm the web site answers  on WEB02"));
    t.choose("Pause: save and exit");
    assert_eq!(t.exit_code(), 3);
    let h = t.history();
    assert!(h.contains("Paused. Progress is saved; `stepwise resume "));
    assert!(t.cursor_visible());
    assert_no_leftover_bar(&h);
    let (_, events, _) = the_run(&t.state_dir());
    assert_eq!(kinds(&events).last(), Some(&"paused"));

    let state = t.state_dir().display().to_string();
    t.run(&["resume", "--state-dir", &state]);
    // The operator paused at WEB02's menu before deciding: the step is simply shown again.
    let h = t.prompt("Step 2.2 on WEB02: what now?");
    assert!(
        h.contains("4 done, 1 skipped, 0 failed, 2 left of 7"),
        "{h}"
    );
    assert!(current_step(&h).contains("on WEB02"));
    t.choose("Done");
    t.prompt("Run step 2.3 now?");
    t.answer(&["y"]);
    // Before the run finishes, what was skipped may be reopened; Enter finishes.
    let h = t.prompt("Every step instance is settled; 1 can be reopened. Finish the run?");
    assert!(
        h.contains(
            "  Reopen 2.2 confirm-web@WEB01: skipped: WEB01 is out of the load balancer tonight"
        ),
        "{h}"
    );
    t.answer(&["Enter"]);
    assert_eq!(t.exit_code(), 0);
    assert_no_leftover_bar(&t.history());

    let (_, events, progress) = the_run(&t.state_dir());
    assert_finished(&progress);
    assert_eq!(
        progress.state("confirm-web@WEB01"),
        &InstanceState::Skipped {
            reason: "WEB01 is out of the load balancer tonight".into()
        }
    );
    let notes: Vec<&str> = progress
        .instance("confirm-web@WEB01")
        .unwrap()
        .notes
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    assert!(
        notes.contains(&"the site answers slowly from the jump host"),
        "{notes:?}"
    );
    assert_eq!(
        progress.state("confirm-web@WEB02"),
        &InstanceState::Done(Completion::Confirmed)
    );
    let k = kinds(&events);
    assert!(k.contains(&"paused") && k.contains(&"resumed"), "{k:?}");
}

#[test]
fn a_failing_command_offers_the_known_issue_workaround_then_retries() {
    let Some(mut t) = terminal("failing") else {
        return;
    };
    let work = t.path("work");
    fs::create_dir(&work).unwrap();
    let state = t.state_dir().display().to_string();
    let set = format!("work_dir={}", work.display());
    t.run(&[
        "run",
        &runbook("failing.yaml"),
        "--inventory",
        &web_local(),
        "--set",
        &set,
        "--state-dir",
        &state,
    ]);
    t.prompt("Hosts for Web servers");
    t.answer(&["Enter"]);
    let h = t.prompt("Run step 1.1 on WEB01 now?");
    assert!(current_step(&h).contains("[1/3] Step 1.1  Start the service  on WEB01"));
    assert!(h.contains("   Known issue: Error 1053 when the service starts\n"));
    t.answer(&["y"]);

    let h = t.prompt("start-service@WEB01 failed. What now?");
    for text in [
        "   ✗ start-service@WEB01 failed: ",
        "exited with 3; success is 0",
        "   Last lines of output:\n     | starting\n     | Error 1053: the service did not respond\n",
        "   Known issue: Error 1053 when the service starts\n     Symptom: Error 1053: The service \
         did not respond to the start or control request in a timely fashion.\n     Cause: \
         Signature verification takes too long.\n     Workaround: Write the configuration file, \
         then start the service again.\n",
        "  Apply the workaround of \"Error 1053 when the service starts\", then retry",
    ] {
        assert!(h.contains(text), "`{text}` is not on the screen:\n{h}");
    }
    t.choose("Apply the workaround");
    let h = t.prompt("Run it now?");
    assert!(h.contains("   Workaround of \"Error 1053 when the service starts\":"));
    // The workaround runs where the issue was seen: on the failed instance's host.
    assert_eq!(
        current_step(&h),
        "── Workaround step  Write the fix  on WEB01",
        "{h}"
    );
    assert!(h.contains(&format!("     write {}", work.join("fixed").display())));
    t.answer(&["y"]);

    let h = t.prompt("Run step 1.1 on WEB02 now?");
    assert!(h.contains(&format!("   ✓ wrote {}", work.join("fixed").display())));
    assert!(
        h.contains("\n   Trying start-service@WEB01 again.\n   ✓ "),
        "the retry is announced:\n{h}"
    );
    assert!(
        h.contains("exited with 0\n     | starting\n"),
        "the retry succeeded:\n{h}"
    );
    assert!(current_step(&h).contains("[2/3] Step 1.1  Start the service  on WEB02"));
    t.answer(&["y"]);
    let h = t.prompt("Step 1.2: what now?");
    assert!(current_step(&h).contains("[3/3] Step 1.2  Confirm the service runs"));
    t.choose("Done");
    assert_eq!(t.exit_code(), 0);
    assert_no_leftover_bar(&t.history());

    let (_, events, progress) = the_run(&t.state_dir());
    assert_finished(&progress);
    let applied = events
        .iter()
        .find(|e| e.kind.name() == "known_issue_applied")
        .expect("known_issue_applied is journaled");
    assert_eq!(
        applied.kind,
        EventKind::KnownIssueApplied {
            key: Some("start-service@WEB01".into()),
            issue: "error-1053".into()
        }
    );
    // Its automation succeeded once the known issue's workaround was applied.
    assert_eq!(
        progress.state("start-service@WEB01"),
        &InstanceState::Done(Completion::Workaround)
    );
    assert_eq!(
        progress.instance("start-service@WEB01").unwrap().attempts,
        2
    );
    let k = kinds(&events);
    assert_eq!(k.iter().filter(|k| **k == "instance_failed").count(), 1);
}

/// The keys an operator presses at a prompt of a rehearsal of hmc45-ur6 (no Update Rollup 5,
/// not upgraded from 4.0) who does every step.
fn hmc45_rehearsal_keys(t: &Terminal, prompt: &str) -> &'static [&'static str] {
    if prompt.contains("Has Update Rollup 5 already been installed?")
        || prompt.contains("upgraded from Hosted Messaging and Collaboration 4.0?")
    {
        &["n"]
    } else if prompt.starts_with("? Run step ") || prompt.contains("prerequisites met?") {
        &["y"]
    } else if prompt.starts_with("? Tick every item done") {
        // Nothing starts ticked: `a` ticks every item.
        &["a", "Enter"]
    } else if prompt.starts_with("? Hosts for ")
        || prompt.starts_with("? Step ") && prompt.contains(": what now?")
    {
        // The defaults: the hosts of the article, Done. The path parameters are not asked at
        // all: the sandbox stands in for them.
        &["Enter"]
    } else {
        panic!("an unexpected prompt: {prompt}\n{}", t.screen());
    }
}

#[test]
fn a_rehearsal_of_hmc45_ur6_by_keystrokes() {
    let Some(mut t) = terminal("rehearsal") else {
        return;
    };
    let state = t.state_dir().display().to_string();
    let started = Instant::now();
    t.run(&["run", "hmc45-ur6", "--rehearse", "--state-dir", &state]);
    let mut seen = Vec::new();
    while let Some(prompt) = t.next_prompt() {
        let keys = hmc45_rehearsal_keys(&t, &prompt);
        seen.push(prompt);
        t.answer(keys);
    }
    assert_eq!(t.exit_code(), 0);
    eprintln!(
        "the rehearsal took {:.1} s and {} answers",
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    let h = t.history();
    // The header is folded to the terminal's width at a word boundary.
    let words = h.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("· REHEARSAL (a sandbox stands in for every folder; commands are not run)")
    );
    let header = h.lines().find(|l| l.contains("· REHEARSAL")).unwrap();
    assert!(header.chars().count() <= 120, "{header}");
    assert!(h.contains("\nRun finished. The record is in "));
    assert!(t.cursor_visible());
    assert_no_leftover_bar(&h);
    assert!(seen.iter().any(|p| p.starts_with("? Tick every item done")));
    assert_eq!(
        seen.iter().filter(|p| p.starts_with("? Run step ")).count(),
        2,
        "the two copies are confirmed: {seen:#?}"
    );

    let (run, events, progress) = the_run(&t.state_dir());
    assert!(run.header().rehearsal);
    assert!(matches!(
        events[0].kind,
        EventKind::RunStarted {
            rehearsal: true,
            ..
        }
    ));
    assert_finished(&progress);
    let done = progress
        .instances()
        .filter(|(_, i)| matches!(i.state, InstanceState::Done(_)))
        .count();
    assert_eq!(done, 30, "every step instance of the rollup is done");
    let sandbox = h
        .lines()
        .find_map(|l| l.strip_prefix("Sandbox: "))
        .map(|s| PathBuf::from(s.trim_end()))
        .expect("the sandbox is named at the start");
    assert!(sandbox.starts_with(t.path("tmp")), "{}", sandbox.display());
    let share = sandbox.join("msi_share");
    let package = sandbox.join("package_dir");
    // The package holds the whole file table (33 files, spelled as the table spells them); the
    // share holds the 23 MSIs of both copies, each the package's file (names match ignoring case).
    let package_files: Vec<PathBuf> = fs::read_dir(&package)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(package_files.len(), 33, "the whole file table");
    let mut copied = 0;
    for entry in fs::read_dir(&share).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        let source = package_files
            .iter()
            .find(|p| p.file_name().unwrap().to_string_lossy().to_lowercase() == name)
            .unwrap_or_else(|| panic!("{name} is not from the package"));
        assert_eq!(
            fs::read(&path).unwrap(),
            fs::read(source).unwrap(),
            "{name} in the share is the new one"
        );
        copied += 1;
    }
    assert_eq!(copied, 23, "the MSIs of both copies");
    let mut backed_up = 0;
    // A rehearsal keeps its backups in its sandbox, and the run says where.
    assert_eq!(run.backup_dir(), sandbox.join("backup"));
    for step in ["copy-msis", "copy-msis-ur5"] {
        for entry in fs::read_dir(run.backup_dir().join(step)).unwrap() {
            let entry = entry.unwrap();
            let old = fs::read_to_string(entry.path()).unwrap();
            assert_eq!(
                old,
                format!(
                    "old version of {} (rehearsal)\n",
                    entry.file_name().to_string_lossy()
                )
            );
            backed_up += 1;
        }
    }
    assert_eq!(
        backed_up, 23,
        "the old MSIs are in the sandbox's backup folder"
    );
}

#[test]
fn ctrl_c_at_a_yes_no_prompt_leaves_no_bar_and_resume_asks_again() {
    let Some(mut t) = terminal("ctrlc-copy") else {
        return;
    };
    let f = Folders::prepare(&t);
    t.run(&strs(&f.run_args(&t)));
    t.prompt("Hosts for Web servers");
    t.answer(&["Enter"]);
    let h = t.prompt("Run step 1.1 now?");
    assert!(current_step(&h).contains("[1/7] Step 1.1  Back up and copy the package"));
    t.send(&["C-c"]);

    assert_eq!(t.exit_code(), 130);
    assert!(t.cursor_visible());
    let screen = t.screen();
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let exit = lines.iter().rposition(|l| *l == "EXIT=130").unwrap();
    assert!(
        lines[exit - 1].starts_with("Interrupted: progress is saved; `stepwise resume "),
        "{screen}"
    );
    assert_eq!(
        lines[..exit - 1]
            .iter()
            .rev()
            .find(|l| !l.is_empty())
            .copied(),
        Some("? Run step 1.1 now? (y/n) › no"),
        "the unanswered prompt is left whole, on its own line:\n{screen}"
    );
    assert_no_leftover_bar(&t.history());
    let (_, events, progress) = the_run(&t.state_dir());
    assert_eq!(kinds(&events).last(), Some(&"interrupted"));
    // The copy was never started: nothing is in doubt, and resume asks again.
    assert!(progress.in_doubt().is_empty(), "{:?}", progress.in_doubt());

    let state = t.state_dir().display().to_string();
    t.run(&["resume", "--state-dir", &state]);
    t.prompt("Run step 1.1 now?");
    t.answer(&["y"]);
    for prompt in [
        "Run step 1.2 now?",
        "Run step 2.1 on WEB01 now?",
        "Run step 2.1 on WEB02 now?",
    ] {
        t.prompt(prompt);
        t.answer(&["y"]);
    }
    for host in ["WEB01", "WEB02"] {
        t.prompt(&format!("Step 2.2 on {host}: what now?"));
        t.choose("Done");
    }
    t.prompt("Run step 2.3 now?");
    t.answer(&["y"]);
    assert_eq!(t.exit_code(), 0);
    assert_no_leftover_bar(&t.history());
    let (run, _, progress) = the_run(&t.state_dir());
    assert_finished(&progress);
    assert_eq!(
        fs::read_to_string(run.backup_dir().join("copy-package/Alpha.msi")).unwrap(),
        "old Alpha\n"
    );
}

#[test]
fn long_questions_fit_the_terminal_and_ctrl_c_before_the_run_starts_exits_130() {
    let Some(mut t) = terminal("before") else {
        return;
    };
    let state = t.state_dir().display().to_string();
    t.run(&["run", "hmc45-ur6", "--state-dir", &state]);
    t.prompt("Has Update Rollup 5 already been installed?");
    t.answer(&["n"]);
    t.prompt("Was this system upgraded from Hosted Messaging and Collaboration 4.0?");
    t.answer(&["n"]);
    // Four folders: the defaults are the article's.
    for _ in 0..4 {
        t.prompt("");
        t.answer(&["Enter"]);
    }
    let h = t.prompt("Hosts for MPS engine servers (mps_engine), separated by commas (MPS01)");
    // 86 columns of question and 44 of default do not fit 120: the default has its own line.
    assert!(
        h.contains(
            "  Default (Enter keeps it): %WINDIR%\\Microsoft.NET\\Framework\\v2.0.50727\n✔ .NET \
             Framework folder that holds InstallUtil.exe on the Exchange Hub Transport servers · \
             %WINDIR%\\Microsoft.NET\\Framework\\v2.0.50727\n"
        ),
        "{h}"
    );
    t.type_text("MPS01, MPS02");
    t.send(&["C-c"]);

    assert_eq!(t.exit_code(), 130);
    assert!(t.cursor_visible(), "the cursor is hidden:\n{}", t.screen());
    let h = t.history();
    assert!(
        h.contains(
            "? Hosts for MPS engine servers (mps_engine), separated by commas (MPS01) › MPS01, \
             MPS02\n\nInterrupted before the run started; nothing was started.\nEXIT=130\n"
        ),
        "{h}"
    );
    // Every question was drawn whole and answered on one line: none is left half-cleared.
    let pending: Vec<&str> = since_command(&h)
        .lines()
        .filter(|l| is_pending(l))
        .collect();
    assert_eq!(pending.len(), 1, "{h}");
    assert!(
        !t.state_dir().exists() || fs::read_dir(t.state_dir()).unwrap().next().is_none(),
        "no run was created"
    );
}

#[test]
fn run_piped_into_tee_still_asks_at_the_terminal() {
    let Some(mut t) = terminal("tee") else {
        return;
    };
    let state = t.state_dir().display().to_string();
    let log = t.path("run.log").display().to_string();
    t.run_piped(
        &["run", "hmc45-ur6", "--state-dir", &state],
        &format!("| tee {}", sh_quote(&log)),
    );
    // Standard output is a pipe, standard input and error are the terminal: the walk asks.
    t.prompt("Has Update Rollup 5 already been installed?");
    t.answer(&["n"]);
    t.prompt("Was this system upgraded from Hosted Messaging and Collaboration 4.0?");
    t.send(&["C-c"]);
    t.exit_code();
    let h = t.history();
    assert!(
        h.contains("Interrupted before the run started; nothing was started."),
        "{h}"
    );
    assert!(!h.contains("no terminal"), "{h}");
}

/// A host-major phase at the terminal: every step on WEB01, then the question before WEB02;
/// pausing there and resuming asks the same question again, and going on walks WEB02.
#[test]
fn a_host_major_phase_asks_before_each_batch_at_the_terminal() {
    let Some(mut t) = terminal("batches") else {
        return;
    };
    fs::write(
        t.path("rolling.yaml"),
        "id: rolling\ntitle: Rolling\narticle: KB1\nproduct: Demo\nroles:\n  - { id: web, title: Web servers, hosts: [WEB01, WEB02] }\nphases:\n  - id: rolling\n    title: Each web server in turn\n    for_each_host: web\n    steps:\n      - { id: drain, title: Drain, on: web }\n      - { id: install, title: Install, on: web }\n",
    )
    .unwrap();
    let rolling = t.path("rolling.yaml").display().to_string();
    let state = t.state_dir().display().to_string();
    t.run(&["run", &rolling, "--state-dir", &state]);
    t.prompt("Hosts for Web servers (web)");
    t.answer(&["Enter"]);
    for (step, prompt) in [
        (
            "[1/4] Step 1.1  Drain  on WEB01",
            "Step 1.1 on WEB01: what now?",
        ),
        (
            "[2/4] Step 1.2  Install  on WEB01",
            "Step 1.2 on WEB01: what now?",
        ),
    ] {
        let h = t.prompt(prompt);
        assert!(current_step(&h).contains(step), "at {step}:\n{h}");
        t.choose("Done");
    }
    t.prompt("Batch 1 of 2 done (WEB01): go on to WEB02?");
    t.choose("Pause: save and exit");
    assert_eq!(t.exit_code(), 3);

    t.run(&["resume", "--state-dir", &state]);
    t.prompt("Batch 1 of 2 done (WEB01): go on to WEB02?");
    t.choose("Go on to WEB02");
    for (step, prompt) in [
        (
            "[3/4] Step 1.1  Drain  on WEB02",
            "Step 1.1 on WEB02: what now?",
        ),
        (
            "[4/4] Step 1.2  Install  on WEB02",
            "Step 1.2 on WEB02: what now?",
        ),
    ] {
        let h = t.prompt(prompt);
        assert!(current_step(&h).contains(step), "at {step}:\n{h}");
        t.choose("Done");
    }
    assert_eq!(t.exit_code(), 0);
    assert_no_leftover_bar(&t.history());
    let (_, events, progress) = the_run(&t.state_dir());
    assert_finished(&progress);
    let k = kinds(&events);
    let walk: Vec<&str> = k
        .iter()
        .copied()
        .filter(|k| ["instance_done", "batch_confirmed", "paused"].contains(k))
        .collect();
    assert_eq!(
        walk,
        [
            "instance_done",
            "instance_done",
            "paused",
            "batch_confirmed",
            "instance_done",
            "instance_done"
        ]
    );
}

/// A server that takes a password: `check` asks it at the terminal, hidden, once per host, and
/// connects with it; a wrong one is refused by the server, and no password is shown.
#[test]
fn check_asks_a_hosts_password_hidden_at_the_terminal_and_connects_with_it() {
    let Some(mut t) = terminal("password") else {
        return;
    };
    let mut fleet = crate::fleet::Fleet::start(&["WEB01"]);
    fleet.allow_password("s3cret-pw");
    let root = crate::fleet::HOST_ROOT;
    fs::create_dir(fleet.host("WEB01").tree.join("share")).unwrap();
    fs::write(
        t.path("book.yaml"),
        format!(
            "id: book\ntitle: Book\narticle: KB0\nproduct: P\nroles:\n  - {{ id: web, title: Web, hosts: [WEB01] }}\nphases:\n  - id: a\n    title: A\n    steps:\n      - {{ id: verify, title: Verify, on: web, action: {{ type: check, checks: [{{ writable: '{root}/share' }}] }} }}\n"
        ),
    )
    .unwrap();
    fs::write(
        t.path("inventory.yaml"),
        fleet.inventory("").replace(
            "address: 127.0.0.2 }",
            "address: 127.0.0.2, auth: password }",
        ),
    )
    .unwrap();
    let asked = "SSH password of root on WEB01 (not stored)";
    for (password, code, said) in [
        (
            "s3cret-pw",
            0,
            format!("ok        verify@WEB01: folder {root}/share on WEB01: exists and is writable"),
        ),
        (
            "wrong-pw",
            1,
            "host WEB01 over SSH: WEB01 refused authentication as root with a password".to_string(),
        ),
    ] {
        t.run(&["check", "book.yaml", "--inventory", "inventory.yaml"]);
        t.wait_until("the password prompt", |h| since_command(h).contains(asked));
        t.type_text(password);
        t.send(&["Enter"]);
        assert_eq!(t.exit_code(), code, "{}", t.history());
        let h = t.history();
        assert!(h.contains(&said), "{h}");
        assert!(!h.contains(password), "the password was shown:\n{h}");
    }
    assert_eq!(fleet.trees(), ["WEB01: share"]);
}
