//! The HTML checklist: one self-contained page to print and sign off.
//!
//! Inline CSS only (no script, no font, no image, nothing fetched), print rules that keep a step
//! on one page where it fits, and a sign-off table per step: box, host or item, initials, time.
//! Every box carries `id` and `data-key` equal to the key of its step instance or item, so a test
//! or an as-run record can find it. Every piece of runbook text is escaped. Lays out a [`Doc`]
//! and nothing else.

use super::doc::{ActionDoc, Doc, IssueDoc, ManifestDoc, PhaseDoc, Span, StepDoc, Tickbox};
use super::{Outcome, Tick};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 11pt/1.4 "Segoe UI", Arial, Helvetica, sans-serif; color: #000; background: #fff;
  max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #000; padding-bottom: .1em; margin: 1.6em 0 .5em;
  break-after: avoid; page-break-after: avoid; }
h3 { font-size: 1.05em; margin: 0 0 .3em; }
h4 { font-size: 1em; margin: 1em 0 .3em; break-after: avoid; page-break-after: avoid; }
.step h3, .step h4 { margin: 0 0 .3em; }
p { margin: .3em 0; }
code, .id, pre { font-family: Consolas, "Courier New", monospace; }
code, .id { font-size: .92em; }
.sub, .id, .about { color: #444; }
.id { font-weight: normal; margin-left: .6em; }
.num { display: inline-block; min-width: 2.4em; }
.article { font-weight: normal; font-style: italic; margin-left: .6em; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .15em 1em; margin: .8em 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
.lines { white-space: pre-wrap; }
.cond { font-weight: bold; font-style: italic; }
.open { border: 1px solid #000; padding: .4em .6em; }
.step { border: 1px solid #888; border-radius: 4px; padding: .5em .7em; margin: .7em 0;
  break-inside: avoid; page-break-inside: avoid; }
.issue { margin: 1em 0; }
.issue .step { border-style: dashed; }
.action { margin: .4em 0; }
.action ul { margin: .2em 0; padding-left: 1.6em; }
.note, .ref, .ki { font-size: .95em; }
pre { white-space: pre-wrap; border: 1px solid #bbb; background: #f5f5f5; padding: .4em .6em;
  margin: .3em 0; font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #666; padding: .2em .4em; text-align: left; vertical-align: top; }
thead { display: table-header-group; }
thead th { background: #e8e8e8; }
tr { break-inside: avoid; page-break-inside: avoid; }
.signoff .c-box { width: 2.2em; text-align: center; }
.signoff .c-ini { width: 6.5em; }
.signoff .c-time { width: 8em; }
.signoff tr.host th { background: #f0f0f0; }
.signoff tr.item td.label { padding-left: 1.6em; }
.signoff tr.failed td { font-weight: bold; }
.box { display: inline-block; width: 1.05em; height: 1.05em; border: 1.5px solid #000;
  line-height: 1.05em; text-align: center; font-weight: bold; vertical-align: middle; }
.manifest td.size, .manifest th.size { text-align: right; }
.none { font-style: italic; }
@page { size: auto; margin: 16mm 12mm; }
td, th, dd, p, li, pre, code { overflow-wrap: anywhere; }
table.change td.value, table.sign td { height: 2.2em; }
table.change th, table.summary th { width: 11em; background: #e8e8e8; }
table.sign th { background: #e8e8e8; }
table.sign td.role { width: 10em; font-weight: bold; }
.blank { color: #888; font-style: italic; font-size: .85em; }
ol.backout li { margin: .3em 0; }
.appendix { font-size: .95em; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; }
  pre { background: none; }
  thead th, .signoff tr.host th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-before: auto; }
}
"#;

/// Quotes text for a CSS string (`content: "..."`).
fn css_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("\\3c "),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The running head and foot of every printed page: runbook id, article and content hash at the
/// top, "Page N of M" at the bottom.
fn page_style(doc: &Doc) -> String {
    let head = format!(
        "{} \u{b7} {} \u{b7} SHA-256 {}",
        doc.runbook_id,
        doc.article,
        doc.short_hash()
    );
    let head = match &doc.change.number {
        Some(n) => format!("{head} \u{b7} change {n}"),
        None => head,
    };
    format!(
        "@page {{ @top-left {{ content: {}; font: 8pt Arial, Helvetica, sans-serif; color: #333; }} \
         @bottom-right {{ content: \"Page \" counter(page) \" of \" counter(pages); font: 8pt Arial, Helvetica, sans-serif; }} }}",
        css_string(&head)
    )
}

/// The change block: what the change board fills in or the options gave.
fn change_block(out: &mut String, doc: &Doc) {
    out.push_str(
        "<section class=\"change\">\n<h2>Change record</h2>\n<table class=\"change\">\n<tbody>\n",
    );
    for (label, value) in doc.change.rows() {
        let cell = match value {
            Some(v) => esc(v),
            None => String::new(),
        };
        out.push_str(&format!(
            "<tr><th>{label}</th><td class=\"value\">{cell}</td></tr>\n"
        ));
    }
    out.push_str(&format!(
        "<tr><th>Runbook</th><td><code>{}</code> \u{b7} {} \u{b7} SHA-256 <code>{}</code></td></tr>\n",
        esc(&doc.runbook_id),
        esc(&doc.article),
        esc(&doc.hash)
    ));
    out.push_str("</tbody>\n</table>\n</section>\n");
    if !doc.run_summary.is_empty() {
        out.push_str("<section class=\"run-summary\">\n<h2>Run summary</h2>\n<table class=\"summary\">\n<tbody>\n");
        for (label, value) in &doc.run_summary {
            out.push_str(&format!(
                "<tr><th>{label}</th><td>{}</td></tr>\n",
                esc(value)
            ));
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// The end of the record: the back-out section, the sign-off block, the author's appendix.
fn closing(out: &mut String, doc: &Doc) {
    if let Some(b) = &doc.backout {
        out.push_str("<section class=\"backout\">\n<h2>Back-out</h2>\n");
        if let Some(text) = &b.text {
            out.push_str(&format!(
                "<p class=\"lines\">{}</p>\n",
                lines(text.trim_end())
            ));
        }
        if !b.steps.is_empty() {
            out.push_str("<ol class=\"backout\">\n");
            for step in &b.steps {
                out.push_str(&format!(
                    "<li><span class=\"box backout-box\"></span> {}</li>\n",
                    esc(step)
                ));
            }
            out.push_str("</ol>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("<section class=\"sign-off\">\n<h2>Sign-off</h2>\n<table class=\"sign\">\n<thead><tr><th>Role</th><th>Name</th><th>Signature</th><th>Date and time</th></tr></thead>\n<tbody>\n");
    for role in super::SIGN_OFF {
        out.push_str(&format!(
            "<tr><td class=\"role\">{role}</td><td></td><td></td><td></td></tr>\n"
        ));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    if !doc.appendix.is_empty() {
        out.push_str("<section class=\"appendix\">\n<h2>Appendix: how the article was read</h2>\n");
        for note in &doc.appendix {
            out.push_str(&format!("<p>{}</p>\n", esc(note)));
        }
        out.push_str("</section>\n");
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn inline(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Text(t) => esc(t),
            Span::Code(c) => format!("<code>{}</code>", esc(c)),
        })
        .collect()
}

/// Text of several lines, kept as written.
fn lines(text: &str) -> String {
    format!("<div class=\"lines\">{}</div>", esc(text.trim_end()))
}

fn mark(tick: Option<&Tick>) -> (&'static str, &'static str) {
    match tick.map(|t| t.outcome) {
        None => ("", ""),
        Some(Outcome::Done) => ("done", "\u{2713}"),
        Some(Outcome::PartlyDone) => ("partly-done", "~"),
        Some(Outcome::Skipped) => ("skipped", "\u{2013}"),
        Some(Outcome::Failed) => ("failed", "\u{2717}"),
    }
}

/// The box itself; `attrs` says what it stands for.
fn tickbox_span(attrs: &str, tick: Option<&Tick>) -> String {
    let (outcome, glyph) = mark(tick);
    match tick {
        None => format!("<span class=\"box\" {attrs}></span>"),
        Some(t) => format!(
            "<span class=\"box {outcome}\" {attrs} data-outcome=\"{outcome}\" title=\"{}\">{glyph}</span>",
            esc(&t.describe())
        ),
    }
}

/// One row of a sign-off table: box, label (and note), initials, time.
fn row(out: &mut String, class: &str, attrs: &str, b: &Tickbox) {
    let tick = b.tick.as_ref();
    let mut classes = class.to_string();
    if let Some(t) = tick {
        classes.push(' ');
        classes.push_str(t.outcome.class());
    }
    out.push_str(&format!("<tr class=\"{}\">", classes.trim()));
    out.push_str(&format!(
        "<td class=\"c-box\">{}</td>",
        tickbox_span(attrs, tick)
    ));
    out.push_str(&format!("<td class=\"label\">{}", esc(&b.label)));
    if let Some(note) = &b.note {
        out.push_str(&format!(
            "<div class=\"note\"><strong>Note:</strong> {}</div>",
            esc(note)
        ));
    }
    if let Some(t) = tick {
        let mut what = t.outcome.word().to_string();
        if let Some(how) = t.how {
            what.push(' ');
            what.push_str(how);
        }
        if let Some(target) = &t.target {
            what.push_str(" on ");
            what.push_str(target);
        }
        if let Some(note) = &t.note {
            what.push_str(": ");
            what.push_str(note);
        }
        out.push_str(&format!("<div class=\"note\">{}</div>", esc(&what)));
        for n in &t.notes {
            out.push_str(&format!(
                "<div class=\"note run-note\">{}</div>",
                esc(&n.describe())
            ));
        }
        for f in &t.files {
            out.push_str(&format!(
                "<div class=\"note run-file\">SHA-256 <code>{}</code> {} {}</div>",
                esc(&f.sha256),
                esc(&f.size_note()),
                esc(&f.path)
            ));
        }
    }
    out.push_str("</td>");
    let (who, when) = tick
        .map(|t| (esc(&t.who), esc(&t.when)))
        .unwrap_or_default();
    out.push_str(&format!(
        "<td class=\"c-ini\">{who}</td><td class=\"c-time\">{when}</td></tr>\n"
    ));
}

fn signoff_head(out: &mut String, what: &str) {
    out.push_str("<table class=\"signoff\">\n<thead><tr><th class=\"c-box\">Done</th>");
    out.push_str(&format!(
        "<th>{what}</th><th class=\"c-ini\">Initials</th><th class=\"c-time\">Time</th></tr></thead>\n<tbody>\n"
    ));
}

fn key_attrs(key: &str) -> String {
    let k = esc(key);
    format!("id=\"{k}\" data-key=\"{k}\"")
}

fn signoff(out: &mut String, s: &StepDoc) {
    let hosts = s.groups.iter().any(|g| g.host.is_some());
    let items = s.groups.iter().any(|g| !g.items.is_empty());
    let what = match (hosts, items) {
        (true, true) => "Host / item",
        (true, false) => "Host",
        (false, true) => "Item",
        (false, false) => "Step",
    };
    signoff_head(out, what);
    for g in &s.groups {
        if let (Some(host), false) = (&g.host, g.items.is_empty()) {
            out.push_str(&format!(
                "<tr class=\"host\"><th colspan=\"4\" scope=\"rowgroup\">{}</th></tr>\n",
                esc(host)
            ));
        }
        for b in &g.items {
            row(out, "item", &key_attrs(&b.key), b);
        }
        row(out, "instance", &key_attrs(&g.done.key), &g.done);
    }
    out.push_str("</tbody>\n</table>\n");
}

fn action(out: &mut String, a: &ActionDoc) {
    out.push_str(&format!(
        "<div class=\"action\"><p><strong>{}:</strong> {}</p>\n",
        esc(&a.lead),
        inline(&a.summary)
    ));
    if !a.details.is_empty() {
        out.push_str("<ul>\n");
        for d in &a.details {
            out.push_str(&format!("<li>{}</li>\n", inline(d)));
        }
        out.push_str("</ul>\n");
    }
    if let Some(content) = &a.content {
        out.push_str(&format!("<pre>{}</pre>\n", esc(content)));
    }
    out.push_str("</div>\n");
}

fn step(out: &mut String, s: &StepDoc, heading: &str, anchor: Option<String>) {
    match anchor {
        Some(id) => out.push_str(&format!("<div class=\"step\" id=\"{}\">\n", esc(&id))),
        None => out.push_str("<div class=\"step\">\n"),
    }
    let article = s
        .article_step
        .as_ref()
        .map(|n| format!(" <span class=\"article\">article step {}</span>", esc(n)))
        .unwrap_or_default();
    out.push_str(&format!(
        "<{heading}><span class=\"num\">{}</span> {} <span class=\"id\">{}</span>{article}</{heading}>\n",
        esc(&s.number),
        esc(&s.title),
        esc(&s.id)
    ));
    if let Some(role) = &s.on {
        out.push_str(&format!(
            "<p class=\"about\">On {} (<code>{}</code>): {}</p>\n",
            esc(&role.title),
            esc(&role.id),
            esc(&role.hosts_shown())
        ));
    }
    if let Some(cond) = &s.only_if {
        out.push_str(&format!(
            "<p class=\"cond\">Do this step only if {}</p>\n",
            esc(cond)
        ));
    }
    if let Some(instructions) = &s.instructions {
        out.push_str(&lines(instructions));
        out.push('\n');
    }
    if let Some(a) = &s.action {
        action(out, a);
    }
    for n in &s.notes {
        out.push_str(&format!(
            "<p class=\"note\"><strong>Note:</strong> {}</p>\n",
            esc(n)
        ));
    }
    for r in &s.references {
        out.push_str(&format!(
            "<p class=\"ref\"><strong>Reference:</strong> {}</p>\n",
            esc(r)
        ));
    }
    for (id, title) in &s.known_issues {
        out.push_str(&format!(
            "<p class=\"ki\"><strong>Known issue:</strong> <a href=\"#ki.{}\">{}</a> (see Known issues at the end)</p>\n",
            esc(id),
            esc(title)
        ));
    }
    if let Some(none) = s.no_hosts() {
        out.push_str(&format!(
            "<p class=\"none\">{}: write in each host you do it on.</p>\n",
            esc(&none)
        ));
        signoff_head(out, "Host");
        for _ in 0..super::doc::WRITE_IN_BOXES {
            out.push_str("<tr class=\"write-in\"><td class=\"c-box\"><span class=\"box\"></span></td><td class=\"label\"></td><td class=\"c-ini\"></td><td class=\"c-time\"></td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    } else if !s.groups.is_empty() {
        signoff(out, s);
    }
    out.push_str("</div>\n");
}

fn phase(out: &mut String, p: &PhaseDoc) {
    out.push_str(&format!(
        "<section class=\"phase\" id=\"phase.{}\">\n<h2>Phase {}. {}</h2>\n",
        p.number,
        p.number,
        esc(&p.title)
    ));
    if let Some(cond) = &p.only_if {
        out.push_str(&format!(
            "<p class=\"cond\">Do this phase only if {}</p>\n",
            esc(cond)
        ));
    }
    if let Some(order) = &p.host_order {
        out.push_str(&format!("<p class=\"order\">{}</p>\n", esc(order)));
    }
    for n in &p.notes {
        out.push_str(&format!(
            "<p class=\"note\"><strong>Note:</strong> {}</p>\n",
            esc(n)
        ));
    }
    for s in &p.steps {
        step(out, s, "h3", Some(format!("step.{}", s.number)));
    }
    out.push_str("</section>\n");
}

fn issue(out: &mut String, k: &IssueDoc) {
    out.push_str(&format!(
        "<section class=\"issue\" id=\"ki.{}\">\n<h3>{} <span class=\"id\">{}</span></h3>\n",
        esc(&k.id),
        esc(&k.title),
        esc(&k.id)
    ));
    if !k.seen_at.is_empty() {
        let steps = if k.seen_at.len() == 1 {
            "step"
        } else {
            "steps"
        };
        out.push_str(&format!(
            "<p class=\"about\">Can occur at {steps} {}</p>\n",
            esc(&k.seen_at.join(", "))
        ));
    }
    for role in &k.applies_to {
        out.push_str(&format!(
            "<p><strong>Applies to:</strong> {} (<code>{}</code>): {}</p>\n",
            esc(&role.title),
            esc(&role.id),
            esc(&role.hosts_shown())
        ));
    }
    out.push_str(&format!(
        "<p><strong>Symptom:</strong></p>\n{}\n",
        lines(&k.symptom)
    ));
    if let Some(cause) = &k.cause {
        out.push_str(&format!(
            "<p><strong>Cause:</strong></p>\n{}\n",
            lines(cause)
        ));
    }
    if let Some(w) = &k.workaround {
        out.push_str(&format!(
            "<p><strong>Workaround:</strong></p>\n{}\n",
            lines(w)
        ));
    }
    for n in &k.notes {
        out.push_str(&format!(
            "<p class=\"note\"><strong>Note:</strong> {}</p>\n",
            esc(n)
        ));
    }
    for r in &k.references {
        out.push_str(&format!(
            "<p class=\"ref\"><strong>Reference:</strong> {}</p>\n",
            esc(r)
        ));
    }
    if !k.steps.is_empty() {
        out.push_str("<h4>Workaround steps (only if the issue occurs)</h4>\n");
        out.push_str(&format!(
            "<p class=\"about\">Run them {}:</p>\n",
            esc(&k.runs_on)
        ));
        for s in &k.steps {
            step(out, s, "h4", None);
        }
    }
    out.push_str("</section>\n");
}

fn manifest(out: &mut String, m: &ManifestDoc) {
    out.push_str(&format!(
        "<section class=\"manifest\" id=\"manifest.{}\">\n<h3>{} <span class=\"id\">{}</span></h3>\n",
        esc(&m.id),
        esc(&m.title),
        esc(&m.id)
    ));
    if let Some(p) = &m.platform {
        out.push_str(&format!("<p class=\"about\">Platform {}</p>\n", esc(p)));
    }
    if let Some(note) = &m.note {
        out.push_str(&format!("<p class=\"note\">{}</p>\n", esc(note)));
    }
    out.push_str(
        "<table class=\"manifest\">\n<thead><tr><th>Name</th><th>Version</th><th class=\"size\">Size</th><th>Date</th><th>Time</th><th>Platform</th></tr></thead>\n<tbody>\n",
    );
    let cell = |v: &Option<String>| v.as_deref().map(esc).unwrap_or_default();
    for f in &m.files {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"size\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&f.name),
            cell(&f.version),
            cell(&f.size),
            cell(&f.date),
            cell(&f.time),
            cell(&f.platform)
        ));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Writes the page to `w`: the head, then each phase as it is made, then the rest.
pub fn write(
    doc: &Doc,
    phases: impl Iterator<Item = PhaseDoc>,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>Checklist: {}</title>\n<style>{STYLE}</style>\n<style>{}</style>\n</head>\n<body>\n",
        esc(&doc.title),
        page_style(doc)
    ));

    out.push_str(&format!("<header>\n<h1>{}</h1>\n", esc(&doc.title)));
    out.push_str(&format!(
        "<p class=\"sub\">Checklist of runbook <code>{}</code></p>\n",
        esc(&doc.runbook_id)
    ));
    if let Some(run) = &doc.as_run {
        out.push_str(&format!(
            "<p class=\"sub\">As-run record of run <code>{}</code></p>\n",
            esc(run)
        ));
    }
    change_block(&mut out, doc);
    out.push_str("<dl class=\"facts\">\n");
    for (label, values) in &doc.facts {
        let values: Vec<String> = values.iter().map(|v| esc(v)).collect();
        out.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            esc(label),
            values.join("<br>")
        ));
    }
    out.push_str("</dl>\n</header>\n");

    if !doc.parameters.is_empty() {
        out.push_str(
            "<section class=\"parameters\">\n<h2>Parameters</h2>\n<table>\n<thead><tr><th>Parameter</th><th>Value</th><th>Question</th></tr></thead>\n<tbody>\n",
        );
        for p in &doc.parameters {
            let value = match &p.value {
                Some(v) => esc(v),
                None => format!("<span class=\"none\">{}</span>", esc(p.shown())),
            };
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{value}</td><td>{}</td></tr>\n",
                esc(&p.name),
                esc(&p.prompt)
            ));
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
    if !doc.roles.is_empty() {
        out.push_str(
            "<section class=\"hosts\">\n<h2>Hosts</h2>\n<table>\n<thead><tr><th>Role</th><th>Hosts</th><th>About</th></tr></thead>\n<tbody>\n",
        );
        for r in &doc.roles {
            let hosts = if r.hosts.is_empty() {
                format!("<span class=\"none\">{}</span>", esc(&r.hosts_shown()))
            } else {
                esc(&r.hosts_shown())
            };
            out.push_str(&format!(
                "<tr><td>{} (<code>{}</code>)</td><td>{hosts}</td><td>{}</td></tr>\n",
                esc(&r.title),
                esc(&r.id),
                esc(r.description.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
    if doc.open_conditions {
        out.push_str(
            "<p class=\"open\">Some phases or steps depend on parameters that are not set; they are marked &quot;only if&quot;: do them only when the condition holds.</p>\n",
        );
    }

    if !doc.prerequisites.is_empty() {
        out.push_str("<section class=\"prerequisites\">\n<h2>Prerequisites</h2>\n");
        signoff_head(&mut out, "Prerequisite");
        for p in &doc.prerequisites {
            let mut b = Tickbox {
                key: String::new(),
                label: p.text.clone(),
                note: p.note.clone(),
                tick: p.tick.clone(),
            };
            for r in &p.references {
                let line = format!("Reference: {r}");
                b.note = Some(match b.note.take() {
                    Some(n) => format!("{n} {line}"),
                    None => line,
                });
            }
            let attrs = format!(
                "id=\"prerequisite.{0}\" data-prerequisite=\"{0}\"",
                p.number
            );
            row(&mut out, "prerequisite", &attrs, &b);
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }

    for p in phases {
        phase(&mut out, &p);
        w.write_all(out.as_bytes())?;
        out.clear();
    }

    if !doc.known_issues.is_empty() {
        out.push_str("<section class=\"known-issues\">\n<h2>Known issues</h2>\n");
        for k in &doc.known_issues {
            issue(&mut out, k);
        }
        out.push_str("</section>\n");
    }
    if !doc.manifests.is_empty() {
        out.push_str("<section class=\"manifests\">\n<h2>File manifests</h2>\n");
        for m in &doc.manifests {
            manifest(&mut out, m);
        }
        out.push_str("</section>\n");
    }
    closing(&mut out, doc);
    out.push_str("</body>\n</html>\n");
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_content_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            key_attrs("s@H<1>"),
            "id=\"s@H&lt;1&gt;\" data-key=\"s@H&lt;1&gt;\""
        );
    }
}
