//! Artefacts generated from the clap definitions: shell completions and the man page.
//!
//! Completions are dynamic: the script that `stepwise completions SHELL` prints hands every
//! completion back to the `stepwise` executable (with [`COMPLETE_ENV`] set), which answers from the
//! same clap definitions that parse the command line. So subcommands and options never drift from
//! the parser, and values that only exist at run time are offered too: bundled runbook ids (and
//! YAML files) where a runbook is expected, run ids under the state folder (and folders) where a
//! run is expected. Nothing here runs a command or writes a file.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use clap_complete::env::{CompleteEnv, Shells};

use crate::cli::{Cli, Shell};
use crate::runbook::bundled;

/// The environment variable that makes `stepwise` answer a completion request instead of
/// running a command. The completion scripts set it; nobody else needs to.
pub const COMPLETE_ENV: &str = "STEPWISE_COMPLETE";

/// Answers a completion request and exits, when the environment asks for one; returns otherwise.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_ENV)
        .complete();
}

/// The completion script for `shell`: sourced, it registers `stepwise` with the shell's
/// completion system.
pub fn script(shell: Shell) -> io::Result<Vec<u8>> {
    let name = match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Powershell => "powershell",
        Shell::Elvish => "elvish",
    };
    let shells = Shells::builtins();
    let completer = shells
        .completer(name)
        .ok_or_else(|| io::Error::other(format!("no completer for {name}")))?;
    let mut buf = Vec::new();
    let path = completer_path();
    if shell != Shell::Powershell {
        completer.write_registration(COMPLETE_ENV, "stepwise", "stepwise", &path, &mut buf)?;
        return Ok(buf);
    }
    // The PowerShell registration is written with a placeholder for the path, which is then put
    // in as PowerShell reads it: the generic registration quotes it for a POSIX shell, which
    // PowerShell misreads when the path has a `'` (`C:\Users\O'Brien\…`) or a `$` (the line it
    // sits in is an expandable here-string).
    completer.write_registration(
        COMPLETE_ENV,
        "stepwise",
        "stepwise",
        PATH_PLACEHOLDER,
        &mut buf,
    )?;
    let text = String::from_utf8(buf).map_err(io::Error::other)?;
    let (call, name) = (
        format!("& {PATH_PLACEHOLDER} -- $args"),
        "-CommandName stepwise -ScriptBlock",
    );
    if !text.contains(&call) || !text.contains(name) {
        return Err(io::Error::other(
            "the PowerShell registration does not have the expected form",
        ));
    }
    // `stepwise.exe` too: that is what a Windows operator may type.
    Ok(text
        .replace(&call, &format!("& {} -- $args", powershell_quoted(&path)))
        .replace(name, "-CommandName stepwise, stepwise.exe -ScriptBlock")
        .into_bytes())
}

/// Stands for the executable's path in the PowerShell registration until it is quoted.
const PATH_PLACEHOLDER: &str = "stepwise-completer-path-placeholder";

