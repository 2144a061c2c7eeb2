//! Checklist renderers over a plan: plain text, Markdown, and a printable HTML page.
//!
//! A checklist is the whole procedure for the parameters and hosts in force: a header, the
//! prerequisites, numbered phases and steps with one box per step instance and per item, then the
//! known issues and the file manifests. [`doc`] walks the plan once and decides what is shown;
//! [`text`], [`markdown`] and [`html`] only lay it out. Every box carries the key of the step
//! instance or item it stands for, so an as-run record ([`AsRun`]) can tick it.
//!
//! Output is deterministic: no clock, no hash-map order, no environment. A secret is never
//! shown: templates are filled for display only.

pub mod doc;
mod html;
mod markdown;
mod text;

use std::collections::BTreeMap;

use crate::plan::Plan;

pub use doc::Doc;

/// What a run did with one step instance or item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A step with items, some of which were not done.
    PartlyDone,
    Skipped,
    Failed,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::PartlyDone => "partly done",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }

    /// The word as a CSS class or data value: `done`, `partly-done`, `skipped`, `failed`.
    pub fn class(self) -> &'static str {
        match self {
            Outcome::PartlyDone => "partly-done",
            other => other.word(),
        }
    }
}

/// A note the run recorded on a box, with who wrote it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNote {
    pub text: String,
    pub who: String,
    pub when: String,
}

impl RunNote {
    /// `note by jdoe at 2011-01-20 23:14: text`.
    pub fn describe(&self) -> String {
        format!("note by {} at {}: {}", self.who, self.when, self.text)
    }
}

/// The mark a run left in one box: what happened, how (for done), who did it, when, why (a
/// skip's reason, a failure's error, the items left), and every note in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub outcome: Outcome,
    /// For done: `by automation`, `by hand`, `after a workaround`, `rehearsed, not run`.
    pub how: Option<&'static str>,
    /// The operator, as the journal names them.
    pub who: String,
    /// When, as the journal records it; shown as given.
    pub when: String,
    pub note: Option<String>,
    /// Every note recorded on the instance, in the order they were written.
    pub notes: Vec<RunNote>,
    /// The files its copy put in place, each with the SHA-256 verified on disk.
    pub files: Vec<RunFile>,
    /// Where its action ran, as the journal's `instance_started` says (`ssh 10.0.0.11:22`,
    /// `local`): for an outcome the automation gave (done by it, or failed).
    pub target: Option<String>,
}

/// A file a run's copy put in place, as its journal records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFile {
    /// Where it is.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// It was already there (an interrupted attempt had copied it).
    pub in_place: bool,
}

impl RunFile {
    /// `(1.4 MB)`, or `(1.4 MB, found in place)`: shown after the hash, before the path, so
    /// that the hashes of a step line up.
    pub fn size_note(&self) -> String {
        let size = crate::actions::fsops::human_bytes(self.bytes);
        if self.in_place {
            format!("({size}, found in place)")
        } else {
            format!("({size})")
        }
    }
}

impl Tick {
    /// `done (by hand) by jdoe at 2011-01-20 23:14` (and `: reason`).
    pub fn describe(&self) -> String {
        let mut s = self.outcome.word().to_string();
        if let Some(how) = self.how {
            s.push_str(&format!(" ({how})"));
        }
        if let Some(target) = &self.target {
            s.push_str(&format!(" on {target}"));
        }
        s.push_str(&format!(" by {} at {}", self.who, self.when));
        if let Some(note) = &self.note {
            s.push_str(": ");
            s.push_str(note);
        }
        s
    }
}

