//! Actions on a host reached over SSH: the check and the execution of a step instance whose
//! target is `ssh`, through its [`Session`]. Nothing here touches this machine's files except
//! the run folder's output log.
//!
//! A `command` runs on the host (its argument vector quoted for the host's shell by
//! [`crate::target::shell`]); its check looks the program up on the host, read-only. The file
//! actions (`copy`, `write_file`, `check`) are not done over SSH by this version: their check is
//! blocking and their execution refuses, so such a step is done by hand, never here.

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

use super::command::TAIL_LINES;
use super::{
    CommandRun, ExecContext, Failure, FailureKind, Finding, Outcome, Progress, missing_params,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, CommandAction, Template};
use crate::target::ssh::{RemoteEnd, Session};
use crate::target::{Shell, shell};

/// How long a program lookup on a host may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks an action on its host, read-only.
pub(super) fn check(
    plan: &Plan,
    instance: &Instance,
    action: &Action,
    s: &Session,
) -> Vec<Finding> {
    match action {
        Action::Manual => vec![Finding::ok(
            instance,
            "manual step",
            "the operator does it and confirms",
        )],
        Action::Command(a) => vec![program_finding(plan, instance, &a.program, a.shell, s)],
        other => vec![not_over_ssh(instance, other, &s.target.host)],
    }
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
        other => Err(Failure::new(
            FailureKind::NotReady,
            not_over_ssh(instance, other, &s.target.host).sentence(),
        )),
    }
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
        RemoteEnd::TimedOut => Err(fail(
            FailureKind::TimedOut,
            format!(
                "{shown} did not finish within {} seconds; its channel was closed",
                a.timeout_secs
            ),
        )),
        RemoteEnd::Cancelled => Err(fail(
            FailureKind::Cancelled,
            format!("{shown} was cancelled; its channel was closed"),
        )),
        RemoteEnd::Lost(why) => Err(fail(
            FailureKind::Io,
            format!(
                "lost the connection to {host} while {shown} ran ({why}); whether it finished is unknown"
            ),
        )),
    }
}
