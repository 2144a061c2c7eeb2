//! Actions on a host reached over SSH: the check and the execution of a step instance whose
//! target is `ssh`, through its [`Session`]. Nothing here touches this machine's files except
//! the run folder (output log, backups).
//!
//! A `command` runs on the host (its argument vector quoted for the host's shell by
//! [`crate::target::shell`]); its check looks the program up on the host, read-only. A
//! `write_file` and the `check` assertions `exists` and `writable` go through SFTP: a file is
//! written under a temporary name beside its target, read back and compared by SHA-256, then
//! moved into place; the file it replaces is backed up into the run folder first. A `command`
//! assertion runs on the host when the check step is done (exit 0 holds), as a command does;
//! the dry-run only looks its program up. A `copy` goes to the host through SFTP as
//! well ([`super::remote_copy`]), and a `create_folder` makes its folder (and the folders above
//! it that are missing) through SFTP ([`super::create_folder`]).

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

use super::command::TAIL_LINES;
use super::{
    CommandRun, Done, ExecContext, Failure, FailureKind, Finding, Outcome, Progress, missing_params,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, Assertion, CheckAction, CommandAction, Template, WriteFileAction};
use crate::target::ssh::{ChangeError, RemoteEnd, Session, Stat};
use crate::target::{Shell, shell};

/// How long a program lookup on a host may take.
pub(super) const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks an action on its host, read-only.
pub(super) fn check(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    env: &super::CheckEnv,
    s: &Session,
) -> Vec<Finding> {
    match action {
        Action::Manual => vec![Finding::ok(
            instance,
            "manual step",
            "the operator does it and confirms",
        )],
        Action::Command(a) => vec![program_finding(plan, instance, &a.program, a.shell, s)],
        Action::WriteFile(a) => write_file_check(plan, instance, a, s).0,
        Action::Copy(a) => {
            super::remote_copy::check(plan, instance, a, s, env.backup_dir.as_deref())
        }
        Action::Check(a) => a
            .checks
            .iter()
            .map(|c| assertion(plan, instance, c, s))
            .collect(),
        Action::CreateFolder(a) => super::create_folder::check_remote(plan, instance, a, s),
        other => vec![not_over_ssh(instance, other, &s.target.host)],
    }
}

/// A runbook path as the host reads it: on a POSIX host backslashes are folder separators.
pub(super) fn host_path(s: &Session, text: &str) -> String {
    match s.target.shell {
        Shell::Sh => text.replace('\\', "/"),
        _ => text.to_string(),
    }
}

/// Checks a folder on the host: it exists, is a folder, and (when asked) is writable. `what`
/// names it in the finding: `folder`, `destination folder`.
pub(super) fn folder(
    s: &Session,
    instance: &Instance,
    dir: &str,
    shown: &str,
    what: &str,
    writable: bool,
) -> Finding {
    let host = &s.target.host;
    let checked = format!("{what} {shown} on {host}");
    match s.stat(dir) {
        Err(e) => Finding::blocking(
            instance,
            checked,
            format!("cannot be looked at: {e}"),
            format!("Check the connection to {host}"),
        ),
        Ok(Stat::Missing) => Finding::blocking(
            instance,
            checked,
            "does not exist",
            format!("Create the folder {shown} on {host}"),
        ),
        Ok(Stat::File { .. }) => Finding::blocking(
            instance,
            checked,
            "is a file, not a folder",
            "Move the file out of the way",
        ),
        Ok(Stat::Folder) if !writable => Finding::ok(instance, checked, "exists"),
        Ok(Stat::Folder) => match may_write(s, dir) {
            MayWrite::Yes => Finding::ok(instance, checked, "exists and is writable"),
            MayWrite::No => Finding::blocking(
                instance,
                checked,
                "is not writable: permission denied",
                format!("Give {} write access to {shown} on {host}", s.target.user),
            ),
            MayWrite::Unknown(e) => Finding::blocking(
                instance,
                checked,
                format!("cannot be looked at: {e}"),
                format!("Check the connection to {host}"),
            ),
            MayWrite::Unasked => Finding::warning(
                instance,
                checked,
                "exists; whether it is writable cannot be asked of a Windows shell",
                format!("Make sure {} can write to {shown}", s.target.user),
            ),
        },
    }
}

/// Whether the account on a host may create entries in a folder that exists.
pub(super) enum MayWrite {
    Yes,
    No,
    /// A Windows shell cannot be asked without writing.
    Unasked,
    /// The question could not be asked (the connection).
    Unknown(String),
}

