//! The integration tests: one test binary that runs the real `stepwise` executable.
//!
//! Each module covers one part of the command line: `validate` and the runbook format, the
//! bundled runbooks against their articles (`content`), checklists, the dry-run `check`, the
//! journal with `status` and `log`, runs and resumes driven by answers files (`run`), the walk in
//! a real terminal (`terminal`, tmux), and crash safety under SIGKILL (`kill`).
#![allow(clippy::disallowed_macros)] // tests print what they saw

/// This binary runs the Linux build (`tests/windows/main.rs` runs the same modules against the
/// Windows one).
const WINDOWS: bool = false;

/// Tests that need Unix (signals, `setpriv`, mount namespaces, tmux): run here, ignored with
/// their reason in the Windows suite.
macro_rules! unix_only {
    ($why:literal; $($item:item)*) => { $($item)* };
}

mod common;

mod check;
mod checklist;
mod color;
mod completion;
mod content;
mod copy;
mod creation;
mod evidence;
mod fleet;
mod fleet_order;
mod harden;
mod journal;
mod json;
mod kill;
mod operator;
mod parallel;
mod pipes;
mod record;
mod record_truth;
mod run;
mod schema;
mod ssh;
mod ssh_copy;
mod ssh_failures;
mod ssh_folder;
mod target;
mod terminal;
mod validate;