/// What a run has done, for ticking a checklist's boxes: the as-run record.
#[derive(Debug, Clone, Default)]
pub struct AsRun {
    /// Which run this is (its id or folder), named in the checklist's header.
    pub run: String,
    /// Per step instance key (`step-id`, `step-id@HOST`) or item key (`KEY#item-id`).
    pub ticks: BTreeMap<String, Tick>,
    /// The confirmation of the prerequisites at the start of the run.
    pub prerequisites: Option<Tick>,
    /// The run's summary (label, value): start, end, operators, machine, counts, hash,
    /// rehearsal or not.
    pub summary: Vec<(&'static str, String)>,
    /// What stands for the journal the record was made from: the SHA-256 of its last event,
    /// which links to every event before it (see `journal::Chain`), so a printed record can be
    /// matched to its journal.
    pub journal: Option<String>,
}

/// The change-record facts given on the command line; each one not given is printed as a blank
/// line to fill in by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub number: Option<String>,
    pub window: Option<String>,
    pub operator: Option<String>,
    pub approver: Option<String>,
}

impl Change {
    /// The change block's rows: label and value (`None`: a blank to fill in).
    pub fn rows(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("Change number", self.number.as_deref()),
            ("Planned window", self.window.as_deref()),
            ("Operator", self.operator.as_deref()),
            ("Approver", self.approver.as_deref()),
        ]
    }
}

/// What makes a checklist a change record: the runbook's content hash and the change block.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The SHA-256 of the runbook's text, as a run records it.
    pub hash: String,
    pub change: Change,
}

/// The sign-off block's roles, at the end of every checklist.
pub const SIGN_OFF: [&str; 3] = ["Implemented by", "Verified by", "Approved by"];

/// The formats a checklist is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text, for a terminal or a printer.
    Text,
    /// GitHub-flavoured Markdown, with task lists and pipe tables.
    Markdown,
    /// One self-contained, printable HTML page with sign-off columns.
    Html,
}

/// Writes the checklist to `w` as it is made, a phase at a time: the whole document of a large
/// plan is never held (a box per step instance and item, a few hundred bytes each).
pub fn write(
    format: Format,
    plan: &Plan,
    as_run: Option<&AsRun>,
    record: &Record,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let doc = Doc::build(plan, as_run, record);
    let phases = Doc::phases(plan, as_run);
    match format {
        Format::Text => text::write(&doc, phases, w),
        Format::Markdown => markdown::write(&doc, phases, w),
        Format::Html => html::write(&doc, phases, w),
    }
}

