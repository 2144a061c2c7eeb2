//! The integration tests: one test binary that runs the real `stepwise` executable.
//!
//! Each module covers one part of the command line: `validate` and the runbook format, the
//! bundled runbooks against their articles (`content`), checklists, the dry-run `check`, the
//! journal with `status` and `log`, runs and resumes driven by answers files (`run`), the walk in
//! a real terminal (`terminal`, tmux), and crash safety under SIGKILL (`kill`).
#![allow(clippy::disallowed_macros)] // tests print what they saw

mod common;

mod check;
mod checklist;
mod color;
mod completion;
mod content;
mod creation;
mod evidence;
mod harden;
mod journal;
mod json;
mod kill;
mod operator;
mod pipes;
mod record;
mod run;
mod schema;
mod terminal;
mod validate;
