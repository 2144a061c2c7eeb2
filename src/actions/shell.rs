//! Quoting parameter values for the shell that runs a `shell: true` command, so that a value is
//! always one word of text and never shell syntax.
//!
//! With `shell: true` the runbook's own text (the program and each argument as written) is
//! shell syntax on purpose; only what `{{ }}` puts in is quoted, each value for the shell that
//! runs it: `sh` (single quotes), `cmd` (double quotes; values holding `"`, `%`, a line break or
//! NUL cannot be quoted safely there and are refused), PowerShell (single quotes, which doubles
//! every kind of single quote PowerShell accepts). The line built here is the line that runs and,
//! with secrets masked, the line that is shown.
//!
//! Nothing here runs anything; [`Shell::local`] is the shell of this machine, and a target that
//! runs commands elsewhere picks the shell of its host.

use crate::plan::Plan;
use crate::runbook::Template;

/// A shell a command line can be handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// `sh -c LINE`
    Sh,
    /// `cmd /d /v:off /s /c "LINE"`
    Cmd,
    /// `powershell -NoProfile -NonInteractive -Command LINE`
    PowerShell,
}

impl Shell {
    /// The shell `shell: true` means on this machine: `cmd` on Windows, `sh` elsewhere.
    pub fn local() -> Shell {
        if cfg!(windows) { Shell::Cmd } else { Shell::Sh }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shell::Sh => "sh",
            Shell::Cmd => "cmd",
            Shell::PowerShell => "PowerShell",
        }
    }

    /// `value` as one word of text for this shell, or why it cannot be quoted safely.
    pub fn quote(self, value: &str) -> Result<String, String> {
        if value.contains('\0') {
            return Err("it holds a NUL character".into());
        }
        match self {
            Shell::Sh => Ok(format!("'{}'", value.replace('\'', r"'\''"))),
            Shell::PowerShell => {
                let mut out = String::with_capacity(value.len() + 2);
                out.push('\'');
                for c in value.chars() {
                    // PowerShell takes the typographic single quotes as quotes too.
                    if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
                        out.push(c);
                    }
                    out.push(c);
                }
                out.push('\'');
                Ok(out)
            }
            Shell::Cmd => {
                if let Some(c) = value.chars().find(|c| matches!(c, '"' | '%' | '\n' | '\r')) {
                    let what = match c {
                        '"' => "a double quote (\")".to_string(),
                        '%' => "a percent sign (%), which cmd expands".to_string(),
                        _ => "a line break".to_string(),
                    };
                    return Err(format!("it holds {what}"));
                }
                // Backslashes before the closing quote would escape it for the program's own
                // argument parser: doubled, they stay backslashes.
                let trailing = value.len() - value.trim_end_matches('\\').len();
                Ok(format!("\"{value}{}\"", "\\".repeat(trailing)))
            }
        }
    }
}

/// A template with every parameter value quoted for `shell`; `value` gives a parameter's value
/// (the real one to run, a masked one to show). A parameter without a value stays `{{ name }}`.
pub fn fill_quoted(
    shell: Shell,
    t: &Template,
    value: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Unquotable> {
    let problem = std::cell::RefCell::new(None);
    let line = t.render_text(&|name| {
        let v = value(name)?;
        match shell.quote(&v) {
            Ok(q) => Some(q),
            Err(why) => {
                problem.borrow_mut().get_or_insert(Unquotable {
                    param: name.to_string(),
                    shell,
                    why,
                });
                Some(String::new())
            }
        }
    });
    match problem.into_inner() {
        Some(p) => Err(p),
        None => Ok(line),
    }
}

/// A parameter value that cannot be quoted safely for a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unquotable {
    pub param: String,
    pub shell: Shell,
    pub why: String,
}

impl std::fmt::Display for Unquotable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the value of parameter `{}` cannot be passed to {} safely: {}",
            self.param,
            self.shell.name(),
            self.why
        )
    }
}

/// The line a `shell: true` command hands to `shell`: the program and the arguments as written,
/// joined by spaces, every parameter value quoted. `masked` shows secrets as `********`.
pub fn line(
    plan: &Plan,
    shell: Shell,
    program: &Template,
    args: &[Template],
    masked: bool,
) -> Result<String, Unquotable> {
    let value = |name: &str| {
        let v = if masked {
            plan.resolved.get_shown(name)
        } else {
            plan.resolved.get(name)
        };
        v.map(|v| v.render())
    };
    let mut words = Vec::with_capacity(args.len() + 1);
    for t in std::iter::once(program).chain(args) {
        words.push(fill_quoted(shell, t, &value)?);
    }
    Ok(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quotes_everything_as_one_word() {
        let q = |v| Shell::Sh.quote(v).unwrap();
        assert_eq!(q("a; touch /tmp/pwned"), "'a; touch /tmp/pwned'");
        assert_eq!(q("it's"), r"'it'\''s'");
        assert_eq!(q(""), "''");
        assert_eq!(q("$(id) `id` \"x\"\nnext"), "'$(id) `id` \"x\"\nnext'");
        assert!(Shell::Sh.quote("a\0b").is_err());
    }

    #[test]
    fn cmd_refuses_what_it_cannot_quote() {
        let q = |v| Shell::Cmd.quote(v);
        assert_eq!(q("a & del /q *").unwrap(), "\"a & del /q *\"");
        assert_eq!(q(r"C:\Program Files\").unwrap(), r#""C:\Program Files\\""#);
        assert_eq!(q("100!^|<>").unwrap(), "\"100!^|<>\"");
        assert_eq!(
            q("a\" & calc & \"").unwrap_err(),
            "it holds a double quote (\")"
        );
        assert_eq!(
            q("%PATH%").unwrap_err(),
            "it holds a percent sign (%), which cmd expands"
        );
        assert_eq!(q("a\r\nb").unwrap_err(), "it holds a line break");
    }

    #[test]
    fn powershell_doubles_every_single_quote() {
        let q = |v| Shell::PowerShell.quote(v).unwrap();
        assert_eq!(q("a'; Remove-Item x; '"), "'a''; Remove-Item x; '''");
        assert_eq!(q("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(q("$env:PATH $(x)"), "'$env:PATH $(x)'");
    }

    #[test]
    fn only_the_values_are_quoted() {
        let t = Template::parse("echo {{ a }} > {{ b }}.txt").unwrap();
        let value = |n: &str| match n {
            "a" => Some("x; rm -rf /".to_string()),
            _ => None,
        };
        assert_eq!(
            fill_quoted(Shell::Sh, &t, &value).unwrap(),
            "echo 'x; rm -rf /' > {{ b }}.txt"
        );
        let err = fill_quoted(Shell::Cmd, &Template::parse("{{ a }}").unwrap(), &|_| {
            Some("50%".into())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the value of parameter `a` cannot be passed to cmd safely: it holds a percent sign (%), which cmd expands"
        );
    }
}
