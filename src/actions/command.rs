//! `command`: a program run with an argument vector (no shell unless the runbook asks for one),
//! in a working folder, with a timeout, its output captured.
//!
//! [`find_program`] serves the check and the execution alike: the check reports what it finds,
//! the execution starts what it found.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::fsops;
use super::shell::{self, Shell};
use super::{
    CommandRun, ExecContext, Failure, FailureKind, Finding, Outcome, Place, Progress, check_folder,
    missing_params, or_hint, redirect_hint, set_hints, windows_only,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{CommandAction, ParamType, Template};

/// How many lines of output [`CommandRun::tail`] keeps.
pub const TAIL_LINES: usize = 20;

/// What looking a program up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramLookup {
    /// The program file that will be started.
    Found(PathBuf),
    /// Not there: `not found on PATH`, `/x/InstallUtil does not exist`.
    NotFound(String),
    /// A Windows program or path, looked up on another system.
    WindowsOnly,
}

/// Looks a program up as the execution will start it: by path when it has a folder in it
/// (`{{ dotnet_framework_dir }}\InstallUtil.exe`, matched ignoring case), otherwise on `PATH`
/// (on Windows with the extensions of `PATHEXT`). `program` has its parameters filled in.
pub fn find_program(program: &str) -> ProgramLookup {
    let windows_program = || {
        let lower = program.to_ascii_lowercase();
        [".exe", ".com", ".bat", ".cmd", ".msc"]
            .iter()
            .any(|ext| lower.ends_with(ext))
    };
    let has_folder = program.contains(['/', '\\']);
    if has_folder {
        let path = match fsops::local_path(program) {
            Ok(p) => p,
            Err(_) => return ProgramLookup::WindowsOnly,
        };
        return match fsops::locate(&path) {
            Some(found) if is_program(&found) => ProgramLookup::Found(found),
            Some(found) if found.is_dir() => {
                ProgramLookup::NotFound(format!("{} is a folder", path.display()))
            }
            Some(found) => {
                ProgramLookup::NotFound(format!("{} is not executable", found.display()))
            }
            None if !cfg!(windows) && windows_program() => ProgramLookup::WindowsOnly,
            None => ProgramLookup::NotFound(format!("{} does not exist", path.display())),
        };
    }
    if !cfg!(windows) && fsops::has_env_placeholder(program) {
        return ProgramLookup::WindowsOnly;
    }
    if let Some(found) = search_path(program) {
        return ProgramLookup::Found(found);
    }
    if !cfg!(windows) && windows_program() {
        ProgramLookup::WindowsOnly
    } else {
        ProgramLookup::NotFound("not found on PATH".into())
    }
}

fn search_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let extensions: Vec<String> = if cfg!(windows) && Path::new(program).extension().is_none() {
        std::env::var("PATHEXT")
            .unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into())
            .split(';')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        vec![String::new()]
    };
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| {
            extensions
                .iter()
                .map(move |ext| dir.join(format!("{program}{ext}")))
        })
        .find(|candidate| is_program(candidate))
}

/// A file that can be started: a regular file, executable on Unix.
fn is_program(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| fsops::is_executable(&meta))
}

/// A command line as the operator reads it: each word quoted when it needs it.
pub fn command_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    if !word.is_empty() && !word.contains([' ', '\t', '"', '\'']) {
        return word.to_string();
    }
    format!("\"{}\"", word.replace('"', "\\\""))
}

