//! The plain-text checklist: for a terminal or a printer, `[ ]` boxes, wrapped at 100 columns.
//!
//! Lays out a [`Doc`] and nothing else: what is shown is decided in [`super::doc`]. Only a word
//! longer than a line (a long path or command line) makes a line wider than [`WIDTH`].

use super::doc::{
    ActionDoc, BoxGroup, Doc, IssueDoc, ManifestDoc, PhaseDoc, Span, StepDoc, Tickbox,
};
use super::{Outcome, Tick};

/// The widest a line gets, unless one word is wider.
pub const WIDTH: usize = 100;

/// Splits inline text into the words a line may break between; a code span never breaks.
fn words(spans: &[Span]) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for span in spans {
        match span {
            Span::Code(c) => word.push_str(c),
            Span::Text(t) => {
                for ch in t.chars() {
                    if ch.is_whitespace() {
                        if !word.is_empty() {
                            out.push(std::mem::take(&mut word));
                        }
                    } else {
                        word.push(ch);
                    }
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Appends `words` as lines: the first starts with `first`, the others with `rest` spaces. A word
/// with spaces in it (a code span) that would not fit even on a line of its own is broken at
/// its spaces after all.
fn fill(out: &mut String, first: &str, rest: usize, words: &[String]) {
    let room = WIDTH.saturating_sub(rest);
    let words = words.iter().flat_map(|w| {
        if w.chars().count() > room && w.contains(' ') {
            w.split(' ').filter(|p| !p.is_empty()).collect::<Vec<_>>()
        } else {
            vec![w.as_str()]
        }
    });
    let mut line = first.to_string();
    let mut len = first.chars().count();
    let mut empty = true;
    for word in words {
        let n = word.chars().count();
        if !empty && len + 1 + n > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(rest);
            len = rest;
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += n;
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Appends one paragraph of inline text.
fn para(out: &mut String, first: &str, rest: usize, spans: &[Span]) {
    fill(out, first, rest, &words(spans));
}

/// Appends plain text at `indent` with a `label` in front of its first line; the other lines
/// hang under the text, not the label.
fn labelled(out: &mut String, indent: usize, label: &str, text: &str) {
    let first = format!("{}{label}", " ".repeat(indent));
    let rest = indent + label.chars().count();
    fill(out, &first, rest, &words(&[Span::Text(text.to_string())]));
}

/// The width of a list marker at the start of a line (`- `, `* `, `12. `, `3) `), if any.
fn marker(line: &str) -> usize {
    if line.starts_with("- ") || line.starts_with("* ") {
        return 2;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let rest = &line[digits..];
    if digits > 0 && (rest.starts_with(". ") || rest.starts_with(") ")) {
        digits + 2
    } else {
        0
    }
}

/// Appends text of several lines, as written: each line is wrapped on its own, keeping its
/// indentation, with a hanging indent after a list marker.
fn block(out: &mut String, indent: usize, text: &str) {
    for line in text.trim_end().lines() {
        let content = line.trim_start();
        if content.is_empty() {
            out.push('\n');
            continue;
        }
        let lead = indent + (line.len() - content.len());
        let first = " ".repeat(lead);
        fill(
            out,
            &first,
            lead + marker(content),
            &words(&[Span::Text(content.to_string())]),
        );
    }
}

/// Text exactly as written (file content): indented, never wrapped or trimmed.
fn verbatim(out: &mut String, indent: usize, text: &str) {
    for line in text.lines() {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(line);
        out.push('\n');
    }
}

/// A heading underlined with `rule`, wrapped when long.
fn heading(out: &mut String, title: &str, rule: char) {
    let mut lines = String::new();
    fill(&mut lines, "", 0, &words(&[Span::Text(title.to_string())]));
    let longest = lines.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    out.push_str(&lines);
    out.push_str(&rule.to_string().repeat(longest.min(WIDTH)));
    out.push('\n');
}

fn mark(tick: Option<&Tick>) -> &'static str {
    match tick.map(|t| t.outcome) {
        None => "[ ]",
        Some(Outcome::Done) => "[x]",
        Some(Outcome::PartlyDone) => "[~]",
        Some(Outcome::Skipped) => "[-]",
        Some(Outcome::Failed) => "[!]",
    }
}

fn tickbox(out: &mut String, indent: usize, b: &Tickbox) {
    let first = format!("{}{} ", " ".repeat(indent), mark(b.tick.as_ref()));
    let mut text = b.label.clone();
    if let Some(t) = &b.tick {
        text.push_str(&format!(" ({})", t.describe()));
    }
    fill(out, &first, indent + 4, &words(&[Span::Text(text)]));
    if let Some(note) = &b.note {
        labelled(out, indent + 4, "Note: ", note);
    }
    for n in b.tick.iter().flat_map(|t| &t.notes) {
        labelled(
            out,
            indent + 4,
            &format!("Note by {} at {}: ", n.who, n.when),
            &n.text,
        );
    }
    for f in b.tick.iter().flat_map(|t| &t.files) {
        // The size is one word, never folded between its number and its unit.
        let spans = [
            Span::Text(format!("{} ", f.sha256)),
            Span::Code(f.size_note()),
            Span::Text(format!(" {}", f.path)),
        ];
        let first = format!("{}SHA-256 ", " ".repeat(indent + 4));
        fill(out, &first, indent + 12, &words(&spans));
    }
}

fn group(out: &mut String, indent: usize, g: &BoxGroup) {
    match &g.host {
        Some(host) if !g.items.is_empty() => {
            out.push_str(&format!("{}{host}:\n", " ".repeat(indent)));
            for b in g.boxes() {
                tickbox(out, indent + 2, b);
            }
        }
        _ => {
            for b in g.boxes() {
                tickbox(out, indent, b);
            }
        }
    }
}

fn action(out: &mut String, indent: usize, a: &ActionDoc) {
    let mut spans = vec![Span::Text(format!("{}: ", a.lead))];
    spans.extend(a.summary.iter().cloned());
    para(out, &" ".repeat(indent), indent + 2, &spans);
    for d in &a.details {
        para(out, &format!("{}- ", " ".repeat(indent + 2)), indent + 4, d);
    }
    if let Some(content) = &a.content {
        verbatim(out, indent + 4, content);
    }
}

/// A step at `indent`: its number, title and id, then its body under the title.
fn step(out: &mut String, indent: usize, s: &StepDoc) {
    let number = format!("{}{:<4} ", " ".repeat(indent), s.number);
    let body = number.len();
    para(
        out,
        &number,
        body,
        &[Span::Text(format!(
            "{}  [{}]{}",
            s.title,
            s.id,
            s.article_suffix()
        ))],
    );
    if let Some(role) = &s.on {
        labelled(
            out,
            body,
            "On: ",
            &format!("{}: {}", role.name(), role.hosts_shown()),
        );
    }
    if let Some(cond) = &s.only_if {
        labelled(out, body, "", &format!("Do this step only if {cond}"));
    }
    if let Some(instructions) = &s.instructions {
        out.push('\n');
        block(out, body, instructions);
    }
    let has_extras = s.action.is_some()
        || !s.notes.is_empty()
        || !s.references.is_empty()
        || !s.known_issues.is_empty();
    if has_extras {
        out.push('\n');
    }
    if let Some(a) = &s.action {
        action(out, body, a);
    }
    for n in &s.notes {
        labelled(out, body, "Note: ", n);
    }
    for r in &s.references {
        labelled(out, body, "Reference: ", r);
    }
    for (_, title) in &s.known_issues {
        labelled(
            out,
            body,
            "Known issue: ",
            &format!("{title} (see KNOWN ISSUES at the end)"),
        );
    }
    if let Some(none) = s.no_hosts() {
        out.push('\n');
        labelled(
            out,
            body,
            "",
            &format!("({none}: write in each host you do it on)"),
        );
        for _ in 0..super::doc::WRITE_IN_BOXES {
            out.push_str(&format!("{}[ ] ____________________\n", " ".repeat(body)));
        }
    } else if !s.groups.is_empty() {
        out.push('\n');
        for g in &s.groups {
            group(out, body, g);
        }
    }
}

fn phase(out: &mut String, p: &PhaseDoc) {
    out.push('\n');
    heading(out, &format!("PHASE {}: {}", p.number, p.title), '-');
    if let Some(cond) = &p.only_if {
        labelled(out, 0, "", &format!("Do this phase only if {cond}"));
    }
    if let Some(order) = &p.host_order {
        labelled(out, 0, "", order);
    }
    for n in &p.notes {
        labelled(out, 0, "Note: ", n);
    }
    for s in &p.steps {
        out.push('\n');
        step(out, 2, s);
    }
}

fn issue(out: &mut String, k: &IssueDoc) {
    out.push('\n');
    para(
        out,
        "  ",
        2,
        &[Span::Text(format!("{}  [{}]", k.title, k.id))],
    );
    if !k.seen_at.is_empty() {
        let steps = if k.seen_at.len() == 1 {
            "step"
        } else {
            "steps"
        };
        labelled(
            out,
            4,
            "",
            &format!("Can occur at {steps} {}", k.seen_at.join(", ")),
        );
    }
    for role in &k.applies_to {
        labelled(
            out,
            4,
            "Applies to: ",
            &format!("{}: {}", role.name(), role.hosts_shown()),
        );
    }
    out.push_str("    Symptom:\n");
    block(out, 6, &k.symptom);
    if let Some(cause) = &k.cause {
        out.push_str("    Cause:\n");
        block(out, 6, cause);
    }
    if let Some(w) = &k.workaround {
        out.push_str("    Workaround:\n");
        block(out, 6, w);
    }
    for n in &k.notes {
        labelled(out, 4, "Note: ", n);
    }
    for r in &k.references {
        labelled(out, 4, "Reference: ", r);
    }
    if !k.steps.is_empty() {
        out.push_str("    Workaround steps (only if the issue occurs):\n");
        labelled(out, 6, "Run them ", &format!("{}:", k.runs_on));
        out.push('\n');
        for (i, s) in k.steps.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            step(out, 6, s);
        }
    }
}

fn manifest(out: &mut String, m: &ManifestDoc) {
    out.push('\n');
    let mut title = format!("{}  [{}]", m.title, m.id);
    if let Some(p) = &m.platform {
        title.push_str(&format!("  platform {p}"));
    }
    para(out, "  ", 2, &[Span::Text(title)]);
    if let Some(note) = &m.note {
        block(out, 4, note);
    }
    out.push('\n');
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let header = ["NAME", "VERSION", "SIZE", "DATE", "TIME", "PLATFORM"].map(String::from);
    let rows: Vec<[String; 6]> = m
        .files
        .iter()
        .map(|f| {
            [
                f.name.clone(),
                cell(&f.version),
                cell(&f.size),
                cell(&f.date),
                cell(&f.time),
                cell(&f.platform),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 2 {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        format!("  {}", cells.join("  ").trim_end())
    };
    out.push_str(&line(&header));
    out.push('\n');
    let rule = widths.map(|w| "-".repeat(w));
    out.push_str(&line(&rule));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
}

fn section(out: &mut String, title: &str) {
    out.push('\n');
    heading(out, title, '-');
}

/// Writes the checklist to `w`: the head, then each phase as it is made, then the rest.
pub fn write(
    doc: &Doc,
    phases: impl Iterator<Item = PhaseDoc>,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut out = String::new();
    heading(&mut out, &doc.title, '=');
    out.push_str(&format!("Checklist of runbook {}\n", doc.runbook_id));
    if let Some(run) = &doc.as_run {
        labelled(&mut out, 0, "", &format!("As-run record of run {run}"));
    }
    change_block(&mut out, doc);
    out.push('\n');
    for (label, values) in &doc.facts {
        for (i, v) in values.iter().enumerate() {
            let first = if i == 0 {
                format!("  {:<12}", format!("{label}:"))
            } else {
                " ".repeat(14)
            };
            fill(&mut out, &first, 14, &words(&[Span::Text(v.clone())]));
        }
    }

    if !doc.parameters.is_empty() {
        section(&mut out, "PARAMETERS");
        for p in &doc.parameters {
            // A value (a path with spaces) is never broken: it goes on a line of its own when it
            // does not fit beside the name.
            let value = [Span::Code(p.shown().to_string())];
            let first = format!("  {} = ", p.name);
            if first.len() + p.shown().chars().count() > WIDTH {
                out.push_str(&format!("  {} =\n", p.name));
                para(&mut out, "      ", 6, &value);
            } else {
                para(&mut out, &first, 6, &value);
            }
            labelled(&mut out, 6, "", &p.prompt);
        }
    }
    if !doc.roles.is_empty() {
        section(&mut out, "HOSTS");
        for r in &doc.roles {
            let line = format!("{}: {}", r.name(), r.hosts_shown());
            fill(&mut out, "  ", 4, &words(&[Span::Text(line)]));
            if let Some(d) = &r.description {
                fill(&mut out, "      ", 6, &words(&[Span::Text(d.clone())]));
            }
        }
    }
    if doc.open_conditions {
        out.push('\n');
        labelled(
            &mut out,
            0,
            "",
            "Some phases or steps depend on parameters that are not set; they are marked \
             \"only if\": do them only when the condition holds.",
        );
    }

    if !doc.prerequisites.is_empty() {
        section(&mut out, "PREREQUISITES");
        for p in &doc.prerequisites {
            let b = Tickbox {
                key: String::new(),
                label: p.text.clone(),
                note: p.note.clone(),
                tick: p.tick.clone(),
            };
            tickbox(&mut out, 2, &b);
            for r in &p.references {
                labelled(&mut out, 6, "Reference: ", r);
            }
        }
    }

    for p in phases {
        phase(&mut out, &p);
        w.write_all(out.as_bytes())?;
        out.clear();
    }

    if !doc.known_issues.is_empty() {
        section(&mut out, "KNOWN ISSUES");
        for k in &doc.known_issues {
            issue(&mut out, k);
        }
    }
    if !doc.manifests.is_empty() {
        section(&mut out, "FILE MANIFESTS");
        for m in &doc.manifests {
            manifest(&mut out, m);
        }
    }
    closing(&mut out, doc);
    w.write_all(out.as_bytes())
}

/// The change block: the values given, or a line to fill in.
fn change_block(out: &mut String, doc: &Doc) {
    section(out, "CHANGE RECORD");
    for (label, value) in doc.change.rows() {
        let value = value.map_or_else(|| "_".repeat(40), str::to_string);
        labelled(out, 2, &format!("{:<16}", format!("{label}:")), &value);
    }
    labelled(
        out,
        2,
        &format!("{:<16}", "Runbook:"),
        &format!("{} \u{b7} {}", doc.runbook_id, doc.article),
    );
    labelled(out, 2, &format!("{:<16}", "SHA-256:"), &doc.hash);
    if !doc.run_summary.is_empty() {
        section(out, "RUN SUMMARY");
        for (label, value) in &doc.run_summary {
            labelled(out, 2, &format!("{:<18}", format!("{label}:")), value);
        }
    }
}

/// The back-out section, the sign-off block and the author's appendix.
fn closing(out: &mut String, doc: &Doc) {
    if let Some(b) = &doc.backout {
        section(out, "BACK-OUT");
        if let Some(text) = &b.text {
            block(out, 2, text);
        }
        for (i, step) in b.steps.iter().enumerate() {
            labelled(out, 2, &format!("[ ] {}. ", i + 1), step);
        }
    }
    section(out, "SIGN-OFF");
    for role in super::SIGN_OFF {
        out.push_str(&format!(
            "  {:<16}name ____________________  signature ____________________  date ____________\n",
            format!("{role}:")
        ));
    }
    if !doc.appendix.is_empty() {
        section(out, "APPENDIX: HOW THE ARTICLE WAS READ");
        for note in &doc.appendix {
            labelled(out, 2, "- ", note);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_keeps_lines_and_hangs_list_items() {
        let mut out = String::new();
        let long = "word ".repeat(30);
        block(&mut out, 2, &format!("Intro:\n  1. {long}\n\n- short"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  Intro:");
        assert!(lines[1].starts_with("    1. word"));
        assert!(lines[2].starts_with("       word"), "{:?}", lines[2]);
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
        assert_eq!(lines[lines.len() - 2], "");
        assert_eq!(lines[lines.len() - 1], "  - short");
    }

    #[test]
    fn code_spans_break_only_when_too_long_for_a_line() {
        let mut out = String::new();
        let fits = format!("a {}", "b".repeat(WIDTH - 6));
        fill(&mut out, "    ", 4, &[String::from("x"), fits.clone()]);
        assert_eq!(out, format!("    x\n    {fits}\n"));
        out.clear();
        let too_long = format!("a {}", "b".repeat(WIDTH));
        fill(&mut out, "    ", 4, &[String::from("x"), too_long]);
        assert_eq!(out, format!("    x a\n    {}\n", "b".repeat(WIDTH)));
    }

    #[test]
    fn code_spans_stay_whole() {
        let spans = vec![
            Span::Text("runs ".into()),
            Span::Code("a b c".into()),
            Span::Text(", then".into()),
        ];
        assert_eq!(words(&spans), ["runs", "a b c,", "then"]);
    }
}
