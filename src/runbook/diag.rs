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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pos: Pos,
    pub message: String,
}

impl Diagnostic {
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
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
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
