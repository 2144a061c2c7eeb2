//! Who drives a run: the operator's name that every journal event of this process carries.
//!
//! The name comes from the first of: `--operator NAME`, `STEPWISE_OPERATOR`, the answers file's
//! `operator`, `USER`, `USERNAME`. With none of them, a terminal asks once, before anything else;
//! without a terminal the command stops before it starts anything, naming the ways to give one.
//! A run is never recorded as driven by nobody.

use crate::error::Error;
use crate::ui::{Prompter, Stop};

/// The environment variable that names the operator.
pub const ENV: &str = "STEPWISE_OPERATOR";

/// The longest name accepted, in characters.
const MAX_CHARS: usize = 100;

/// Where the operator's name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    AnswersFile,
    User,
    UserName,
    Asked,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--operator",
            Source::Env => ENV,
            Source::AnswersFile => "the answers file's `operator`",
            Source::User => "USER",
            Source::UserName => "USERNAME",
            Source::Asked => "the operator's name",
        }
    }
}

/// Checks a name: not empty, no control characters, not too long. Returns it trimmed.
pub fn check(name: &str, source: Source) -> Result<String, String> {
    let name = name.trim();
    let what = source.describe();
    if name.is_empty() {
        return Err(format!("{what}: an operator name cannot be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{what}: an operator name is one line of text without control characters"
        ));
    }
    if name.chars().count() > MAX_CHARS {
        return Err(format!(
            "{what}: an operator name has at most {MAX_CHARS} characters"
        ));
    }
    Ok(name.to_string())
}

/// The name given without asking, and where it came from: the flag, the environment, the
/// answers file, the login name. A set but unusable flag or `STEPWISE_OPERATOR` is an error;
/// an empty `USER` is passed over.
pub fn given(
    flag: Option<&str>,
    answers_file: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, Source)>, Error> {
    if let Some(name) = flag {
        return check(name, Source::Flag)
            .map(|n| Some((n, Source::Flag)))
            .map_err(Error::Usage);
    }
    if let Some(name) = env(ENV) {
        return check(&name, Source::Env)
            .map(|n| Some((n, Source::Env)))
            .map_err(Error::Usage);
    }
    if let Some(name) = answers_file {
        return check(&name, Source::AnswersFile)
            .map(|n| Some((n, Source::AnswersFile)))
            .map_err(Error::Usage);
    }
    for (var, source) in [("USER", Source::User), ("USERNAME", Source::UserName)] {
        if let Some(name) = env(var)
            && let Ok(name) = check(&name, source)
        {
            return Ok(Some((name, source)));
        }
    }
    Ok(None)
}

/// The process's environment, a variable read as text.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The operator's name for this process: given (see [`given`]), else asked once at a terminal.
/// Without either, an error that says how to give one (nothing was started). A prompt that was
/// interrupted or failed comes back as the inner error.
pub fn resolve(
    flag: Option<&str>,
    prompter: &mut dyn Prompter,
) -> Result<Result<String, Stop>, Error> {
    if let Some((name, _)) = given(flag, prompter.operator(), &process_env)? {
        return Ok(Ok(name));
    }
    let missing = || {
        Error::Usage(format!(
            "who is the operator? Give --operator NAME or set {ENV} (USER and USERNAME are not \
             set either, and there is no terminal to ask at); nothing was started"
        ))
    };
    if !prompter.interactive() {
        return Err(missing());
    }
    loop {
        match prompter.operator_name() {
            Ok(name) => match check(&name, Source::Asked) {
                Ok(name) => return Ok(Ok(name)),
                Err(m) => prompter.show(&m),
            },
            Err(Stop::Missing(_)) => return Err(missing()),
            Err(stop) => return Ok(Err(stop)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn name(
        flag: Option<&str>,
        file: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Option<(String, Source)> {
        given(flag, file.map(String::from), &env(vars)).unwrap()
    }

    #[test]
    fn the_flag_wins_then_the_variable_then_the_file_then_the_login() {
        let all = [(ENV, "env"), ("USER", "user"), ("USERNAME", "username")];
        assert_eq!(
            name(Some("flag"), Some("file"), &all),
            Some(("flag".into(), Source::Flag))
        );
        assert_eq!(
            name(None, Some("file"), &all),
            Some(("env".into(), Source::Env))
        );
        assert_eq!(
            name(None, Some("file"), &all[1..]),
            Some(("file".into(), Source::AnswersFile))
        );
        assert_eq!(
            name(None, None, &all[1..]),
            Some(("user".into(), Source::User))
        );
        assert_eq!(
            name(None, None, &[("USER", "  "), ("USERNAME", "jdoe")]),
            Some(("jdoe".into(), Source::UserName))
        );
        assert_eq!(name(None, None, &[]), None);
    }

    #[test]
    fn a_bad_name_given_on_purpose_is_an_error_naming_where_it_came_from() {
        let e = given(Some("  "), None, &env(&[])).unwrap_err().to_string();
        assert_eq!(e, "--operator: an operator name cannot be empty");
        let e = given(None, None, &env(&[(ENV, "a\nb")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "STEPWISE_OPERATOR: an operator name is one line of text without control characters"
        );
        let long = "x".repeat(101);
        assert!(given(Some(&long), None, &env(&[])).is_err());
        assert_eq!(
            given(Some(" Ada Lovelace "), None, &env(&[])).unwrap(),
            Some(("Ada Lovelace".into(), Source::Flag))
        );
    }
}
