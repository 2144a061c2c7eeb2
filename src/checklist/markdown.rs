//! The Markdown checklist: GitHub-flavoured, for a ticket or a wiki page.
//!
//! Boxes are task-list items (`- [ ]`), tables are pipe tables, and every piece of runbook text
//! is escaped so that it shows as written (a `<configuration>` or a `C:\path` stays visible).
//! Lines of instructions are kept with hard line breaks. Lays out a [`Doc`] and nothing else.

use super::Outcome;
use super::doc::{
    ActionDoc, BoxGroup, Doc, IssueDoc, ManifestDoc, PhaseDoc, Span, StepDoc, Tickbox,
};

/// Escapes inline text: a backslash goes before every character Markdown could read as markup
/// here, and nowhere else, so that Windows paths stay readable (`C:\temp` needs none). An
/// underscore inside a word (`ur5_installed`) is left alone: GitHub never reads it as emphasis.
fn esc(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let markup = match c {
            // A backslash escapes the punctuation after it, or breaks the line at its end.
            '\\' => next.is_none_or(|n| n.is_ascii_punctuation()),
            '_' => {
                !(i > 0
                    && chars[i - 1].is_alphanumeric()
                    && next.is_some_and(char::is_alphanumeric))
            }
            // `&name;` and `&#1;` are entities.
            '&' => next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#'),
            '`' | '*' | '[' | ']' | '<' | '|' | '~' => true,
            _ => false,
        };
        if markup {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a line that may stand at the start of a Markdown line: also what would begin a
/// heading, a list or a rule there.
fn esc_line(s: &str) -> String {
    let e = esc(s);
    if e.starts_with(['#', '-', '+', '=', '>']) {
        return format!("\\{e}");
    }
    let digits = e.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && e[digits..].starts_with(['.', ')']) {
        return format!("{}\\{}", &e[..digits], &e[digits..]);
    }
    e
}

/// A code span that holds `s` whatever backticks it contains.
fn code(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn inline(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Text(t) => esc(t),
            Span::Code(c) => code(c),
        })
        .collect()
}

/// Text of several lines, as written: one line per line (hard breaks), blank lines between
/// paragraphs; continuation lines start with `indent`.
fn lines(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut pending_break = false;
    for line in text.trim_end().lines() {
        let content = line.trim();
        if content.is_empty() {
            out.push_str("\n\n");
            out.push_str(indent);
            pending_break = false;
            continue;
        }
        if pending_break {
            out.push_str("\\\n");
            out.push_str(indent);
        }
        out.push_str(&esc_line(content));
        pending_break = true;
    }
    out
}

/// A fenced code block that holds `s` exactly.
fn fenced(s: &str) -> String {
    let mut fence = "```".to_string();
    while s.contains(&fence) {
        fence.push('`');
    }
    let mut body = s.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    format!("{fence}text\n{body}{fence}")
}

/// A pipe table; cells are already inline Markdown. Every `|` in a cell gets one more backslash:
/// GitHub takes that one off before it reads the cell, so `\|` in text and `|` in a code span
/// both stay inside their cell.
fn table(header: &[&str], align: &[&str], rows: &[Vec<String>]) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .map(|c| c.replace('\n', " ").replace('|', "\\|"))
            .collect();
        format!("| {} |", cells.join(" | "))
    };
    let mut out = vec![
        row(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()),
        format!("| {} |", align.join(" | ")),
    ];
    out.extend(rows.iter().map(|r| row(r)));
    out.join("\n")
}

fn task(b: &Tickbox, indent: &str) -> String {
    let (mark, label) = match b.tick.as_ref().map(|t| t.outcome) {
        None => ("[ ]", esc(&b.label)),
        Some(Outcome::Done) => ("[x]", esc(&b.label)),
        Some(Outcome::PartlyDone) => ("[ ]", esc(&b.label)),
        Some(Outcome::Skipped) => ("[x]", format!("~~{}~~", esc(&b.label))),
        Some(Outcome::Failed) => ("[ ]", esc(&b.label)),
    };
    let mut s = format!("{indent}- {mark} {label}");
    if let Some(t) = &b.tick {
        s.push_str(&format!(" — *{}*", esc(&t.describe())));
    }
    if let Some(note) = &b.note {
        s.push_str(&format!("\\\n{indent}  *Note:* {}", esc(note)));
    }
    for n in b.tick.iter().flat_map(|t| &t.notes) {
        s.push_str(&format!(
            "\\\n{indent}  *Note by {} at {}:* {}",
            esc(&n.who),
            esc(&n.when),
            esc(&n.text)
        ));
    }
    for f in b.tick.iter().flat_map(|t| &t.files) {
        s.push_str(&format!(
            "\\\n{indent}  SHA-256 `{}` {} {}",
            f.sha256,
            esc(&f.size_note()),
            esc(&f.path)
        ));
    }
    s
}