/// Asks the host, read-only, whether a folder takes new entries (`test -w` and `test -x` on a
/// POSIX shell; a Windows shell cannot be asked).
pub(super) fn may_write(s: &Session, dir: &str) -> MayWrite {
    match s.target.shell {
        Shell::Sh => {
            let q = shell::sh_word(dir);
            match s.query(&format!("test -w {q} && test -x {q}"), LOOKUP_TIMEOUT) {
                Ok((0, _)) => MayWrite::Yes,
                Ok(_) => MayWrite::No,
                Err(e) => MayWrite::Unknown(e),
            }
        }
        _ => MayWrite::Unasked,
    }
}

/// An assertion of a `check` action on the host (read-only). Like on this machine, a file that
/// is not there yet is a warning: a check step usually verifies what earlier steps put there.
fn assertion(plan: &Plan, instance: &Instance, a: &Assertion, s: &Session) -> Finding {
    let host = &s.target.host;
    match a {
        Assertion::Exists { path, size } => {
            let shown = plan.resolved.show(path);
            let checked = match size {
                Some(n) => format!("{shown} exists on {host} with {n} bytes"),
                None => format!("{shown} exists on {host}"),
            };
            match s.stat(&host_path(s, &plan.resolved.fill(path))) {
                Err(e) => Finding::blocking(
                    instance,
                    checked,
                    format!("cannot be looked at: {e}"),
                    format!("Check the connection to {host}"),
                ),
                Ok(Stat::Missing) => Finding::warning(
                    instance,
                    checked,
                    "does not exist",
                    format!("Create or restore {shown} on {host}"),
                ),
                Ok(Stat::Folder) if size.is_some() => Finding::blocking(
                    instance,
                    checked,
                    format!(
                        "is a folder, expected a file of {} bytes",
                        size.unwrap_or(0)
                    ),
                    format!("Put the right file at {shown} on {host}"),
                ),
                Ok(Stat::Folder) => Finding::ok(instance, checked, "yes (a folder)"),
                Ok(Stat::File { size: found }) => match size {
                    Some(n) if *n != found => Finding::warning(
                        instance,
                        checked,
                        format!("has {found} bytes"),
                        format!("Put the right file at {shown} on {host}"),
                    ),
                    _ => Finding::ok(instance, checked, format!("yes ({found} bytes)")),
                },
            }
        }
        Assertion::Writable { dir } => folder(
            s,
            instance,
            &host_path(s, &plan.resolved.fill(dir)),
            &plan.resolved.show(dir),
            "folder",
            true,
        ),
        Assertion::Command { program, .. } => program_finding(plan, instance, program, false, s),
    }
}

/// What writing the file would do: the findings, and the target path when it can be written.
fn write_file_check(
    plan: &Plan,
    instance: &Instance,
    a: &WriteFileAction,
    s: &Session,
) -> (Vec<Finding>, Option<(String, Option<u64>)>) {
    let host = &s.target.host;
    let shown_dir = plan.resolved.show(&a.dir);
    let shown = super::join_shown(&shown_dir, &a.file);
    let mut missing = missing_params(plan, &a.dir);
    missing.extend(missing_params(plan, &a.content));
    if !missing.is_empty() {
        return (
            vec![Finding::warning(
                instance,
                format!("file {shown} on {host}"),
                "not known yet: a parameter it needs has no value",
                format!("Give {}", super::set_hints(&missing)),
            )],
            None,
        );
    }
    let dir = host_path(s, &plan.resolved.fill(&a.dir));
    let f = folder(s, instance, &dir, &shown_dir, "folder", true);
    if f.severity == super::Severity::Blocking {
        return (vec![f], None);
    }
    let target = join_host(s, &dir, &a.file);
    let content = plan.resolved.fill(&a.content);
    let checked = format!("file {shown} on {host}");
    let mut out = vec![f];
    let existing = match s.stat(&target) {
        Ok(Stat::Missing) => {
            out.push(Finding::ok(
                instance,
                checked,
                "does not exist yet; it will be created",
            ));
            None
        }
        Ok(Stat::Folder) => {
            out.push(Finding::blocking(
                instance,
                checked,
                format!("{} is a folder; a file cannot replace it", a.file),
                format!("Move the folder {} out of the way", a.file),
            ));
            return (out, None);
        }
        Ok(Stat::File { size }) => {
            let same = size == content.len() as u64
                && s.read(&target).is_ok_and(|b| b == content.as_bytes());
            out.push(Finding::ok(
                instance,
                checked,
                if same {
                    format!("{} already has this content; left as it is", a.file)
                } else if a.backup {
                    format!("{} exists and will be replaced (backed up first)", a.file)
                } else {
                    format!(
                        "{} exists and will be replaced (no backup: `backup: false`)",
                        a.file
                    )
                },
            ));
            Some(size)
        }
        Err(e) => {
            out.push(Finding::blocking(
                instance,
                checked,
                format!("cannot be looked at: {e}"),
                format!("Check the connection to {host}"),
            ));
            return (out, None);
        }
    };
    (out, Some((target, existing)))
}

