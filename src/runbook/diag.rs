//! Diagnostics: a problem in a runbook, with its position, drawn in one place.
//!
//! Every diagnostic is rendered as `FILE:LINE:COL: error|warning: message`, then the source line
//! and a caret under the culprit, so an operator or author can go straight to it.

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
    pub pos: Pos,
    pub message: String,
}

/// The stable codes of diagnostics, by what the message says, checked in order: the first
/// whose needle the message contains gives the code. `validate --json` reports them; tools may
/// match on them, so a code is never renamed (docs/json.md lists them). A message that matches
/// none is `invalid-value`.
pub const CODES: &[(&str, &str)] = &[
    ("YAML syntax", "yaml-syntax"),
    ("unknown YAML tag", "yaml-tag"),
    ("duplicate key", "duplicate-key"),
    ("expected one YAML document", "yaml-syntax"),
    ("the file is empty", "empty-file"),
    ("unknown field `", "unknown-field"),
    ("is missing the required field", "missing-field"),
    ("expected a map for", "wrong-type"),
    ("must be a string", "wrong-type"),
    ("must be a list", "wrong-type"),
    ("must be a whole number", "wrong-type"),
    ("must be true or false", "wrong-type"),
    ("must be a number of hosts", "wrong-type"),
    ("must be a time:", "wrong-type"),
    ("a retry needs `for`", "missing-field"),
    ("is not a valid id", "invalid-id"),
    ("is listed twice", "listed-twice"),
    ("duplicate ", "duplicate-id"),
    ("unknown parameter type", "unknown-parameter-type"),
    ("unknown action type", "unknown-action-type"),
    ("unknown parameter `", "unknown-parameter"),
    ("unknown role", "unknown-role"),
    ("unknown known issue", "unknown-known-issue"),
    ("unknown manifest", "unknown-manifest"),
    ("escapes the folder", "path-escapes"),
    ("is an absolute path", "absolute-path"),
    ("in condition", "bad-condition"),
    ("the end of the condition", "bad-condition"),
    ("compare it with", "bad-condition"),
    ("is not a choice of parameter", "bad-condition"),
    ("a condition cannot use it", "bad-condition"),
    ("so `{{ }}` cannot be used in it", "placeholder-not-allowed"),
    ("`{{`", "bad-placeholder"),
    ("does not name a parameter", "bad-placeholder"),
    ("must be at least", "out-of-range"),
    ("is more than all the hosts", "out-of-range"),
    ("is longer than `for`", "out-of-range"),
    ("its phase runs host by host", "step-not-on-phase-role"),
    ("not be empty", "empty-value"),
    ("needs at least one", "empty-list"),
    ("has no steps", "empty-list"),
    ("needs a non-empty", "empty-list"),
    ("is only for", "misplaced-field"),
    ("needs `on:` a role", "misplaced-field"),
    ("needs the step to run `on:` a role", "misplaced-field"),
    ("belongs to a step, not to a phase", "misplaced-field"),
    ("goes only with", "misplaced-field"),
    ("cannot have a default", "misplaced-field"),
];

/// The code of a diagnostic with this message (see [`CODES`]).
pub fn code_of(message: &str) -> &'static str {
    CODES
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map_or("invalid-value", |(_, code)| code)
}

impl Diagnostic {
    /// The stable code of this diagnostic (`unknown-field`, `wrong-type`, ...).
    pub fn code(&self) -> &'static str {
        code_of(&self.message)
    }

    pub fn error(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            pos,
            message: message.into(),
        }
    }

    pub fn warning(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
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
    fn codes_by_message() {
        for (message, code) in [
            (
                "unknown field `titel` in the runbook; did you mean `title`?",
                "unknown-field",
            ),
            (
                "a step is missing the required field `title`",
                "missing-field",
            ),
            ("`title` must be a string, found a list", "wrong-type"),
            ("duplicate step id `a` (first at line 9)", "duplicate-id"),
            ("duplicate key `title` (first at line 2)", "duplicate-key"),
            ("unknown parameter `x` in condition", "unknown-parameter"),
            (
                "expected `)`, found the end of the condition",
                "bad-condition",
            ),
            ("`{{` is not closed by `}}`", "bad-placeholder"),
            (
                "`a` is listed twice in this copy (first at line 22)",
                "listed-twice",
            ),
            ("something new", "invalid-value"),
        ] {
            assert_eq!(code_of(message), code, "{message}");
        }
    }

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic::error(Pos { line: 2, col: 5 }, "unknown role `web`");
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
