//! `stepwise`: a guided installation runbook executor.
//!
//! The data travels one way: YAML text -> [`runbook::Runbook`] (loaded and validated) ->
//! [`plan::Plan`] (parameters, conditions and hosts applied) -> a consumer: the checklist
//! renderer, the dry-run checker, or the interactive engine.

pub mod actions;
pub mod app;
pub mod checklist;
pub mod cli;
pub mod color;
pub mod completion;
pub mod dryrun;
pub mod engine;
pub mod error;
pub mod exit_codes;
pub mod fleet;
pub mod fsutil;
pub mod input;
pub mod journal;
pub mod plan;
pub mod runbook;
pub mod scaffold;
pub mod status;
pub mod stdio;
pub mod target;
pub mod ui;

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    app::main()
}