pub(super) fn join_host(s: &Session, dir: &str, file: &str) -> String {
    match s.target.shell {
        Shell::Sh => format!("{}/{file}", dir.trim_end_matches('/')),
        _ => super::join_shown(dir, file),
    }
}

/// Writes a file on the host: through a temporary name beside it, read back and compared by
/// SHA-256, then moved into place; the file it replaces is backed up into the run folder.
fn write_file(
    plan: &Plan,
    instance: &Instance,
    a: &WriteFileAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    let (findings, ready) = write_file_check(plan, instance, a, s);
    let Some((target, existing)) = ready.filter(|_| {
        !findings
            .iter()
            .any(|f| f.severity == super::Severity::Blocking)
    }) else {
        return Err(Failure::not_ready(&findings));
    };
    let host = &s.target.host;
    let content = plan.resolved.fill(&a.content);
    let io = |what: String| Failure::new(FailureKind::Io, what);
    let mut backup = None;
    if existing.is_some() {
        let old = s
            .read(&target)
            .map_err(|e| io(format!("cannot read {target} on {host}: {e}")))?;
        if old == content.as_bytes() {
            return Ok(Outcome {
                summary: format!("{target} on {host} already has this content"),
                done: vec![Done::AlreadyInPlace {
                    name: a.file.clone(),
                    to: target.clone().into(),
                }],
                command: None,
            });
        }
        if a.backup {
            let dir = super::instance_dir(ctx.backup_dir, instance);
            let path = dir.join(&a.file);
            if !path.exists() {
                std::fs::create_dir_all(&dir)
                    .and_then(|()| crate::fsutil::write_atomic(&path, &old))
                    .map_err(|e| {
                        io(format!(
                            "cannot back up {target} of {host} to {}: {}",
                            path.display(),
                            crate::error::describe_io(&e)
                        ))
                    })?;
            }
            backup = Some(path);
        }
    }
    let tmp = join_host(
        s,
        target.rsplit_once(['/', '\\']).map_or(".", |(d, _)| d),
        &format!(".{}.stepwise-part", a.file),
    );
    let like = existing.map(|_| target.as_str());
    // Until the move is sent, only the temporary file has been touched: a failure here is a
    // failure, and the destination is as it was.
    let unchanged = format!("{target} on {host} is unchanged");
    crate::target::ssh::hold("write");
    s.write(&tmp, content.as_bytes(), like)
        .map_err(|e| io(format!("cannot write {tmp} on {host}: {e}; {unchanged}")))?;
    let back = s.read(&tmp).map_err(|e| {
        io(format!(
            "cannot read back {tmp} on {host}: {e}; {unchanged}"
        ))
    })?;
    let (want, got) = (sha256(content.as_bytes()), sha256(&back));
    if want != got {
        return Err(Failure::new(
            FailureKind::Verify,
            format!("{tmp} on {host}: SHA-256 {got} after writing, expected {want}; {unchanged}"),
        ));
    }
    move_into_place(s, &tmp, &target).map_err(|e| move_failure(&tmp, &target, host, e))?;
    Ok(Outcome {
        summary: match &backup {
            Some(b) => format!(
                "wrote {target} on {host} (the old file is in {})",
                b.display()
            ),
            None => format!("wrote {target} on {host}"),
        },
        done: vec![Done::Written {
            path: target.into(),
            bytes: content.len() as u64,
            backup,
        }],
        command: None,
    })
}