fn groups(groups: &[BoxGroup]) -> String {
    let mut out = Vec::new();
    for g in groups {
        match &g.host {
            Some(host) if !g.items.is_empty() => {
                out.push(format!("- **{}**", esc(host)));
                out.extend(g.boxes().map(|b| task(b, "  ")));
            }
            _ => out.extend(g.boxes().map(|b| task(b, ""))),
        }
    }
    out.join("\n")
}

fn action(a: &ActionDoc, blocks: &mut Vec<String>) {
    blocks.push(format!("**{}:** {}", esc(&a.lead), inline(&a.summary)));
    if !a.details.is_empty() {
        let list: Vec<String> = a
            .details
            .iter()
            .map(|d| format!("* {}", inline(d)))
            .collect();
        blocks.push(list.join("\n"));
    }
    if let Some(content) = &a.content {
        blocks.push(fenced(content));
    }
}

fn step(s: &StepDoc, level: &str, blocks: &mut Vec<String>) {
    blocks.push(format!(
        "{level} {} {}{}",
        s.number,
        esc(&s.title),
        esc(&s.article_suffix())
    ));
    let mut about = format!("Step {}", code(&s.id));
    if let Some(role) = &s.on {
        about.push_str(&format!(
            " · on {} ({}): {}",
            esc(&role.title),
            code(&role.id),
            esc(&role.hosts_shown())
        ));
    }
    blocks.push(about);
    if let Some(cond) = &s.only_if {
        blocks.push(format!("*Do this step only if {}.*", esc(cond)));
    }
    if let Some(instructions) = &s.instructions {
        blocks.push(lines(instructions, ""));
    }
    if let Some(a) = &s.action {
        action(a, blocks);
    }
    for n in &s.notes {
        blocks.push(format!("**Note:** {}", lines(n, "")));
    }
    for r in &s.references {
        blocks.push(format!("**Reference:** {}", esc(r)));
    }
    for (_, title) in &s.known_issues {
        blocks.push(format!(
            "**Known issue:** {} (see [Known issues](#known-issues))",
            esc(title)
        ));
    }
    if let Some(none) = s.no_hosts() {
        blocks.push(format!(
            "*{}: write in each host you do it on.*",
            esc(&none)
        ));
        blocks.push(["- [ ] ____________________"; super::doc::WRITE_IN_BOXES].join("\n"));
    } else if !s.groups.is_empty() {
        blocks.push(groups(&s.groups));
    }
}

fn phase(p: &PhaseDoc, blocks: &mut Vec<String>) {
    blocks.push(format!("## Phase {}. {}", p.number, esc(&p.title)));
    if let Some(cond) = &p.only_if {
        blocks.push(format!("*Do this phase only if {}.*", esc(cond)));
    }
    if let Some(order) = &p.host_order {
        blocks.push(format!("**{}**", esc(order)));
    }
    for n in &p.notes {
        blocks.push(format!("**Note:** {}", lines(n, "")));
    }
    for s in &p.steps {
        step(s, "###", blocks);
    }
}

fn issue(k: &IssueDoc, blocks: &mut Vec<String>) {
    blocks.push(format!("### {}", esc(&k.title)));
    let mut about = format!("Known issue {}", code(&k.id));
    if !k.seen_at.is_empty() {
        let steps = if k.seen_at.len() == 1 {
            "step"
        } else {
            "steps"
        };
        about.push_str(&format!(" · can occur at {steps} {}", k.seen_at.join(", ")));
    }
    blocks.push(about);
    for role in &k.applies_to {
        blocks.push(format!(
            "**Applies to:** {} ({}): {}",
            esc(&role.title),
            code(&role.id),
            esc(&role.hosts_shown())
        ));
    }
    blocks.push(format!("**Symptom:**\\\n{}", lines(&k.symptom, "")));
    if let Some(cause) = &k.cause {
        blocks.push(format!("**Cause:**\\\n{}", lines(cause, "")));
    }
    if let Some(w) = &k.workaround {
        blocks.push(format!("**Workaround:**\\\n{}", lines(w, "")));
    }
    for n in &k.notes {
        blocks.push(format!("**Note:** {}", lines(n, "")));
    }
    for r in &k.references {
        blocks.push(format!("**Reference:** {}", esc(r)));
    }
    if !k.steps.is_empty() {
        blocks.push("**Workaround steps (only if the issue occurs):**".to_string());
        blocks.push(format!("*Run them {}:*", esc(&k.runs_on)));
        for s in &k.steps {
            step(s, "####", blocks);
        }
    }
}

