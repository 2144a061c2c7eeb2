//! Diagnostics: a problem in a runbook, with its position, drawn in one place.
//!
//! Every diagnostic is rendered as `FILE:LINE:COL: error|warning: message`, then the source line
//! and a caret under the culprit, so an operator or author can go straight to it. Each carries a
//! [`Code`], given where the diagnostic is made, that `validate --json` reports: rewording a
//! message never changes its code.

use std::fmt::Write as _;

use super::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// `error` or `warning`, as diagnostics and `validate --json` say it.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub pos: Pos,
    pub message: String,
}

/// Declares [`Code`] with the stable string of each variant, and [`Code::ALL`].
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
        /// What kind of problem a diagnostic is. `validate --json` reports it as a stable
        /// string; tools may match on it, so a code's string is never changed (docs/json.md
        /// lists them all). Each diagnostic is given its code where it is made, never from its
        /// wording.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Code {
            $($(#[$doc])* $variant,)+
        }

        impl Code {
            /// Every code, in the order docs/json.md lists them.
            pub const ALL: &[Code] = &[$(Code::$variant,)+];

            /// The code as `validate --json` writes it: `unknown-field`, `wrong-type`, ...
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }
        }
    };
}

codes! {
    /// The file is not YAML, or holds several documents.
    YamlSyntax = "yaml-syntax",
    /// A YAML tag (`!tag`), which stepwise would ignore.
    YamlTag = "yaml-tag",
    /// A key appears twice in one map.
    DuplicateKey = "duplicate-key",
    /// The file is empty.
    EmptyFile = "empty-file",
    /// A field the format does not have.
    UnknownField = "unknown-field",
    /// A required field is missing.
    MissingField = "missing-field",
    /// A value of the wrong kind (a list for a string, a word for a number).
    WrongType = "wrong-type",
    /// An id that is not lower-case letters, digits, `-` and `_`.
    InvalidId = "invalid-id",
    /// An id used twice.
    DuplicateId = "duplicate-id",
    /// A name given twice in one list (a warning for files).
    ListedTwice = "listed-twice",
    /// A parameter `type` the format does not have.
    UnknownParameterType = "unknown-parameter-type",
    /// An action `type` the format does not have.
    UnknownActionType = "unknown-action-type",
    /// A placeholder or a condition names no declared parameter.
    UnknownParameter = "unknown-parameter",
    /// A role that is not declared.
    UnknownRole = "unknown-role",
    /// A known issue that is not declared.
    UnknownKnownIssue = "unknown-known-issue",
    /// A manifest that is not declared.
    UnknownManifest = "unknown-manifest",
    /// A file name that climbs out of its folder.
    PathEscapes = "path-escapes",
    /// A path where a file name is expected.
    AbsolutePath = "absolute-path",
    /// A `when` that does not parse, or compares a parameter with a value it cannot have.
    BadCondition = "bad-condition",
    /// A `{{ }}` that is not closed or names nothing.
    BadPlaceholder = "bad-placeholder",
    /// A `{{ }}` where the value is taken as written.
    PlaceholderNotAllowed = "placeholder-not-allowed",
    /// A number outside what the field takes.
    OutOfRange = "out-of-range",
    /// A step of a host-major phase that does not run `on:` the phase's role.
    StepNotOnPhaseRole = "step-not-on-phase-role",
    /// A text that must not be empty.
    EmptyValue = "empty-value",
    /// A list that must not be empty.
    EmptyList = "empty-list",
    /// A field where it does not belong.
    MisplacedField = "misplaced-field",
    /// A file table's `sha256` that is not 64 hexadecimal digits.
    BadHash = "bad-hash",
    /// Any other value the format does not accept.
    InvalidValue = "invalid-value",
}

impl Diagnostic {
    pub fn error(pos: Pos, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            pos,
            message: message.into(),
        }
    }

    pub fn warning(pos: Pos, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code,
            pos,
            message: message.into(),
        }
    }

    /// Draws the diagnostic: the location line, the source line, and a caret.
    pub fn render(&self, file: &str, source: &str) -> String {
        self.render_styled(file, source, false)
    }

    /// [`Self::render`], with the severity in red (error) or yellow (warning) when `color` is
    /// on: for standard error, when the process's colour decision says so.
    pub fn render_styled(&self, file: &str, source: &str, color: bool) -> String {
        let label = self.severity.word();
        let label = if color {
            let tone = match self.severity {
                Severity::Error => crate::color::Tone::Bad,
                Severity::Warning => crate::color::Tone::Warn,
            };
            crate::color::paint(label, tone, true)
                .force_styling(true)
                .to_string()
        } else {
            label.to_string()
        };
        let mut out = format!(
            "{file}:{}:{}: {label}: {}\n",
            self.pos.line, self.pos.col, self.message
        );
        if let Some(line) = source.lines().nth(self.pos.line.saturating_sub(1)) {
            let line = line.trim_end_matches('\r');
            let gutter = self.pos.line.to_string();
            let (line, col) = window(line, self.pos.col);
            let pad: String = line
                .chars()
                .take(col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{gutter} | {line}");
            let _ = writeln!(out, "{} | {pad}^", " ".repeat(gutter.len()));
        }
        out
    }
}

