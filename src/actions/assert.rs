//! `check`: read-only assertions (a file or folder exists, with a size; a folder is writable; a
//! command exits 0). A dry-run evaluates the first two and looks the command's program up; the
//! execution evaluates all three the same way and runs the command.

use std::time::Duration;

use super::command::{Prepared, program_finding, run};
use super::fsops;
use super::{
    Done, ExecContext, Failure, FailureKind, Finding, Outcome, Place, Severity, check_folder,
    or_hint, redirect_hint,
};
use crate::plan::{Instance, Plan};
use crate::runbook::{Assertion, CheckAction, Template};

/// How long a `command` assertion may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Evaluates an `exists` assertion (read-only). Before a run it does not hold yet is only a
/// warning: a check step usually verifies what earlier steps of the same run put in place.
fn exists(plan: &Plan, instance: &Instance, path: &Template, size: Option<u64>) -> Finding {
    let place = Place::of(plan, path);
    if let Some(f) = place.unchecked(instance, "path") {
        return f;
    }
    let Place::Local { path: local, shown } = place else {
        unreachable!("a place that is not local was reported above");
    };
    let checked = match size {
        Some(n) => format!("{shown} exists with {n} bytes"),
        None => format!("{shown} exists"),
    };
    let to_do = |sentence: String| or_hint(sentence, redirect_hint(plan, path, "the right place"));
    match fsops::locate(&local).map(|p| std::fs::metadata(&p).map(|m| (p, m))) {
        None | Some(Err(_)) => Finding::warning(
            instance,
            checked,
            "does not exist (names are matched ignoring case)",
            to_do(format!("Create or restore {shown}")),
        ),
        Some(Ok((_, meta))) => match size {
            Some(n) if !meta.is_file() => Finding::blocking(
                instance,
                checked,
                format!("is {}, expected a file of {n} bytes", fsops::kind(&meta)),
                to_do(format!("Put the right file at {shown}")),
            ),
            Some(n) if meta.len() != n => Finding::warning(
                instance,
                checked,
                format!("has {} bytes", meta.len()),
                to_do(format!("Put the right file at {shown}")),
            ),
            _ if !meta.is_file() => {
                Finding::ok(instance, checked, format!("yes ({})", fsops::kind(&meta)))
            }
            _ => Finding::ok(instance, checked, format!("yes ({} bytes)", meta.len())),
        },
    }
}

fn check_one(plan: &Plan, instance: &Instance, a: &Assertion) -> Vec<Finding> {
    match a {
        Assertion::Exists { path, size } => vec![exists(plan, instance, path, *size)],
        Assertion::Writable { dir } => check_folder(plan, instance, dir, "folder", true).1,
        Assertion::Command { program, .. } => vec![program_finding(plan, instance, program, false)],
    }
}

pub(super) fn check(plan: &Plan, instance: &Instance, a: &CheckAction) -> Vec<Finding> {
    a.checks
        .iter()
        .flat_map(|c| check_one(plan, instance, c))
        .collect()
}

pub(super) fn execute(
    plan: &Plan,
    instance: &Instance,
    a: &CheckAction,
    ctx: &mut ExecContext<'_>,
) -> Result<Outcome, Failure> {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut last_run = None;
    for assertion in &a.checks {
        if let Assertion::Command { program, args } = assertion {
            let prepared = Prepared::new(plan, program, args, None, false, COMMAND_TIMEOUT)?;
            match run(&prepared, instance, ctx, &[0]) {
                Ok(r) => {
                    done.push(Done::Held {
                        check: format!("{} exits 0", r.command_line),
                    });
                    last_run = Some(Box::new(r));
                }
                Err(f) if f.kind == FailureKind::Cancelled => return Err(f),
                Err(f) => {
                    failed.push(f.message.clone());
                    last_run = f.command;
                }
            }
            continue;
        }
        let findings = check_one(plan, instance, assertion);
        let (bad, good): (Vec<&Finding>, Vec<&Finding>) =
            findings.iter().partition(|f| f.severity != Severity::Ok);
        if bad.is_empty() {
            done.extend(good.iter().map(|f| Done::Held {
                check: f.sentence(),
            }));
        } else {
            failed.extend(bad.iter().map(|f| f.sentence()));
        }
    }
    if !failed.is_empty() {
        let mut f = Failure::new(FailureKind::AssertionFailed, failed.join("; "));
        f.done = done;
        f.command = last_run;
        return Err(f);
    }
    Ok(Outcome {
        summary: format!(
            "{} held",
            if a.checks.len() == 1 {
                "the check".to_string()
            } else {
                format!("all {} checks", a.checks.len())
            }
        ),
        done,
        command: last_run.map(|r| *r),
    })
}