fn manifest(m: &ManifestDoc, blocks: &mut Vec<String>) {
    blocks.push(format!("### {}", esc(&m.title)));
    let mut about = format!("Manifest {}", code(&m.id));
    if let Some(p) = &m.platform {
        about.push_str(&format!(" · platform {}", esc(p)));
    }
    blocks.push(about);
    if let Some(note) = &m.note {
        blocks.push(lines(note, ""));
    }
    let cell = |v: &Option<String>| v.as_deref().map(esc).unwrap_or_default();
    let rows: Vec<Vec<String>> = m
        .files
        .iter()
        .map(|f| {
            vec![
                esc(&f.name),
                cell(&f.version),
                cell(&f.size),
                cell(&f.date),
                cell(&f.time),
                cell(&f.platform),
            ]
        })
        .collect();
    blocks.push(table(
        &["Name", "Version", "Size", "Date", "Time", "Platform"],
        &["---", "---", "---:", "---", "---", "---"],
        &rows,
    ));
}

/// One fact of the header as a list item: a single value on the item's line; several values
/// under it, each a paragraph or (written `- ...` in the runbook) a list item of its own, so a
/// summary or a list of notes reads as written rather than run together.
fn fact(label: &str, values: &[String]) -> String {
    match values {
        [one] => format!("- **{label}:** {}", esc(one)),
        _ => {
            let mut out = format!("- **{label}:**\n");
            let mut prev_item: Option<bool> = None;
            for v in values {
                let (item, text) = match v.strip_prefix("- ") {
                    Some(rest) => (true, rest),
                    None => (false, v.as_str()),
                };
                // Consecutive list items stay one list; anything else is its own paragraph.
                if !(item && prev_item == Some(true)) {
                    out.push('\n');
                }
                if item {
                    out.push_str(&format!("  - {}\n", esc(text)));
                } else {
                    out.push_str(&format!("  {}\n", esc_line(text)));
                }
                prev_item = Some(item);
            }
            out.trim_end().to_string()
        }
    }
}

/// The change block (blank cells to fill in), and the run summary of an as-run record.
fn change_block(blocks: &mut Vec<String>, doc: &Doc) {
    blocks.push("## Change record".to_string());
    let mut rows: Vec<Vec<String>> = doc
        .change
        .rows()
        .iter()
        .map(|(label, value)| vec![label.to_string(), value.map(esc).unwrap_or_default()])
        .collect();
    rows.push(vec![
        "Runbook".into(),
        format!(
            "{} · {} · SHA-256 {}",
            code(&doc.runbook_id),
            esc(&doc.article),
            code(&doc.hash)
        ),
    ]);
    blocks.push(table(&["Change", "Value"], &["---", "---"], &rows));
    if !doc.run_summary.is_empty() {
        blocks.push("## Run summary".to_string());
        let rows: Vec<Vec<String>> = doc
            .run_summary
            .iter()
            .map(|(label, value)| vec![label.to_string(), esc(value)])
            .collect();
        blocks.push(table(&["Run", "Value"], &["---", "---"], &rows));
    }
}

/// The back-out section, the sign-off block and the author's appendix.
fn closing(blocks: &mut Vec<String>, doc: &Doc) {
    if let Some(b) = &doc.backout {
        blocks.push("## Back-out".to_string());
        if let Some(text) = &b.text {
            blocks.push(lines(text, ""));
        }
        if !b.steps.is_empty() {
            let list: Vec<String> = b
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {}", i + 1, esc(s)))
                .collect();
            blocks.push(list.join("\n"));
        }
    }
    blocks.push("## Sign-off".to_string());
    let rows: Vec<Vec<String>> = super::SIGN_OFF
        .iter()
        .map(|r| vec![r.to_string(), String::new(), String::new(), String::new()])
        .collect();
    blocks.push(table(
        &["Role", "Name", "Signature", "Date and time"],
        &["---", "---", "---", "---"],
        &rows,
    ));
    if !doc.appendix.is_empty() {
        blocks.push("## Appendix: how the article was read".to_string());
        for note in &doc.appendix {
            blocks.push(esc_line(note));
        }
    }
}

