//! The integration suite against the Windows build: the portable modules of `tests/cli/`, run
//! against `stepwise.exe` under Wine, plus `wine.rs`, the Windows code paths (C:\ paths, free
//! space, writability, job objects, `%VAR%`, long paths, `cmd /c`), `ssh.rs`, SSH from a
//! Windows jump host to the Linux test hosts of `tests/cli/fleet.rs`, and `parity.rs`, what the
//! Windows build prints byte for byte as the Linux build does (schemas, list, man page, help).
//!
//! `scripts/windows.sh` (called by `.ci/run`) builds the executable and prints the path of a
//! wrapper that runs it under Wine; `STEPWISE_WINDOWS_BIN` names that wrapper. Without it the
//! suite cannot run: under CI that is a failure, elsewhere one test says how to run it.
//!
//! Not here, because they need Unix: `kill` (SIGKILL at every journal write), `creation` (runs
//! killed while they start), `harden` (links, modes, SIGTERM), `pipes` (bash's `| head`),
//! `evidence` (its runbook's commands are `sh` scripts), `operator` (it controls `USER`, and Wine
//! gives every Windows process a `USERNAME`) and `terminal` (tmux); and within the modules below
//! every test wrapped in `unix_only!`, which this binary ignores with its reason
//! (`cargo test --test windows -- --ignored --list` lists them).
//! Not yet passing or tried under Wine: `ssh_failures` and `ssh_folder` (their exact messages
//! name Linux paths and Linux's system error texts), `ssh` (cli), `ssh_copy`, `fleet_order` and
//! `parallel`.
#![allow(clippy::disallowed_macros)] // tests print what they saw

/// This binary runs the Windows build.
#[cfg(stepwise_windows_suite)]
const WINDOWS: bool = true;

#[cfg(stepwise_windows_suite)]
macro_rules! unix_only {
    ($why:literal; $($item:item)*) => { $( #[ignore = $why] $item )* };
}

#[cfg(stepwise_windows_suite)]
#[path = "../cli/common.rs"]
mod common;

#[cfg(stepwise_windows_suite)]
#[path = "../cli/check.rs"]
mod check;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/checklist.rs"]
mod checklist;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/color.rs"]
mod color;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/completion.rs"]
mod completion;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/content.rs"]
mod content;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/copy.rs"]
mod copy;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/fleet.rs"]
mod fleet;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/journal.rs"]
mod journal;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/json.rs"]
mod json;

#[cfg(stepwise_windows_suite)]
mod parity;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/record.rs"]
mod record;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/run.rs"]
mod run;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/schema.rs"]
mod schema;
#[cfg(stepwise_windows_suite)]
mod ssh;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/target.rs"]
mod target;
#[cfg(stepwise_windows_suite)]
#[path = "../cli/validate.rs"]
mod validate;
#[cfg(stepwise_windows_suite)]
mod wine;

/// Without `STEPWISE_WINDOWS_BIN` at build time (`build.rs` turns it into the
/// `stepwise_windows_suite` cfg) there is nothing to run: CI must run it, so there it fails.
#[cfg(not(stepwise_windows_suite))]
#[test]
fn the_windows_suite_needs_the_windows_build() {
    let how = "build it with `scripts/windows.sh` and run `STEPWISE_WINDOWS_BIN=$(scripts/windows.sh) cargo test --locked`";
    if std::env::var_os("CI").is_some() {
        panic!("CI runs the Windows suite, but STEPWISE_WINDOWS_BIN is not set: {how}");
    }
    eprintln!("the Windows suite did not run: {how}");
}