/// The failure of moving a written file into place: a refusal leaves the destination as it was;
/// a move sent without an answer may still happen on the host, so its outcome is unknown
/// ([`FailureKind::OutcomeUnknown`]), never a failure.
pub(super) fn move_failure(tmp: &str, target: &str, host: &str, e: ChangeError) -> Failure {
    match e {
        ChangeError::NotDone(why) => Failure::new(
            FailureKind::Io,
            format!(
                "cannot move {tmp} to {target} on {host}: {why}; {target} on {host} is unchanged"
            ),
        ),
        ChangeError::Unknown(why) => Failure::new(
            FailureKind::OutcomeUnknown,
            format!(
                "the move of {tmp} to {target} was sent to {host} and got no answer ({why}): whether {target} was replaced is unknown"
            ),
        ),
    }
}

/// Moves a temporary file over its target on the host in one step: the SFTP server's
/// `posix-rename@openssh.com` where it offers it (OpenSSH does), otherwise the shell's move
/// (`mv -f`, `move /y`, `Move-Item -Force`), since a plain SFTP rename refuses an existing
/// target. A move that was sent and not answered is [`ChangeError::Unknown`].
pub(super) fn move_into_place(s: &Session, tmp: &str, target: &str) -> Result<(), ChangeError> {
    if s.posix_rename(tmp, target)? {
        return Ok(());
    }
    let mv = match s.target.shell {
        Shell::Sh => format!(
            "mv -f -- {} {}",
            shell::sh_word(tmp),
            shell::sh_word(target)
        ),
        Shell::Cmd => format!(
            "move /y {} {}",
            shell::cmd_word(tmp),
            shell::cmd_word(target)
        ),
        Shell::Powershell => format!(
            "powershell -NoProfile -NonInteractive -EncodedCommand {}",
            shell::encode_powershell(&format!(
                "Move-Item -Force -LiteralPath {} -Destination {}",
                shell::powershell_literal(tmp),
                shell::powershell_literal(target)
            ))
        ),
    };
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut out = Vec::new();
    match s.run(&mv, LOOKUP_TIMEOUT, &never, &mut |b| {
        out.extend_from_slice(b)
    }) {
        RemoteEnd::Exited(0) => Ok(()),
        RemoteEnd::Exited(code) => Err(ChangeError::NotDone(format!(
            "exit {code}: {}",
            String::from_utf8_lossy(&out).trim()
        ))),
        RemoteEnd::TimedOut => Err(ChangeError::Unknown(format!(
            "the move did not end within {} s",
            LOOKUP_TIMEOUT.as_secs()
        ))),
        RemoteEnd::Signal(sig) => Err(ChangeError::Unknown(format!("the move was ended by {sig}"))),
        RemoteEnd::Cancelled => Err(ChangeError::Unknown("the move was cancelled".into())),
        RemoteEnd::Lost(why) => Err(ChangeError::Unknown(why)),
    }
}

/// The SHA-256 of bytes read from a host, in hex.
pub(super) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::fsutil::hex(&sha2::Sha256::digest(bytes))
}

fn not_over_ssh(instance: &Instance, action: &Action, host: &str) -> Finding {
    Finding::blocking(
        instance,
        format!("{} on {host}", action.type_name()),
        format!(
            "a `{}` action cannot be done over SSH by this version of stepwise",
            action.type_name()
        ),
        "Do the step by hand",
    )
}

/// Looks the program up on the host (`command -v`, `Get-Command`, `where`), without running it.
fn program_finding(
    plan: &Plan,
    instance: &Instance,
    program: &Template,
    through_shell: bool,
    s: &Session,
) -> Finding {
    let host = &s.target.host;
    let shown = plan.resolved.show(program);
    let checked = format!("program {shown} on {host}");
    let missing = missing_params(plan, program);
    if !missing.is_empty() {
        return Finding::warning(
            instance,
            checked,
            "not checked: a parameter it needs has no value",
            format!("Give {}", super::set_hints(&missing)),
        );
    }
    let filled = plan.resolved.fill(program);
    let line = lookup_line(s.target.shell, &filled);
    match s.query(&line, LOOKUP_TIMEOUT) {
        Ok((0, out)) => {
            let path = out.lines().next().unwrap_or("").trim().to_string();
            Finding::ok(
                instance,
                checked,
                format!("found at {path} (not run by the check)"),
            )
        }
        Ok(_) if through_shell => Finding::warning(
            instance,
            checked,
            format!("not found on {host}; it may be a command of the shell"),
            "Check that the shell knows this command",
        ),
        Ok(_) => Finding::blocking(
            instance,
            checked,
            format!("not found on {host}"),
            format!("Install the program on {host}, or correct its name in the runbook"),
        ),
        Err(why) => Finding::blocking(
            instance,
            checked,
            format!("cannot be looked up on {host}: {why}"),
            format!("Check the connection to {host}"),
        ),
    }
}