/// Characters of a long source line shown on either side of the column.
const CONTEXT: usize = 60;

/// A source line cut to [`CONTEXT`] characters either side of `col` when it is long (a
/// generated or hostile file can have a line of megabytes), with `…` where it was cut, and the
/// column within what is shown.
fn window(line: &str, col: usize) -> (String, usize) {
    let count = line.chars().count();
    if count <= 2 * CONTEXT + 20 {
        return (line.to_string(), col);
    }
    let at = col.saturating_sub(1).min(count);
    let from = at.saturating_sub(CONTEXT);
    let to = (at + CONTEXT).min(count);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(line.chars().skip(from).take(to - from));
    if to < count {
        out.push('…');
    }
    (out, at - from + 1 + usize::from(from > 0))
}

/// Finds `needle` in `source` at or after `from`, and returns its position; used to point inside
/// a scalar (a name in a condition, a placeholder in a block of text) whose node position is
/// only where the scalar starts. Falls back to `from`.
pub fn locate(source: &str, from: Pos, needle: &str) -> Pos {
    let mut line_no = from.line;
    for (i, line) in source.lines().enumerate().skip(from.line.saturating_sub(1)) {
        line_no = i + 1;
        let skip_chars = if line_no == from.line {
            from.col.saturating_sub(1)
        } else {
            0
        };
        let start_byte = line
            .char_indices()
            .nth(skip_chars)
            .map(|(b, _)| b)
            .unwrap_or(line.len());
        if let Some(found) = line[start_byte..].find(needle) {
            let col = line[..start_byte + found].chars().count() + 1;
            return Pos { line: line_no, col };
        }
        if line_no > from.line + 2000 {
            break;
        }
    }
    let _ = line_no;
    from
}

/// Points at byte `offset` of a scalar's `text` whose node starts at `start`: finds the text's
/// first line in the source (so quoting and block style do not matter), then moves along it, or
/// searches for the rest of the text when the offset lies on a later line.
pub fn point_into(source: &str, start: Pos, text: &str, offset: usize) -> Pos {
    let first_line = text.lines().next().unwrap_or("");
    let anchor = if first_line.is_empty() {
        start
    } else {
        locate(source, start, first_line)
    };
    let offset = offset.min(text.len());
    if offset <= first_line.len() {
        return Pos {
            line: anchor.line,
            col: anchor.col + text[..offset].chars().count(),
        };
    }
    let rest = text[offset..].lines().next().unwrap_or("");
    if rest.is_empty() {
        anchor
    } else {
        locate(source, anchor, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_lower_case_words() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "`{text}` twice");
            assert!(
                text.split('-')
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{text}"
            );
        }
    }

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic::error(
            Pos { line: 2, col: 5 },
            Code::UnknownRole,
            "unknown role `web`",
        );
        assert_eq!(
            d.render("rb.yaml", "id: x\non: web\n"),
            "rb.yaml:2:5: error: unknown role `web`\n2 | on: web\n  |     ^\n"
        );
    }

    #[test]
    fn point_into_plain_quoted_and_block() {
        let src = "a: x and y\nb: 'x and y'\nc: |\n  one\n  two {{ y }}\n";
        assert_eq!(
            point_into(src, Pos { line: 1, col: 4 }, "x and y", 6),
            Pos { line: 1, col: 10 }
        );
        assert_eq!(
            point_into(src, Pos { line: 2, col: 4 }, "x and y", 6),
            Pos { line: 2, col: 11 }
        );
        assert_eq!(
            point_into(src, Pos { line: 3, col: 4 }, "one\ntwo {{ y }}\n", 8),
            Pos { line: 5, col: 7 }
        );
    }

    #[test]
    fn locate_finds_text_after_position() {
        let src = "a: |\n  one {{ x }}\n  two {{ y }}\n";
        assert_eq!(
            locate(src, Pos { line: 1, col: 4 }, "y"),
            Pos { line: 3, col: 10 }
        );
    }
}
