//! Turns the YAML scanner's indentation errors into messages that point at the culprit.
//!
//! The scanner reports a tab in indentation on the line before it ("while scanning a plain
//! scalar, found a tab"), and a badly indented line as "did not find expected key". Both are
//! true and useless to someone fixing a runbook. This module looks at the source around the
//! reported position and says what is wrong where it is wrong: the tab itself, or the line whose
//! indentation does not line up, with the indentation the lines above suggest, or the value
//! whose `: ` YAML read as a second map ("mapping values are not allowed"), which wants quotes.
//! It only rewrites a message it can improve; anything else passes through unchanged.

use super::diag::Code;
use super::yaml::{Pos, SyntaxError};

/// A better error for `err` (the scanner's own `info` text) when the source shows what is wrong.
pub fn explain(source: &str, info: &str, err: SyntaxError) -> SyntaxError {
    let lines: Vec<&str> = source.lines().collect();
    let better = if info.contains("tab") {
        tab_in_indentation(&lines, err.pos.line)
    } else if info.contains("did not find expected key")
        || info.contains("did not find expected '-' indicator")
    {
        misaligned(&lines, err.pos.line)
    } else if info.contains("mapping values are not allowed in this context") {
        misaligned(&lines, err.pos.line).or_else(|| colon_in_value(&lines, err.pos))
    } else {
        None
    };
    better.unwrap_or(err)
}

/// Leading spaces and tabs of a line.
fn leading(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The first line at or after `line` (1-based), else the nearest before it, whose indentation
/// holds a tab; the error points at the tab.
fn tab_in_indentation(lines: &[&str], line: usize) -> Option<SyntaxError> {
    let at = |n: usize| {
        let text = lines.get(n.checked_sub(1)?)?;
        let col = leading(text).find('\t')?;
        Some(SyntaxError {
            pos: Pos {
                line: n,
                col: col + 1,
            },
            code: Code::YamlSyntax,
            message: "YAML syntax: a tab in the indentation; use spaces for indentation".into(),
        })
    };
    (line.max(1)..=lines.len())
        .find_map(at)
        .or_else(|| (1..line).rev().find_map(at))
}

/// One line above the culprit that shows an indentation level.
struct Level<'s> {
    line: usize,
    indent: usize,
    /// The key that starts there, for messages.
    key: &'s str,
}

/// A line whose indentation matches none of the levels open above it: a list item whose `-`
/// does not line up with the items of its list, or a key that does not line up with the keys of
/// its map. The message gives the nearest level the lines above offer.
fn misaligned(lines: &[&str], line: usize) -> Option<SyntaxError> {
    let text = lines.get(line.checked_sub(1)?)?;
    if text.contains('\t') {
        return None;
    }
    let content = text.trim_start();
    if content.is_empty() || content.starts_with('#') {
        return None;
    }
    let indent = text.len() - content.len();
    let item = is_item(content);
    let levels = levels_above(lines, line, indent, item);
    if levels.iter().any(|l| l.indent == indent) {
        // It lines up with the lines above: the trouble is elsewhere (a `: ` inside a value).
        return None;
    }
    let near = levels
        .iter()
        .filter(|l| l.indent != indent)
        .min_by_key(|l| (l.indent.abs_diff(indent), std::cmp::Reverse(l.line)))?;
    let to = if near.indent == 0 {
        "start it at the beginning of the line".to_string()
    } else {
        format!("indent it by {} spaces", near.indent)
    };
    let message = if item {
        format!(
            "YAML syntax: this list item is indented by {indent} spaces, but the item on line {} by {}: the items of one list line up, so {to}",
            near.line, near.indent
        )
    } else {
        format!(
            "YAML syntax: this line is indented by {indent} spaces, but `{}` on line {} by {}: the keys of one map line up, so {to}",
            near.key, near.line, near.indent
        )
    };
    Some(SyntaxError {
        pos: Pos {
            line,
            col: indent + 1,
        },
        code: Code::YamlSyntax,
        message,
    })
}

