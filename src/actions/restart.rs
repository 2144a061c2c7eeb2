//! A `restart` action's parts that touch the host: reading its boot identity, sending the
//! restart command, and the checks once the host is back. Waiting in between (reconnecting until the host answers again)
//! needs the run's connections, so the walk does it (`engine::restart`).
//!
//! A restart is never done on this machine: on a step on no role it is refused by the
//! validator, on a host whose target is `local` (or that is this machine) its check is blocking
//! and its execution refuses.

use std::time::Duration;

use super::{ExecContext, Failure, FailureKind, Finding, Outcome, remote};
use crate::plan::{Instance, Plan};
use crate::runbook::{Action, CheckAction, CommandAction, RestartAction};
use crate::target::ssh::Session;
use crate::target::{Shell, shell};

/// How long the restart command itself may run before it is given up on (the host going down
/// usually ends it, or the connection, well before).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(120);

/// The sentence for a restart that would run on this machine.
pub fn refused_here(host: Option<&str>) -> String {
    match host {
        Some(h) => format!(
            "a restart of {h} runs only over SSH: {h} is this machine (or its target is `local`), and stepwise does not restart the machine it runs on"
        ),
        None => "a restart runs only on a host over SSH, never on this machine".to_string(),
    }
}

/// The check of a restart on this machine: always blocking.
pub(super) fn check_here(instance: &Instance) -> Vec<Finding> {
    vec![Finding::blocking(
        instance,
        "restart",
        refused_here(instance.host()),
        "Give the host an `ssh` target in the inventory, or restart it by hand",
    )]
}

/// The restart command as a command action (its program and arguments, no shell).
fn command_of(r: &RestartAction) -> CommandAction {
    CommandAction {
        program: r.program.clone(),
        args: r.args.clone(),
        cwd: None,
        timeout_secs: SEND_TIMEOUT.as_secs(),
        success_codes: vec![0],
        shell: false,
    }
}

/// Checks a restart on its host, read-only: the restart program is there, and the host's
/// boot identity can be read (without it, the walk goes by a down it sees). Its checks are not
/// looked at now: they say what holds after the restart.
pub(super) fn check_remote(
    plan: &Plan,
    instance: &Instance,
    r: &RestartAction,
    env: &super::CheckEnv,
    s: &Session,
) -> Vec<Finding> {
    let mut findings = remote::check(plan, instance, &Action::Command(command_of(r)), env, s);
    let host = &s.target.host;
    let checked = format!("boot identity of {host}");
    findings.push(match boot_identity(s) {
        Ok(id) => Finding::ok(
            instance,
            checked,
            format!("{id}: after the restart, {host} counts as back when it gives another one"),
        ),
        Err(why) => Finding::warning(
            instance,
            checked,
            format!("cannot be read: {why}"),
            format!(
                "Without it, {host} counts as back once it was seen down; a resume that did not see it go down cannot tell whether it restarted"
            ),
        ),
    });
    findings
}

/// Sends the restart: runs its command on the host. The command ending with success, or the
/// connection dropping under it, or the command killed by the shutdown, all mean the restart
/// was sent; an exit code that is not 0 means it was refused.
pub fn send(
    plan: &Plan,
    instance: &Instance,
    r: &RestartAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    let command = Action::Command(command_of(r));
    match remote::execute(plan, instance, &command, ctx, s) {
        Ok(outcome) => Ok(outcome),
        Err(f)
            if matches!(
                f.kind,
                FailureKind::Io | FailureKind::Killed | FailureKind::ConnectionLost
            ) =>
        {
            Ok(Outcome {
                summary: format!(
                    "the restart was sent to {} (its connection ended with it)",
                    s.target.host
                ),
                done: Vec::new(),
                command: f.command.map(|c| *c),
            })
        }
        Err(f) => Err(f),
    }
}

/// The longest a boot identity is kept (a well-formed one is a few dozen characters).
const BOOT_IDENTITY_MAX: usize = 200;

/// Reads the host's boot identity, read-only: something that changes with every boot of the
/// host and only then, so that a host answering after a restart can be told from one that has
/// not gone down yet. Linux: `/proc/sys/kernel/random/boot_id` (another POSIX system:
/// `sysctl -n kern.boottime`); Windows (a `cmd` or `powershell` target): the operating
/// system's last boot time, `(Get-CimInstance Win32_OperatingSystem).LastBootUpTime`, in UTC.
/// `Err` says why none could be read (the walk then goes by a down seen instead).
pub fn boot_identity(s: &Session) -> Result<String, String> {
    let line = match s.target.shell {
        Shell::Sh => {
            "cat /proc/sys/kernel/random/boot_id 2>/dev/null || sysctl -n kern.boottime 2>/dev/null"
                .to_string()
        }
        Shell::Cmd | Shell::Powershell => format!(
            "powershell -NoProfile -NonInteractive -EncodedCommand {}",
            shell::encode_powershell(
                "(Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop).LastBootUpTime.ToUniversalTime().ToString('o')"
            )
        ),
    };
    match s.query(&line, remote::LOOKUP_TIMEOUT) {
        Ok((0, out)) => {
            let first = out.lines().map(str::trim).find(|l| !l.is_empty());
            match first {
                Some(id) => Ok(id.chars().take(BOOT_IDENTITY_MAX).collect()),
                None => Err("the host gave an empty boot identity".into()),
            }
        }
        Ok((code, _)) => Err(format!("the host cannot tell it (exit {code})")),
        Err(e) => Err(e),
    }
}

/// Runs the restart's checks on the host that is back.
pub fn verify(
    plan: &Plan,
    instance: &Instance,
    r: &RestartAction,
    ctx: &mut ExecContext<'_>,
    s: &Session,
) -> Result<Outcome, Failure> {
    if r.checks.is_empty() {
        return Ok(Outcome {
            summary: format!("{} is back", s.target.host),
            done: Vec::new(),
            command: None,
        });
    }
    let checks = Action::Check(CheckAction {
        checks: r.checks.clone(),
        retry: None,
    });
    remote::execute(plan, instance, &checks, ctx, s)
}

/// A restart reached through [`super::execute`] (not through the walk, which waits for it).
pub(super) fn not_here(instance: &Instance) -> Failure {
    Failure::new(FailureKind::NotReady, refused_here(instance.host()))
}