/// The finding for a program; `label` is `program` or `command`.
pub(super) fn program_finding(
    plan: &Plan,
    instance: &Instance,
    program: &Template,
    shell: bool,
) -> Finding {
    let shown = plan.resolved.show(program);
    let checked = format!("program {shown}");
    let missing = missing_params(plan, program);
    if !missing.is_empty() {
        return Finding::warning(
            instance,
            checked,
            format!(
                "not checked: {} has no value",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("Give {}", set_hints(&missing)),
        );
    }
    match find_program(&plan.resolved.fill(program)) {
        ProgramLookup::Found(path) => Finding::ok(
            instance,
            checked,
            format!("found at {} (not run by the check)", path.display()),
        ),
        ProgramLookup::WindowsOnly => windows_only(instance, &checked),
        ProgramLookup::NotFound(why) if shell => Finding::warning(
            instance,
            checked,
            format!("{why}; it may be a command of the shell"),
            "Check that the shell knows this command",
        ),
        ProgramLookup::NotFound(why) => Finding::blocking(
            instance,
            checked,
            why,
            or_hint(
                "Install the program, or correct its name in the runbook".to_string(),
                redirect_hint(plan, program, "the folder that has it"),
            ),
        ),
    }
}

pub(super) fn check(plan: &Plan, instance: &Instance, a: &CommandAction) -> Vec<Finding> {
    let mut out = vec![program_finding(plan, instance, &a.program, a.shell)];
    if a.shell
        && let Err(u) = shell::line(plan, Shell::local(), &a.program, &a.args, false)
    {
        out.push(Finding::blocking(
            instance,
            format!("parameter `{}`", u.param),
            format!(
                "its value cannot be passed to {} safely: {}",
                u.shell.name(),
                u.why
            ),
            format!("Give `{}` a value without it", u.param),
        ));
    }
    if let Some(cwd) = &a.cwd {
        out.extend(check_folder(plan, instance, cwd, "working folder", false).1);
    }
    out.extend(check_file_args(plan, instance, &a.args));
    out
}

/// Arguments that name a file under a `path` parameter (`{{ package_dir }}\Update.msp`) are
/// looked up, so a missing package shows before the command runs.
fn check_file_args(plan: &Plan, instance: &Instance, args: &[Template]) -> Vec<Finding> {
    let mut out = Vec::new();
    for arg in args {
        let starts_with_path = arg.source().trim_start().starts_with("{{")
            && arg.params().next().is_some_and(|(name, _)| {
                plan.runbook
                    .parameter(name)
                    .is_some_and(|p| p.kind == ParamType::Path)
            });
        if !starts_with_path {
            continue;
        }
        let Place::Local { path, shown } = Place::of(plan, arg) else {
            continue;
        };
        let checked = format!("file {shown}");
        match fsops::locate(&path) {
            Some(found) if found == path => out.push(Finding::ok(instance, checked, "exists")),
            Some(found) => out.push(Finding::ok(
                instance,
                checked,
                format!("exists as {}", found.display()),
            )),
            // A file an argument names may be one the command (or an earlier step) creates,
            // such as a log: worth a look, not a reason to stop.
            None => out.push(Finding::warning(
                instance,
                checked,
                "does not exist yet (names are matched ignoring case)",
                or_hint(
                    format!("Put the file at {shown}"),
                    redirect_hint(plan, arg, "the folder that has it"),
                ),
            )),
        }
    }
    out
}

/// A command ready to start: every field filled in.
pub(super) struct Prepared {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// For `shell: true`: the line handed to the shell, every parameter value quoted for it.
    pub line: Option<String>,
    pub timeout: Duration,
    /// The command line as shown (secrets masked): for a shell, the very line it runs.
    pub shown: String,
    /// Masks the secret values in its output, shown and saved.
    pub redactor: Redactor,
}

impl Prepared {
    pub(super) fn new(
        plan: &Plan,
        program: &Template,
        args: &[Template],
        cwd: Option<&Template>,
        shell: bool,
        timeout: Duration,
    ) -> Result<Prepared, Failure> {
        let shown_args: Vec<String> = args.iter().map(|a| plan.resolved.show(a)).collect();
        let mut shown = command_line(&plan.resolved.show(program), &shown_args);
        if shell && let Ok(line) = shell::line(plan, Shell::local(), program, args, true) {
            shown = line;
        }
        let mut missing = missing_params(plan, program);
        for t in args.iter().chain(cwd) {
            missing.extend(missing_params(plan, t));
        }
        let mut seen = std::collections::BTreeSet::new();
        missing.retain(|m| seen.insert(m.clone()));
        if !missing.is_empty() {
            return Err(Failure::new(
                FailureKind::NotReady,
                format!(
                    "cannot run {shown}: {} has no value",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let cwd = match cwd {
            None => None,
            Some(t) => match Place::of(plan, t) {
                Place::Local { path, shown: dir } => {
                    let path = fsops::locate(&path).unwrap_or(path);
                    if !path.is_dir() {
                        return Err(Failure::new(
                            FailureKind::CannotStart,
                            format!(
                                "cannot start {shown}: the working folder {dir} does not exist"
                            ),
                        ));
                    }
                    Some(path)
                }
                other => {
                    return Err(Failure::new(
                        FailureKind::CannotStart,
                        format!(
                            "cannot start {shown}: the working folder {} can only be used on Windows",
                            other.shown()
                        ),
                    ));
                }
            },
        };
        let line = match shell {
            true => Some(
                shell::line(plan, Shell::local(), program, args, false).map_err(|u| {
                    Failure::new(
                        FailureKind::CannotStart,
                        format!("cannot start {shown}: {u}"),
                    )
                })?,
            ),
            false => None,
        };
        let filled = plan.resolved.fill(program);
        let program = if shell {
            filled
        } else {
            match find_program(&filled) {
                ProgramLookup::Found(path) => path.to_string_lossy().into_owned(),
                ProgramLookup::WindowsOnly => {
                    return Err(Failure::new(
                        FailureKind::CannotStart,
                        format!("cannot start {shown}: it can only run on Windows"),
                    ));
                }
                // Let the operating system say why it cannot be started.
                ProgramLookup::NotFound(_) => fsops::local_path(&filled)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or(filled),
            }
        };
        Ok(Prepared {
            program,
            args: args.iter().map(|a| plan.resolved.fill(a)).collect(),
            cwd,
            line,
            timeout,
            shown,
            redactor: Redactor::new(plan.resolved.secret_values()),
        })
    }

    fn command(&self) -> Command {
        let mut cmd = if let Some(line) = &self.line {
            shell_command(line)
        } else {
            let mut c = Command::new(&self.program);
            c.args(&self.args);
            c
        };
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        #[cfg(unix)]
        {
            // Its own process group, so that a timeout or a cancel kills what it started too,
            // and a Ctrl-C at the terminal reaches stepwise only.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        #[cfg(windows)]
        {
            // Started suspended, so that it is in its job object before it can start anything
            // (see `tree`), and in its own process group, so that a Ctrl-C at the console
            // reaches stepwise only, which then stops the whole tree.
            use std::os::windows::process::CommandExt;
            use windows_sys::Win32::System::Threading::{
                CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED,
            };
            cmd.creation_flags(CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP);
        }
        cmd
    }
}

/// The local shell running `line` as it is.
#[cfg(windows)]
fn shell_command(line: &str) -> Command {
    use std::os::windows::process::CommandExt;
    // Handed over verbatim: cmd does not follow the quoting rules of other programs, and with
    // `/s` it takes whatever is between the outer quotes as the line. `/v:off`: `!` is text.
    let mut c = Command::new("cmd");
    c.raw_arg(format!("/d /v:off /s /c \"{line}\""));
    c
}

/// The local shell running `line` as it is.
#[cfg(not(windows))]
fn shell_command(line: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(line);
    c
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CommandAction,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let prepared = Prepared::new(
        plan,
        &a.program,
        &a.args,
        a.cwd.as_ref(),
        a.shell,
        Duration::from_secs(a.timeout_secs),
    )?;
    let run = run(&prepared, instance, ctx, &a.success_codes)?;
    Ok(Outcome {
        summary: format!(
            "{} exited with {}",
            prepared.shown,
            run.exit_code.unwrap_or_default()
        ),
        done: Vec::new(),
        command: Some(run),
    })
}

/// Runs a prepared command to its end, its timeout, or a cancel; its output goes to the
/// instance's log file in the output folder and, line by line, to the progress callback.
pub(super) fn run(
    p: &Prepared,
    instance: &Instance,
    ctx: &mut ExecContext<'_>,
    success_codes: &[i32],
) -> Result<CommandRun, Failure> {
    let started = Instant::now();
    // Every attempt keeps its own output: KEY.log, then KEY.2.log, KEY.3.log, ...
    let base = fsops::key_file_name(&instance.key);
    let output_file = (1..)
        .map(|n| match n {
            1 => ctx.output_dir.join(format!("{base}.log")),
            n => ctx.output_dir.join(format!("{base}.{n}.log")),
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| ctx.output_dir.join(format!("{base}.log")));
    let cannot_start = |why: String| {
        Failure::new(
            FailureKind::CannotStart,
            format!("cannot start {}: {why}", p.shown),
        )
    };
    let mut log = open_log(ctx.output_dir, &output_file).map_err(|e| {
        cannot_start(format!(
            "cannot write its output to {}: {}",
            output_file.display(),
            crate::error::describe_io(&e)
        ))
    })?;
    let _ = writeln!(log, "$ {}", p.shown);
    let (reader, writer) = io::pipe().map_err(|e| cannot_start(crate::error::describe_io(&e)))?;
    let mut cmd = p.command();
    cmd.stdin(Stdio::null());
    let writer2 = writer
        .try_clone()
        .map_err(|e| cannot_start(crate::error::describe_io(&e)))?;
    cmd.stdout(writer2).stderr(writer);
    let spawned = cmd.spawn();
    // The command holds the pipe's write ends: drop it so the reader sees the end of output.
    drop(cmd);
    let mut child = spawned.map_err(|e| cannot_start(crate::error::describe_io(&e)))?;
    let tree = tree::Tree::hold(&mut child).map_err(|e| {
        cannot_start(format!(
            "cannot hold what it starts: {}",
            crate::error::describe_io(&e)
        ))
    })?;
    (ctx.progress)(Progress::Started { pid: child.id() });
    let (tx, rx) = mpsc::channel::<String>();
    let redactor = p.redactor.clone();
    let pump = std::thread::spawn(move || pump_lines(reader, log, tx, &redactor));
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut on_line = |line: String, progress: &mut dyn FnMut(Progress<'_>)| {
        progress(Progress::Line(&line));
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    };
    let ending = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                on_line(line, ctx.progress);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => {}
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ending::Exited(status),
            Ok(None) => {}
            Err(e) => {
                tree.kill(&mut child);
                break Ending::Lost(crate::error::describe_io(&e));
            }
        }
        if ctx.cancel.load(Ordering::SeqCst) {
            tree.kill(&mut child);
            break Ending::Cancelled;
        }
        if started.elapsed() >= p.timeout {
            tree.kill(&mut child);
            break Ending::TimedOut;
        }
    };
    // The rest of the output; a process it left behind may hold the pipe open, so not forever.
    let grace = Instant::now() + Duration::from_secs(2);
    while let Some(left) = grace.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => on_line(line, ctx.progress),
            Err(_) => break,
        }
    }
    if pump.is_finished() {
        let _ = pump.join();
    }
    let run = CommandRun {
        command_line: p.shown.clone(),
        exit_code: match &ending {
            Ending::Exited(status) => status.code(),
            _ => None,
        },
        output_file: Some(output_file),
        tail: tail.into_iter().collect(),
        duration: started.elapsed(),
    };
    let fail = |kind: FailureKind, message: String| {
        let mut f = Failure::new(kind, message);
        f.command = Some(Box::new(run.clone()));
        f
    };
    match ending {
        Ending::Exited(status) => match status.code() {
            Some(code) if success_codes.contains(&code) => Ok(run),
            Some(code) => Err(fail(
                FailureKind::ExitCode(code),
                format!(
                    "{} exited with {code}; success is {}",
                    p.shown,
                    success_codes
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )),
            None => Err(fail(
                FailureKind::Killed,
                format!("{} was ended by {}", p.shown, signal_name(&status)),
            )),
        },
        Ending::TimedOut => Err(fail(
            FailureKind::TimedOut,
            format!(
                "{} did not finish within {} seconds and was stopped",
                p.shown,
                p.timeout.as_secs()
            ),
        )),
        Ending::Cancelled => Err(fail(
            FailureKind::Cancelled,
            format!("{} was cancelled and stopped", p.shown),
        )),
        Ending::Lost(why) => Err(fail(
            FailureKind::Io,
            format!("lost track of {}: {why}", p.shown),
        )),
    }
}

enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    Lost(String),
}

fn open_log(dir: &Path, file: &Path) -> io::Result<File> {
    crate::fsutil::create_private_dir_all(dir)?;
    crate::fsutil::create_fresh(file)
}

/// Replaces every secret value in a command's output with `********`, before it is shown or
/// saved. A secret that a command prints split over two lines, or encoded, is out of its reach.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a secret holding another is masked whole.
    secrets: Vec<Vec<u8>>,
}

impl Redactor {
    pub fn new(secrets: Vec<String>) -> Redactor {
        let mut secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::into_bytes)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// The longest secret's length: output held back until a line ends keeps at least this much.
    fn longest(&self) -> usize {
        self.secrets.first().map_or(0, Vec::len)
    }

    pub fn redact(&self, bytes: &[u8]) -> Vec<u8> {
        self.redact_prefix(bytes, bytes.len()).0
    }

    /// Masks what starts before `limit` (a secret that starts there is masked whole, even when
    /// it ends after it); returns the text and how many bytes of `bytes` it stands for.
    fn redact_prefix(&self, bytes: &[u8], limit: usize) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(limit);
        let mut i = 0;
        'outer: while i < limit {
            for s in &self.secrets {
                if bytes[i..].starts_with(s) {
                    out.extend_from_slice(b"********");
                    i += s.len();
                    continue 'outer;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        (out, i)
    }
}

/// Output held back waiting for the end of its line before it is written anyway.
const LONG_LINE: usize = 64 * 1024;

/// Copies the command's output to the log file and sends it on line by line, every secret value
/// masked in both (bytes that are not UTF-8 are shown as replacement characters; the log keeps
/// them as they are). Output is passed on a line at a time, so that a secret is masked even when
/// it arrives in two reads; a line longer than [`LONG_LINE`] is passed on in parts.
fn pump_lines(
    mut reader: io::PipeReader,
    mut log: File,
    tx: mpsc::Sender<String>,
    redactor: &Redactor,
) {
    let mut buf = [0u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line = redactor.redact(&pending[..=i]);
            pending.drain(..=i);
            let _ = log.write_all(&line);
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            let _ = tx.send(text.trim_end_matches('\r').to_string());
        }
        if pending.len() > LONG_LINE {
            // Everything but what could be the start of a secret cut by the read.
            let keep = redactor.longest().saturating_sub(1);
            let (redacted, used) = redactor.redact_prefix(&pending, pending.len() - keep);
            pending.drain(..used);
            let _ = log.write_all(&redacted);
        }
    }
    if !pending.is_empty() {
        let line = redactor.redact(&pending);
        let _ = log.write_all(&line);
        let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
    }
    let _ = log.sync_all();
}

/// Whether a process of this machine is still alive (where that can be asked): the in-doubt
/// question on resume, about a command that a killed run started.
pub fn still_running(pid: u32) -> bool {
    tree::still_running(pid)
}

/// A started command and everything it starts, stopped together on a timeout or a cancel: its
/// process group on Unix, a job object on Windows.
#[cfg(unix)]
mod tree {
    use std::io;
    use std::process::Child;

    use rustix::process::{Pid, Signal, kill_process_group, test_kill_process};

    pub struct Tree;

    impl Tree {
        /// The command was started in a process group of its own (`Command::process_group`).
        pub fn hold(_child: &mut Child) -> io::Result<Tree> {
            Ok(Tree)
        }

        /// Kills the process group, then the child itself, and reaps it.
        pub fn kill(&self, child: &mut Child) {
            let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A process that has ended but was not reaped yet (a zombie) has ended.
    pub fn still_running(pid: u32) -> bool {
        #[cfg(target_os = "linux")]
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // `PID (COMMAND) STATE …`: the command may hold spaces and parentheses.
            return stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']));
        }
        i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .is_some_and(|pid| test_kill_process(pid).is_ok())
    }
}

/// On Windows a command starts suspended; it is put in a job object of its own, then let run.
/// Every process it starts joins the job, and terminating the job stops them all. The job does
/// not kill on close: a command of a run whose stepwise died runs on, as on Unix, and resume
/// asks about it.
#[cfg(windows)]
mod tree {
    use std::io;
    use std::os::windows::io::AsRawHandle;
    use std::process::Child;

    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ACCESS_DENIED, FALSE, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
        STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
    };
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, OpenThread, PROCESS_QUERY_LIMITED_INFORMATION,
        ResumeThread, THREAD_SUSPEND_RESUME,
    };

    /// A handle closed when dropped.
    struct Owned(HANDLE);

    impl Drop for Owned {
        fn drop(&mut self) {
            // SAFETY: the handle was returned open by the system and is closed once.
            unsafe { CloseHandle(self.0) };
        }
    }

    fn owned(handle: HANDLE) -> io::Result<Owned> {
        if handle.is_null() || handle == INVALID_HANDLE_VALUE {
            Err(io::Error::last_os_error())
        } else {
            Ok(Owned(handle))
        }
    }

    pub struct Tree {
        job: Owned,
    }

    impl Tree {
        /// Puts the suspended child in a new job object, then resumes it. On failure the child
        /// is killed.
        pub fn hold(child: &mut Child) -> io::Result<Tree> {
            let held = (|| {
                // SAFETY: no attributes, no name.
                let job = owned(unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) })?;
                // SAFETY: both handles are open.
                if unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle()) } == 0 {
                    return Err(io::Error::last_os_error());
                }
                resume(child.id())?;
                Ok(Tree { job })
            })();
            if held.is_err() {
                let _ = child.kill();
                let _ = child.wait();
            }
            held
        }

        /// Terminates every process of the job, then reaps the child.
        pub fn kill(&self, child: &mut Child) {
            // SAFETY: the job handle is open.
            unsafe { TerminateJobObject(self.job.0, 1) };
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Resumes the threads of a process started suspended (its one thread, the main one).
    fn resume(pid: u32) -> io::Result<()> {
        // SAFETY: a snapshot of every thread of the system; closed by `Owned`.
        let snapshot = owned(unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) })?;
        // SAFETY: an all-zero THREADENTRY32 with its size set is what Thread32First expects.
        let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut resumed = 0;
        // SAFETY: the snapshot is open and `entry` is a valid THREADENTRY32.
        let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != 0;
        while more {
            if entry.th32OwnerProcessID == pid {
                // SAFETY: a thread id from the snapshot; the handle is closed by `Owned`.
                let thread =
                    owned(unsafe { OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID) })?;
                // SAFETY: the thread handle is open with THREAD_SUSPEND_RESUME.
                if unsafe { ResumeThread(thread.0) } == u32::MAX {
                    return Err(io::Error::last_os_error());
                }
                resumed += 1;
            }
            // SAFETY: as above.
            more = unsafe { Thread32Next(snapshot.0, &mut entry) } != 0;
        }
        if resumed == 0 {
            return Err(io::Error::other("its thread was not found to be resumed"));
        }
        Ok(())
    }

    /// Asked with `OpenProcess` and `GetExitCodeProcess`; a process that exists but may not be
    /// opened by this user counts as running.
    pub fn still_running(pid: u32) -> bool {
        // SAFETY: any pid may be asked; the handle is closed by `Owned`.
        let process =
            match owned(unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid) }) {
                Ok(p) => p,
                Err(_) => return unsafe { GetLastError() } == ERROR_ACCESS_DENIED,
            };
        let mut code = 0u32;
        // SAFETY: the process handle is open with query access.
        let ok = unsafe { GetExitCodeProcess(process.0, &mut code) } != 0;
        ok && code == STILL_ACTIVE as u32
    }
}

#[cfg(not(any(unix, windows)))]
mod tree {
    use std::io;
    use std::process::Child;

    pub struct Tree;

    impl Tree {
        pub fn hold(_child: &mut Child) -> io::Result<Tree> {
            Ok(Tree)
        }

        pub fn kill(&self, child: &mut Child) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn still_running(_pid: u32) -> bool {
        false
    }
}

fn signal_name(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("signal {sig}");
        }
    }
    format!("{status}")
}

#[cfg(test)]
mod redactor_tests {
    use super::Redactor;

    #[test]
    fn masks_every_secret_longest_first() {
        let r = Redactor::new(vec!["hunter2".into(), "hunter2-long".into(), String::new()]);
        assert_eq!(
            r.redact(b"pw=hunter2-long and hunter2, hunter"),
            b"pw=******** and ********, hunter"
        );
        let (out, used) = r.redact_prefix(b"abchunter2xyz", 4);
        assert_eq!((out.as_slice(), used), (&b"abc********"[..], 10));
    }
}
