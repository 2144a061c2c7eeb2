//! Long lines folded to the terminal's width at word boundaries, for what the walk shows.
//!
//! Each line is folded on its own. A continuation line starts under the first word of the line
//! it continues: after the line's indentation and after a list marker (`- `, `* `, `• `, `1. `,
//! `| `), so instructions, notes and known issues stay readable as blocks. A word wider than the
//! room is left whole (a path is better cut by the terminal than at a made-up place). Widths are
//! counted as the terminal shows them: colour escapes take no room.

use console::measure_text_width;

/// Folds every line of `text` that is wider than `width` columns.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        wrap_line(line, width, &mut out);
    }
    out
}

/// How many columns a continuation of `line` is indented: its leading blanks and list marker.
fn hanging_indent(line: &str) -> usize {
    let body = line.trim_start_matches(' ');
    let lead = line.len() - body.len();
    let marker = ["- ", "* ", "• ", "| ", "[ ] ", "[x] "]
        .iter()
        .find(|m| body.starts_with(*m))
        .map(|m| measure_text_width(m))
        .or_else(|| {
            let digits = body.chars().take_while(char::is_ascii_digit).count();
            (digits > 0 && body[digits..].starts_with(". ")).then_some(digits + 2)
        })
        .unwrap_or(0);
    lead + marker
}

fn wrap_line(line: &str, width: usize, out: &mut String) {
    if width == 0 || measure_text_width(line) <= width {
        out.push_str(line);
        return;
    }
    let indent = hanging_indent(line);
    // Too little room after the indent: fold flush left instead.
    let indent = if indent * 2 > width { 0 } else { indent };
    let head_len = line.len() - line.trim_start_matches(' ').len();
    let (head, body) = line.split_at(head_len);
    out.push_str(head);
    let mut col = measure_text_width(head);
    let mut at_line_start = true;
    // Each word with the blanks before it: kept as they are, except where the line folds.
    for (gap, word) in words(body) {
        let w = measure_text_width(word);
        if !at_line_start && col + gap.len() + w > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
            at_line_start = true;
        }
        if !at_line_start {
            out.push_str(gap);
            col += gap.len();
        }
        out.push_str(word);
        col += w;
        at_line_start = false;
    }
    // A question's trailing blank (`Name: `) stays, so the answer does not touch it.
    if line.ends_with(' ') {
        out.push(' ');
    }
}

/// The words of `text`, each with the blanks before it.
fn words(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let gap_len = rest.len() - rest.trim_start_matches(' ').len();
        let (gap, after) = rest.split_at(gap_len);
        if after.is_empty() {
            break;
        }
        let word_len = after.find(' ').unwrap_or(after.len());
        let (word, next) = after.split_at(word_len);
        out.push((gap, word));
        rest = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_and_blank_lines_are_kept_as_they_are() {
        let text = "  Step 1.1\n\n  two  spaces kept\n";
        assert_eq!(wrap(text, 40), text);
    }

    #[test]
    fn a_long_line_folds_at_words_under_its_own_indent() {
        let text = "  Stop the provisioning engine on every MPS engine server before you go on.";
        assert_eq!(
            wrap(text, 30),
            "  Stop the provisioning engine\n  on every MPS engine server\n  before you go on."
        );
        for line in wrap(text, 30).lines() {
            assert!(line.len() <= 30, "{line:?}");
        }
    }

    #[test]
    fn a_list_item_continues_under_its_text() {
        assert_eq!(
            wrap(
                "  - Known issue: the service does not start (Error 1053)",
                32
            ),
            "  - Known issue: the service\n    does not start (Error 1053)"
        );
        assert_eq!(
            wrap("  12. Restart IIS on every web services server", 24),
            "  12. Restart IIS on\n      every web services\n      server"
        );
    }

    #[test]
    fn blanks_inside_a_line_are_kept_where_it_does_not_fold() {
        assert_eq!(
            wrap("  warning  restart-iis@PROV01: program iisreset.exe", 40),
            "  warning  restart-iis@PROV01: program\n  iisreset.exe"
        );
        assert_eq!(
            wrap(
                "  [ ] The logon user should be a member of Domain Admins.",
                34
            ),
            "  [ ] The logon user should be a\n      member of Domain Admins."
        );
    }

    #[test]
    fn a_word_wider_than_the_room_is_left_whole() {
        let path = r"C:\temp\QFERollupPackage\MPSWebServices\HostedExchange.msi";
        assert_eq!(
            wrap(&format!("  copy {path} now"), 30),
            format!("  copy\n  {path}\n  now")
        );
    }

    #[test]
    fn colour_escapes_take_no_room() {
        let red = "\u{1b}[31mred\u{1b}[0m";
        let text = format!("{red} {red} {red}");
        assert_eq!(wrap(&text, 11), text);
        assert_eq!(wrap(&text, 10), format!("{red} {red}\n{red}"));
    }
}
