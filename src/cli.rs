//! The command line: clap derive types only, turned into typed commands before anything runs.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::completion::{RunCompleter, RunbookCompleter};

/// Examples and a pointer at the docs, after a subcommand's options in `--help`.
macro_rules! examples {
    ($($line:literal),+ ; $doc:literal) => {
        concat!("Examples:\n", $("  ", $line, "\n",)+ "\nMore: ", $doc)
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "stepwise",
    // Usage lines and errors say `stepwise`, as the examples and the docs do, whatever the
    // executable is called (`stepwise.exe` on Windows).
    bin_name = "stepwise",
    version,
    about = "Guided installation runbooks: step through a rollup, resume it, check it, print it.",
    propagate_version = true,
    after_help = examples!(
        "stepwise list",
        "stepwise check hmc45-ur6 --set ur5_installed=true",
        "stepwise run hmc45-ur6";
        "README.md and docs/ (operator-guide.md, runbook-format.md)"
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: blocking findings and errors in red, warnings in yellow [auto: only on a terminal,
    /// without NO_COLOR, TERM=dumb or CLICOLOR=0]
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: crate::color::ColorChoice,
}

/// The files `stepwise schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaOf {
    Runbook,
    Answers,
    Inventory,
}

/// A shell that `stepwise completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
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

/// The change block of a printed checklist; what is not given is left blank to fill in by hand.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// The change number, printed in the change block
    #[arg(long, value_name = "NUMBER")]
    pub change_number: Option<String>,
    /// The planned window, e.g. --window "2026-12-05 22:00-02:00 UTC"
    #[arg(long, value_name = "TEXT")]
    pub window: Option<String>,
    /// The operator who will carry the change out
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Who approved the change
    #[arg(long, value_name = "NAME")]
    pub approver: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the bundled runbooks: id, title, article
    #[command(after_help = examples!(
        "stepwise list",
        "stepwise list --json";
        "README.md (the bundled runbooks)"
    ))]
    List {
        /// Print JSON instead of text (see docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Check runbooks; print every problem as FILE:LINE:COL: message
    #[command(after_help = examples!(
        "stepwise validate my-rollup.yaml",
        "stepwise validate runbooks/*.yaml --color always",
        "stepwise validate my-rollup.yaml --json";
        "docs/runbook-format.md"
    ))]
    Validate {
        /// Bundled ids or paths
        #[arg(required = true, value_name = "RUNBOOK", add = ArgValueCompleter::new(RunbookCompleter))]
        runbooks: Vec<String>,
        /// Print every diagnostic as JSON on standard output (see docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Print the procedure as a checklist
    #[command(after_help = examples!(
        "stepwise checklist hmc45-ur6 --set ur5_installed=true",
        "stepwise checklist hmc45-ur6 --format html -o ur6.html",
        "stepwise checklist hmc45-ur6 --run stepwise-runs/RUN_ID --format html -o as-run.html";
        "docs/operator-guide.md (checklists)"
    ))]
    Checklist {
        /// A bundled id or a path
        #[arg(add = ArgValueCompleter::new(RunbookCompleter))]
        runbook: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[command(flatten)]
        plan: PlanArgs,
        /// Tick what this run has done (the as-run record)
        #[arg(long, value_name = "RUN_DIR", add = ArgValueCompleter::new(RunCompleter))]
        run: Option<PathBuf>,
        /// Write to FILE instead of standard output (`-` is standard output)
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Dry-run checks: show the plan and what would stop it; changes nothing
    #[command(after_help = examples!(
        "stepwise check hmc45-ur6 --set ur5_installed=true",
        "stepwise check hmc45-ur6 --set package_dir='D:\\QFERollupPackage' --json";
        "docs/operator-guide.md, docs/check-json.md"
    ))]
    Check {
        /// A bundled id or a path
        #[arg(add = ArgValueCompleter::new(RunbookCompleter))]
        runbook: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Print one JSON document instead of text (see docs/check-json.md)
        #[arg(long)]
        json: bool,
    },
    /// Walk through a runbook step by step, recording every answer
    #[command(after_help = examples!(
        "stepwise run hmc45-ur6",
        "stepwise run hmc45-ur6 --rehearse --answers examples/hmc45-rehearsal.yaml",
        "stepwise run my-rollup.yaml --inventory hosts.yaml --state-dir D:/runs";
        "docs/operator-guide.md"
    ))]
    Run {
        /// A bundled id or a path
        #[arg(add = ArgValueCompleter::new(RunbookCompleter))]
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
    #[command(after_help = examples!(
        "stepwise resume",
        "stepwise resume RUN_ID",
        "stepwise resume stepwise-runs/RUN_ID --answers answers.yaml";
        "docs/operator-guide.md (pause and resume)"
    ))]
    Resume {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR", add = ArgValueCompleter::new(RunCompleter))]
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
    #[command(after_help = examples!(
        "stepwise status",
        "stepwise status RUN_ID",
        "stepwise status RUN_ID --json";
        "docs/operator-guide.md (status)"
    ))]
    Status {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR", add = ArgValueCompleter::new(RunCompleter))]
        run: Option<String>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Print JSON instead of text (see docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Show a run's journal as a readable timeline (the newest run by default)
    #[command(after_help = examples!(
        "stepwise log",
        "stepwise log RUN_ID",
        "stepwise log RUN_ID --json";
        "docs/operator-guide.md (the journal)"
    ))]
    Log {
        /// A run folder, or a run id under the state folder
        #[arg(value_name = "RUN_DIR", add = ArgValueCompleter::new(RunCompleter))]
        run: Option<String>,
        /// Where runs live [default: $STEPWISE_STATE_DIR, else ./stepwise-runs]
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Print the journal as JSON instead of a timeline (see docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Print a JSON Schema for editors: of the runbook format, an answers file or an inventory
    #[command(after_help = examples!(
        "stepwise schema > runbook.schema.json",
        "stepwise schema answers > answers.schema.json",
        "stepwise schema inventory > inventory.schema.json";
        "docs/runbook-format.md (editor support)"
    ))]
    Schema {
        /// Which file's schema
        #[arg(value_enum, default_value = "runbook")]
        of: SchemaOf,
    },
    /// Write a new runbook to start from: it validates as written (never overwrites a file)
    #[command(after_help = examples!(
        "stepwise new my-rollup.yaml",
        "stepwise new runbooks/hmc45-ur7.yaml && stepwise validate runbooks/hmc45-ur7.yaml";
        "docs/runbook-format.md"
    ))]
    New {
        /// The file to create (its name, made into an id, becomes the runbook id)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print a completion script for a shell (source it from the shell's startup file)
    #[command(after_help = examples!(
        "stepwise completions bash > ~/.local/share/bash-completion/completions/stepwise",
        "stepwise completions zsh > ~/.zfunc/_stepwise",
        "stepwise completions fish > ~/.config/fish/completions/stepwise.fish";
        "docs/operator-guide.md (shell completions)"
    ))]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page, stepwise(1), as roff
    #[command(after_help = examples!(
        "stepwise man > stepwise.1 && man -l stepwise.1",
        "stepwise man | gzip > /usr/local/share/man/man1/stepwise.1.gz";
        "docs/operator-guide.md"
    ))]
    Man,
    /// Hold a run's lock until standard input closes (for tests)
    #[command(name = "__hold-lock", hide = true)]
    HoldLock {
        #[arg(value_name = "RUN_DIR")]
        run: String,
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
}
