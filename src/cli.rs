//! The command line: clap derive types only, turned into typed commands before anything runs.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "stepwise",
    version,
    about = "Guided installation runbooks: step through a rollup, resume it, check it, print it.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Md,
    Html,
}

/// Parameter values and host lists, shared by the commands that build a plan.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Give a parameter's value (repeatable), e.g. --set ur5_installed=false
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// A YAML file of host lists per role: `ROLE: [HOST, ...]`
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the bundled runbooks: id, title, article
    List,
    /// Check runbooks; print every problem as FILE:LINE:COL: message
    Validate {
        /// Bundled ids or paths
        #[arg(required = true, value_name = "RUNBOOK")]
        runbooks: Vec<String>,
    },
    /// Print the procedure as a checklist
    Checklist {
        /// A bundled id or a path
        runbook: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        plan: PlanArgs,
        /// Tick what this run has done (the as-run record)
        #[arg(long, value_name = "RUN_DIR")]
        run: Option<PathBuf>,
        /// Write to FILE instead of standard output
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Dry-run checks: show the plan and what would stop it; changes nothing
    Check {
        /// A bundled id or a path
        runbook: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Print one JSON document instead of text (see docs/check-json.md)
        #[arg(long)]
        json: bool,
    },
    /// Walk through a runbook step by step, recording every answer
    Run {
        /// A bundled id or a path
        runbook: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Answer prompts from this YAML file instead of a terminal
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Practise in a sandbox: temporary folders stand in for every path; commands are not run
        #[arg(long)]
        rehearse: bool,
        /// Who drives the run, for the record [default: $STEPWISE_OPERATOR, else the answers
        /// file's operator, else $USER or $USERNAME, else asked]
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
    },
    /// Go on with an interrupted or paused run (the newest unfinished one by default)
    Resume {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR")]
        run: Option<PathBuf>,
        /// Answer prompts from this YAML file instead of a terminal
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Who drives the run from here on, for the record [default: $STEPWISE_OPERATOR, else
        /// the answers file's operator, else $USER or $USERNAME, else asked]
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
    },
    /// Show where runs stand: every run, or one run in detail
    Status {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR")]
        run: Option<String>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show a run's journal as a readable timeline (the newest run by default)
    Log {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR")]
        run: Option<String>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Hold a run's lock until standard input closes (for tests)
    #[command(name = "__hold-lock", hide = true)]
    HoldLock {
        #[arg(value_name = "RUN_DIR")]
        run: String,
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
}