/// Blocks of Markdown written as they are made, a blank line between two.
struct Blocks<'w> {
    w: &'w mut dyn std::io::Write,
    first: bool,
}

impl Blocks<'_> {
    fn write(&mut self, blocks: &mut Vec<String>) -> std::io::Result<()> {
        for block in blocks.drain(..) {
            if !self.first {
                self.w.write_all(b"\n\n")?;
            }
            self.first = false;
            self.w.write_all(block.as_bytes())?;
        }
        Ok(())
    }
}

/// Writes the checklist to `w`: the head, then each phase as it is made, then the rest.
pub fn write(
    doc: &Doc,
    phases: impl Iterator<Item = PhaseDoc>,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut out = Blocks { w, first: true };
    let mut blocks = vec![format!("# {}", esc(&doc.title))];
    let mut about = format!("Checklist of runbook {}.", code(&doc.runbook_id));
    if let Some(run) = &doc.as_run {
        about.push_str(&format!(" As-run record of run {}.", code(run)));
    }
    blocks.push(about);
    let facts: Vec<String> = doc
        .facts
        .iter()
        .map(|(label, values)| fact(label, values))
        .collect();
    change_block(&mut blocks, doc);
    blocks.push(facts.join("\n"));

    if !doc.parameters.is_empty() {
        blocks.push("## Parameters".to_string());
        let rows: Vec<Vec<String>> = doc
            .parameters
            .iter()
            .map(|p| {
                let value = match &p.value {
                    Some(v) => esc(v),
                    None => format!("*{}*", esc(p.shown())),
                };
                vec![code(&p.name), value, esc(&p.prompt)]
            })
            .collect();
        blocks.push(table(
            &["Parameter", "Value", "Question"],
            &["---", "---", "---"],
            &rows,
        ));
    }
    if !doc.roles.is_empty() {
        blocks.push("## Hosts".to_string());
        let rows: Vec<Vec<String>> = doc
            .roles
            .iter()
            .map(|r| {
                let hosts = if r.hosts.is_empty() {
                    format!("*{}*", r.hosts_shown())
                } else {
                    esc(&r.hosts_shown())
                };
                let about = r.description.as_deref().map(esc).unwrap_or_default();
                vec![format!("{} ({})", esc(&r.title), code(&r.id)), hosts, about]
            })
            .collect();
        blocks.push(table(
            &["Role", "Hosts", "About"],
            &["---", "---", "---"],
            &rows,
        ));
    }
    if doc.open_conditions {
        blocks.push(
            "> Some phases or steps depend on parameters that are not set; they are marked \
             \"only if\": do them only when the condition holds."
                .to_string(),
        );
    }

    if !doc.prerequisites.is_empty() {
        blocks.push("## Prerequisites".to_string());
        let list: Vec<String> = doc
            .prerequisites
            .iter()
            .map(|p| {
                let b = Tickbox {
                    key: String::new(),
                    label: p.text.clone(),
                    note: p.note.clone(),
                    tick: p.tick.clone(),
                };
                let mut s = task(&b, "");
                for r in &p.references {
                    s.push_str(&format!("\\\n  *Reference:* {}", esc(r)));
                }
                s
            })
            .collect();
        blocks.push(list.join("\n"));
    }

    for p in phases {
        phase(&p, &mut blocks);
        out.write(&mut blocks)?;
    }

    if !doc.known_issues.is_empty() {
        blocks.push("## Known issues".to_string());
        for k in &doc.known_issues {
            issue(k, &mut blocks);
        }
    }
    if !doc.manifests.is_empty() {
        blocks.push("## File manifests".to_string());
        for m in &doc.manifests {
            manifest(m, &mut blocks);
        }
    }
    closing(&mut blocks, doc);
    out.write(&mut blocks)?;
    out.w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_but_not_words() {
        assert_eq!(
            esc(r"C:\temp\ <x> a*b ur5_installed _x_ \* &amp; & x"),
            r"C:\temp\ \<x> a\*b ur5_installed \_x\_ \\\* \&amp; & x"
        );
        assert_eq!(esc(r"ends in \"), r"ends in \\");
        assert_eq!(esc_line("1. Click"), r"1\. Click");
        assert_eq!(esc_line("- item"), r"\- item");
        assert_eq!(esc_line("# no heading"), r"\# no heading");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }

    #[test]
    fn lines_keep_breaks_and_paragraphs() {
        assert_eq!(lines("a\nb\n\nc\n", "  "), "a\\\n  b\n\n  c");
    }
}