/// The whole checklist in one string.
pub fn render(format: Format, plan: &Plan, as_run: Option<&AsRun>, record: &Record) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and every part is text.
    let _ = write(format, plan, as_run, record, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The checklist as plain text, for a terminal or a printer.
pub fn text(plan: &Plan, as_run: Option<&AsRun>, record: &Record) -> String {
    render(Format::Text, plan, as_run, record)
}

/// The checklist as GitHub-flavoured Markdown, with task lists and pipe tables.
pub fn markdown(plan: &Plan, as_run: Option<&AsRun>, record: &Record) -> String {
    render(Format::Markdown, plan, as_run, record)
}

/// The checklist as one self-contained, printable HTML page with sign-off columns.
pub fn html(plan: &Plan, as_run: Option<&AsRun>, record: &Record) -> String {
    render(Format::Html, plan, as_run, record)
}

/// The as-run record of a journal: a tick per step instance and item the run finished.
/// `progress` is the journal's replay, `targets` where each instance was last dispatched.
pub fn as_run(
    run: &str,
    scan: &crate::journal::JournalScan,
    progress: &crate::journal::Progress,
    targets: &std::collections::HashMap<String, Option<String>>,
) -> AsRun {
    let journal = Some(match &scan.chain {
        crate::journal::Chain::Linked { last, .. } => format!(
            "sha256 {last} (the last of its {} events; the chain was verified)",
            scan.events
        ),
        crate::journal::Chain::Unlinked => format!(
            "{} events, not chained (recorded by a stepwise before run format 2): cannot be verified",
            scan.events
        ),
    });
    use crate::journal::{Completion, InstanceState};
    let mut record = as_run_of(run, progress);
    // Where each instance was last dispatched: named beside what its automation gave.
    for (key, tick) in record.ticks.iter_mut() {
        let automated = match progress.state(key) {
            InstanceState::Done(how) => matches!(
                how,
                Completion::Automated | Completion::Workaround | Completion::Rehearsed
            ),
            InstanceState::Failed { .. } => true,
            _ => false,
        };
        if automated {
            tick.target = targets.get(key.as_str()).cloned().flatten();
        }
    }
    AsRun { journal, ..record }
}

/// The as-run record of a run's progress alone (no journal to name).
pub fn as_run_of(run: &str, progress: &crate::journal::Progress) -> AsRun {
    use crate::journal::{InstanceState, ItemState, Stamp};
    let when = |s: &Stamp| s.time.to_rfc3339_seconds();
    let mut ticks = BTreeMap::new();
    for (key, p) in progress.instances() {
        let Some(stamp) = &p.stamp else { continue };
        let (outcome, how, note) = match &p.state {
            InstanceState::Done(how) => (Outcome::Done, Some(how.word()), None),
            InstanceState::PartlyDone { left } => (
                Outcome::PartlyDone,
                None,
                Some(format!("items left: {}", left.join(", "))),
            ),
            InstanceState::Skipped { reason } => (Outcome::Skipped, None, Some(reason.clone())),
            InstanceState::Failed { error } => (Outcome::Failed, None, Some(error.clone())),
            InstanceState::Pending | InstanceState::Started => continue,
        };
        let notes = p
            .notes
            .iter()
            .map(|n| RunNote {
                text: n.text.clone(),
                who: n.stamp.operator.clone(),
                when: when(&n.stamp),
            })
            .collect();
        let files = p
            .files
            .iter()
            .map(|f| RunFile {
                path: f.path.clone(),
                bytes: f.bytes,
                sha256: f.sha256.clone(),
                in_place: f.in_place,
            })
            .collect();
        ticks.insert(
            key.to_string(),
            Tick {
                outcome,
                how,
                who: stamp.operator.clone(),
                when: when(stamp),
                note,
                notes,
                files,
                target: None,
            },
        );
        for (item, ip) in &p.items {
            let (outcome, note) = match &ip.state {
                ItemState::Done => (Outcome::Done, None),
                ItemState::Skipped { reason } => (Outcome::Skipped, Some(reason.clone())),
            };
            ticks.insert(
                format!("{key}#{item}"),
                Tick {
                    outcome,
                    how: None,
                    who: ip.stamp.operator.clone(),
                    when: when(&ip.stamp),
                    note,
                    notes: Vec::new(),
                    files: Vec::new(),
                    target: None,
                },
            );
        }
    }
    AsRun {
        run: run.to_string(),
        ticks,
        prerequisites: progress.prerequisites.as_ref().map(|s| Tick {
            outcome: Outcome::Done,
            how: None,
            who: s.operator.clone(),
            when: when(s),
            note: None,
            notes: Vec::new(),
            files: Vec::new(),
            target: None,
        }),
        summary: Vec::new(),
        journal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Bindings;
    use crate::runbook::{Runbook, Source, load};

    const RUNBOOK: &str = r#"
id: t
title: T
article: KB1
product: P
roles:
  - { id: web, title: Web, hosts: [WEB01, WEB02] }
prerequisites: [Be ready.]
phases:
  - id: a
    title: A
    steps:
      - id: iis
        title: IIS
        on: web
        items: [Stop, { text: Start, id: go }]
      - { id: last, title: Last }
"#;

    fn runbook() -> Runbook {
        let source = Source {
            name: "t.yaml".into(),
            text: RUNBOOK.into(),
        };
        load(&source).runbook.unwrap()
    }

    fn tick(outcome: Outcome, note: Option<&str>) -> Tick {
        Tick {
            outcome,
            how: None,
            who: "jdoe".into(),
            when: "2011-01-20 23:14".into(),
            note: note.map(String::from),
            notes: Vec::new(),
            files: Vec::new(),
            target: None,
        }
    }

    fn as_run() -> AsRun {
        let mut ticks = BTreeMap::new();
        ticks.insert("iis@WEB01#stop".to_string(), tick(Outcome::Done, None));
        ticks.insert("iis@WEB01#go".to_string(), tick(Outcome::Done, None));
        ticks.insert("iis@WEB01".to_string(), tick(Outcome::Done, None));
        ticks.insert(
            "iis@WEB02".to_string(),
            tick(Outcome::Skipped, Some("decommissioned")),
        );
        ticks.insert("last".to_string(), tick(Outcome::Failed, None));
        AsRun {
            run: "run-1".into(),
            ticks,
            prerequisites: Some(tick(Outcome::Done, None)),
            summary: Vec::new(),
            journal: Some("sha256 0123 (the last of its 9 events; the chain was verified)".into()),
        }
    }

    #[test]
    fn the_as_run_record_ticks_boxes_by_key() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        let run = as_run();

        let text = text(&plan, Some(&run), &Record::default());
        assert!(text.contains("As-run record of run run-1"), "{text}");
        assert!(
            text.contains("sha256 0123 (the last of its 9 events"),
            "{text}"
        );
        assert!(text.contains("  [x] Be ready. (done by jdoe at 2011-01-20 23:14)\n"));
        assert!(text.contains("    [x] Stop (done by jdoe at 2011-01-20 23:14)\n"));
        assert!(
            text.contains("    [ ] Stop\n"),
            "WEB02's items are not ticked"
        );
        assert!(text.contains(
            "    [-] Done on WEB02 (skipped by jdoe at 2011-01-20 23:14: decommissioned)\n"
        ));
        assert!(text.contains("  [!] Done (failed by jdoe at 2011-01-20 23:14)\n"));

        let md = markdown(&plan, Some(&run), &Record::default());
        assert!(md.contains("  - [x] Stop — *done by jdoe at 2011-01-20 23:14*\n"));
        assert!(md.contains("  - [x] ~~Done on WEB02~~ — *skipped by jdoe"));
        assert!(md.contains("- [ ] Done — *failed by jdoe"));

        let html = html(&plan, Some(&run), &Record::default());
        assert!(html.contains(
            "<span class=\"box done\" id=\"iis@WEB01#go\" data-key=\"iis@WEB01#go\" data-outcome=\"done\""
        ));
        assert!(
            html.contains(
                "<td class=\"c-ini\">jdoe</td><td class=\"c-time\">2011-01-20 23:14</td>"
            )
        );
        assert!(html.contains("data-key=\"iis@WEB02\" data-outcome=\"skipped\""));
        assert!(
            html.contains(
                "<span class=\"box\" id=\"iis@WEB02#go\" data-key=\"iis@WEB02#go\"></span>"
            )
        );
    }

    #[test]
    fn a_tick_names_the_target_its_action_ran_on() {
        let mut t = tick(Outcome::Done, None);
        t.how = Some("by automation");
        t.target = Some("ssh 10.0.0.11:22".into());
        assert_eq!(
            t.describe(),
            "done (by automation) on ssh 10.0.0.11:22 by jdoe at 2011-01-20 23:14"
        );
    }

    #[test]
    fn without_a_record_every_box_is_empty() {
        let rb = runbook();
        let plan = Plan::new(&rb, &Bindings::default());
        for out in [
            text(&plan, None, &Record::default()),
            markdown(&plan, None, &Record::default()),
            html(&plan, None, &Record::default()),
        ] {
            assert!(!out.contains("As-run"));
            assert!(!out.contains("jdoe"));
        }
        assert!(!text(&plan, None, &Record::default()).contains("[x]"));
        assert!(!markdown(&plan, None, &Record::default()).contains("[x]"));
        assert!(!html(&plan, None, &Record::default()).contains("data-outcome"));
    }
}