/// `path` as a PowerShell single-quoted string, written inside an expandable here-string (so
/// `$` and the backtick are escaped for the here-string, and `'` doubled for the string).
fn powershell_quoted(path: &str) -> String {
    let mut out = String::from("'");
    for c in path.chars() {
        match c {
            '\'' => out.push_str("''"),
            '`' => out.push_str("``"),
            '$' => out.push_str("`$"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// How the script calls `stepwise` back: as it was called now (a name looked up on `PATH`, or a
/// path made absolute), so a script made by `./target/release/stepwise` works from anywhere.
fn completer_path() -> String {
    let arg0 = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("stepwise"));
    let path = if arg0.components().count() > 1 && arg0.is_relative() {
        std::env::current_dir()
            .map(|d| d.join(&arg0))
            .unwrap_or(arg0)
    } else {
        arg0
    };
    path.to_string_lossy().into_owned()
}

/// The man page, stepwise(1): the command, then a section per subcommand with its synopsis,
/// options and examples (one page, so `man stepwise` has everything).
pub fn man_page() -> io::Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut top = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut top)?;
    let mut out = String::from_utf8_lossy(&top).replace(".SH EXTRA", ".SH EXAMPLES");
    // The list of subcommands points at their sections below, not at pages of their own.
    for sub in cmd.get_subcommands() {
        let name = sub.get_name().replace('-', "\\-");
        out = out.replace(
            &format!("stepwise\\-{name}(1)"),
            &format!("\\fBstepwise {name}\\fR"),
        );
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let full = format!("stepwise {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(full.clone()));
        let mut part = Vec::new();
        man.render_description_section(&mut part)?;
        man.render_synopsis_section(&mut part)?;
        man.render_options_section(&mut part)?;
        man.render_extra_section(&mut part)?;
        // Each subcommand is one section; its parts are subsections.
        let part = String::from_utf8_lossy(&part)
            .replace(".SH EXTRA", ".SS EXAMPLES")
            .replace(".SH ", ".SS ");
        writeln!(out, ".SH \"{}\"", full.to_uppercase()).map_err(io::Error::other)?;
        out.push_str(&part);
    }
    Ok(out)
}

/// Completes a runbook: the bundled ids that start with what is typed, then YAML files and folders.
#[derive(Clone, Copy, Debug)]
pub struct RunbookCompleter;

impl ValueCompleter for RunbookCompleter {
    fn complete(&self, current: &OsStr) -> Vec<CompletionCandidate> {
        let typed = current.to_string_lossy();
        let mut out: Vec<CompletionCandidate> = bundled::BUNDLED
            .iter()
            .filter(|(id, _)| id.starts_with(typed.as_ref()))
            .map(|(id, _)| CompletionCandidate::new(*id).help(Some("bundled runbook".into())))
            .collect();
        let files = PathCompleter::any().filter(|p: &Path| {
            p.is_dir()
                || p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                })
        });
        out.extend(files.complete(current));
        out
    }
}

/// Completes a run: the run ids under the state folder (`STEPWISE_STATE_DIR`, else
/// `./stepwise-runs`), newest first, then folders.
#[derive(Clone, Copy, Debug)]
pub struct RunCompleter;

impl ValueCompleter for RunCompleter {
    fn complete(&self, current: &OsStr) -> Vec<CompletionCandidate> {
        let typed = current.to_string_lossy();
        let state_dir = crate::journal::state_dir(None);
        let mut out: Vec<CompletionCandidate> = Vec::new();
        if !typed.contains(['/', '\\']) {
            for listed in crate::journal::list_runs(&state_dir).unwrap_or_default() {
                let Some(id) = listed
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                else {
                    continue;
                };
                if id.starts_with(typed.as_ref()) {
                    let help = listed
                        .run
                        .as_ref()
                        .ok()
                        .map(|r| format!("run of {}", r.header().runbook_id));
                    out.push(CompletionCandidate::new(id).help(help.map(Into::into)));
                }
            }
        }
        out.extend(PathCompleter::dir().complete(current));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_quoted_as_powershell_reads_it_inside_the_here_string() {
        assert_eq!(
            powershell_quoted(r"C:\Program Files\stepwise\stepwise.exe"),
            r"'C:\Program Files\stepwise\stepwise.exe'"
        );
        assert_eq!(
            powershell_quoted(r"C:\Users\O'Brien\$tools`x\stepwise.exe"),
            r"'C:\Users\O''Brien\`$tools``x\stepwise.exe'"
        );
    }

    #[test]
    fn the_powershell_script_registers_both_names_and_a_quoted_path() {
        let text = String::from_utf8(script(Shell::Powershell).unwrap()).unwrap();
        assert!(
            text.contains("-CommandName stepwise, stepwise.exe -ScriptBlock {"),
            "{text}"
        );
        assert!(!text.contains(PATH_PLACEHOLDER), "{text}");
        assert!(
            text.contains(&format!(
                "& {} -- $args",
                powershell_quoted(&completer_path())
            )),
            "{text}"
        );
    }
}