/// The read-only lookup of a program on a target's shell.
fn lookup_line(sh: Shell, program: &str) -> String {
    match sh {
        Shell::Sh => format!("command -v {}", shell::sh_word(program)),
        Shell::Cmd => format!("where {}", shell::cmd_word(program)),
        Shell::Powershell => format!(
            "powershell -NoProfile -NonInteractive -EncodedCommand {}",
            shell::encode_powershell(&format!(
                "(Get-Command -ErrorAction Stop {}).Source",
                shell::powershell_literal(program)
            ))
        ),
    }
}

/// Does an action on its host.
pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    match action {
        Action::Manual => Ok(Outcome {
            summary: "manual step: nothing to run".into(),
            done: Vec::new(),
            command: None,
        }),
        Action::Command(a) => command(plan, instance, a, ctx, s),
        Action::WriteFile(a) => write_file(plan, instance, a, ctx, s),
        Action::Copy(a) => super::remote_copy::execute(plan, instance, a, ctx, s),
        Action::CreateFolder(a) => super::create_folder::execute_remote(plan, instance, a, s),
        Action::Check(a) => check_on_host(plan, instance, a, ctx, s),
        other => Err(Failure::new(
            FailureKind::NotReady,
            not_over_ssh(instance, other, &s.target.host).sentence(),
        )),
    }
}

/// How long a `command` assertion may run on the host (as on this machine).
const ASSERTION_TIMEOUT: Duration = Duration::from_secs(600);

/// A `check` action done on its host: `exists` and `writable` looked at, a `command` run there
/// (exit 0 holds), as a local check's execution does; the dry-run only looks its program up.
fn check_on_host(
    plan: &Plan,
    instance: &Instance,
    a: &CheckAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut last_run = None;
    for c in &a.checks {
        if let Assertion::Command { program, args } = c {
            let run = CommandAction {
                program: program.clone(),
                args: args.clone(),
                cwd: None,
                timeout_secs: ASSERTION_TIMEOUT.as_secs(),
                success_codes: vec![0],
                shell: false,
            };
            match command(plan, instance, &run, ctx, s) {
                Ok(o) => {
                    if let Some(r) = &o.command {
                        done.push(Done::Held {
                            check: format!("{} exits 0", r.command_line),
                        });
                    }
                    last_run = o.command;
                }
                // Stopped, or the connection went: not a verdict on the assertion.
                Err(f)
                    if matches!(f.kind, FailureKind::Cancelled | FailureKind::ConnectionLost) =>
                {
                    return Err(f);
                }
                Err(f) => {
                    failed.push(f.message.clone());
                    last_run = f.command.map(|b| *b);
                }
            }
            continue;
        }
        let f = assertion(plan, instance, c, s);
        if f.severity == super::Severity::Ok {
            done.push(Done::Held {
                check: f.sentence(),
            });
        } else {
            failed.push(f.sentence());
        }
    }
    if !failed.is_empty() {
        let mut f = Failure::new(FailureKind::AssertionFailed, failed.join("; "));
        f.done = done;
        f.command = last_run.map(Box::new);
        return Err(f);
    }
    Ok(Outcome {
        summary: format!(
            "{} held on {}",
            plural_checks(a.checks.len()),
            s.target.host
        ),
        done,
        command: last_run,
    })
}