/// A line that lines up but whose plain value holds `: `, which YAML reads as a second map: the
/// value wants quotes. The error keeps pointing at that colon.
fn colon_in_value(lines: &[&str], pos: Pos) -> Option<SyntaxError> {
    let text = lines.get(pos.line.checked_sub(1)?)?;
    let content = text.trim_start();
    let content = content.strip_prefix("- ").unwrap_or(content);
    let (key, value) = content.split_once(": ")?;
    let value = value.trim();
    if !value.contains(": ") || value.starts_with(['\'', '"', '[', '{', '|', '>']) {
        return None;
    }
    Some(SyntaxError {
        pos,
        code: Code::YamlSyntax,
        message: format!(
            "YAML syntax: `: ` inside a value starts a map; put the value in quotes: {}: '{}'",
            key.trim(),
            value.replace('\'', "''")
        ),
    })
}

fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// The indentation levels of list items (`item`) or of keys open above `line`, nearest first,
/// one per indentation; the walk stops at the first line indented less than both the culprit
/// and every level found before it (it closes them all).
fn levels_above<'s>(lines: &[&'s str], line: usize, indent: usize, item: bool) -> Vec<Level<'s>> {
    let mut found: Vec<Level> = Vec::new();
    for n in (1..line).rev() {
        let text = lines[n - 1];
        let content = text.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let at = text.len() - content.len();
        let lowest = found.iter().map(|l| l.indent).min().unwrap_or(usize::MAX);
        let level = if item {
            is_item(content).then_some(Level {
                line: n,
                indent: at,
                key: "-",
            })
        } else {
            // The key of `- key: value` starts after the dash.
            let (col, rest) = match content.strip_prefix("- ") {
                Some(rest) => (
                    at + 2 + (rest.len() - rest.trim_start().len()),
                    rest.trim_start(),
                ),
                None => (at, content),
            };
            rest.split_once(':').map(|(key, _)| Level {
                line: n,
                indent: col,
                key: key.trim(),
            })
        };
        if let Some(level) = level
            && !found.iter().any(|l| l.indent == level.indent)
        {
            found.push(level);
        }
        if at < indent.min(lowest) {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explained(source: &str, line: usize, info: &str) -> (usize, usize, String) {
        let err = SyntaxError {
            pos: Pos { line, col: 1 },
            code: Code::YamlSyntax,
            message: info.to_string(),
        };
        let e = explain(source, info, err);
        (e.pos.line, e.pos.col, e.message)
    }

    #[test]
    fn a_tab_is_found_below_the_reported_line() {
        let source = "steps:\n  - id: a\n\ttitle: A\n";
        let (line, col, message) =
            explained(source, 2, "while scanning a plain scalar, found a tab");
        assert_eq!((line, col), (3, 1));
        assert!(message.contains("use spaces for indentation"), "{message}");
    }

    #[test]
    fn a_list_item_is_measured_against_its_siblings() {
        let source = "a:\n  steps:\n    - id: a\n      t: b\n   - id: b\n";
        let (line, col, message) = explained(source, 5, "did not find expected key");
        assert_eq!((line, col), (5, 4));
        assert!(message.contains("on line 3 by 4"), "{message}");
    }

    #[test]
    fn a_key_is_measured_against_the_keys_above() {
        let source = "phases:\n  - id: main\n    title: Main\n   steps: []\n";
        let (line, col, message) = explained(source, 4, "did not find expected '-' indicator");
        assert_eq!((line, col), (4, 4));
        assert!(message.contains("`title` on line 3 by 4"), "{message}");
    }

    #[test]
    fn an_over_indented_key_is_measured_against_the_keys_above() {
        let source = "id: bad\ntitle: Bad\n  article: KB1\n";
        let (line, col, message) =
            explained(source, 3, "mapping values are not allowed in this context");
        assert_eq!((line, col), (3, 3));
        assert!(
            message.ends_with("`title` on line 2 by 0: the keys of one map line up, so start it at the beginning of the line"),
            "{message}"
        );
    }

    #[test]
    fn a_colon_in_a_value_is_not_an_indentation_problem() {
        let info = "mapping values are not allowed in this context";
        let (_, _, message) = explained("id: a\ntitle: Note: b\n", 2, info);
        assert_eq!(
            message,
            "YAML syntax: `: ` inside a value starts a map; put the value in quotes: title: 'Note: b'"
        );
    }

    #[test]
    fn other_errors_pass_through() {
        let (_, _, message) = explained("a: [\n", 1, "did not find expected ',' or ']'");
        assert_eq!(message, "did not find expected ',' or ']'");
    }
}