fn command(
    plan: &Plan,
    instance: &Instance,
    a: &CommandAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    let host = s.target.host.clone();
    let args_shown: Vec<String> = a.args.iter().map(|t| plan.resolved.show(t)).collect();
    let shown = format!(
        "{} (on {host})",
        super::command_line(&plan.resolved.show(&a.program), &args_shown)
    );
    let mut missing = missing_params(plan, &a.program);
    for t in a.args.iter().chain(&a.cwd) {
        missing.extend(missing_params(plan, t));
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
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
    let program = plan.resolved.fill(&a.program);
    let args: Vec<String> = a.args.iter().map(|t| plan.resolved.fill(t)).collect();
    let mut line = if a.shell {
        // The runbook's text is the shell's syntax on purpose; every value is quoted for it.
        let quoting = match s.target.shell {
            Shell::Sh => super::shell::Shell::Sh,
            Shell::Cmd => super::shell::Shell::Cmd,
            Shell::Powershell => super::shell::Shell::PowerShell,
        };
        let joined =
            super::shell::line(plan, quoting, &a.program, &a.args, false).map_err(|u| {
                Failure::new(
                    FailureKind::CannotStart,
                    format!("cannot start {shown}: {u}"),
                )
            })?;
        match s.target.shell {
            Shell::Powershell => format!(
                "powershell -NoProfile -NonInteractive -EncodedCommand {}",
                shell::encode_powershell(&joined)
            ),
            _ => joined,
        }
    } else {
        shell::command_line(s.target.shell, &program, &args)
    };
    if let Some(cwd) = &a.cwd {
        let dir = plan.resolved.fill(cwd);
        line = match s.target.shell {
            Shell::Sh => format!("cd {} && {line}", shell::sh_word(&dir)),
            Shell::Cmd => format!("cd /d {} && {line}", shell::cmd_word(&dir)),
            Shell::Powershell => {
                let words =
                    std::iter::once(program.as_str()).chain(args.iter().map(String::as_str));
                let call: Vec<String> = words.map(shell::powershell_literal).collect();
                format!(
                    "powershell -NoProfile -NonInteractive -EncodedCommand {}",
                    shell::encode_powershell(&format!(
                        "Set-Location -LiteralPath {}; & {}; exit $LASTEXITCODE",
                        shell::powershell_literal(&dir),
                        call.join(" ")
                    ))
                )
            }
        };
    }
    let timeout = Duration::from_secs(a.timeout_secs);
    let started = Instant::now();
    let base = super::fsops::key_file_name(&instance.key);
    let output_file = (1..)
        .map(|n| match n {
            1 => ctx.output_dir.join(format!("{base}.log")),
            n => ctx.output_dir.join(format!("{base}.{n}.log")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| ctx.output_dir.join(format!("{base}.log")));
    let mut log = std::fs::create_dir_all(ctx.output_dir)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&output_file)
        })
        .map_err(|e| {
            Failure::new(
                FailureKind::CannotStart,
                format!(
                    "cannot start {shown}: cannot write its output to {}: {}",
                    output_file.display(),
                    crate::error::describe_io(&e)
                ),
            )
        })?;
    let _ = writeln!(log, "$ {shown}");
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut pending: Vec<u8> = Vec::new();
    let progress = &mut *ctx.progress;
    let mut on_output = |bytes: &[u8]| {
        let _ = log.write_all(bytes);
        pending.extend_from_slice(bytes);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=i).collect();
            let text = String::from_utf8_lossy(&raw[..raw.len() - 1])
                .trim_end_matches('\r')
                .to_string();
            progress(Progress::Line(&text));
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(text);
        }
    };
    let end = s.run(&line, timeout, &ctx.cancel, &mut on_output);
    if !pending.is_empty() {
        tail.push_back(String::from_utf8_lossy(&pending).into_owned());
    }
    let _ = log.sync_all();
    let run = CommandRun {
        command_line: shown.clone(),
        exit_code: match end {
            RemoteEnd::Exited(code) => Some(code),
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
    match end {
        RemoteEnd::Exited(code) if a.success_codes.contains(&code) => Ok(Outcome {
            summary: format!("{shown} exited with {code}"),
            done: Vec::new(),
            command: Some(run),
        }),
        RemoteEnd::Exited(code) => Err(fail(
            FailureKind::ExitCode(code),
            format!(
                "{shown} exited with {code}; success is {}",
                a.success_codes
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )),
        RemoteEnd::Signal(sig) => Err(fail(
            FailureKind::Killed,
            format!("{shown} was ended by {sig}"),
        )),
        // The channel is closed and the host asked to kill the command, but an SSH server
        // need not honour that (OpenSSH does not stop a command without a terminal when its
        // channel closes): it may still run, and change things, so this is not a failure.
        RemoteEnd::TimedOut => Err(fail(
            FailureKind::OutcomeUnknown,
            format!(
                "{shown} did not finish within {} seconds; its channel was closed, but it may still be running on {host}",
                a.timeout_secs
            ),
        )),
        RemoteEnd::Cancelled => Err(fail(
            FailureKind::Cancelled,
            format!("{shown} was cancelled; its channel was closed"),
        )),
        RemoteEnd::Lost(why) => Err(fail(
            FailureKind::ConnectionLost,
            format!(
                "lost the connection to {host} while {shown} ran ({why}); whether it finished is unknown"
            ),
        )),
    }
}

fn plural_checks(n: usize) -> String {
    if n == 1 {
        "the check".to_string()
    } else {
        format!("all {n} checks")
    }
}
