//! `stepwise checklist`, through the real executable: whole outputs of every bundled runbook in
//! the three formats, the HTML page in a real browser, the Markdown through a CommonMark parser,
//! writing to a file, and the errors of a bad `--set`.
//!
//! The expected box keys are computed from the plan through the library, never from a
//! renderer's output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::common::{Stepwise, assert_no_problems, bundled_ids, check_snapshot, root};
use stepwise::plan::{Bindings, Plan};
use stepwise::runbook::{self, Action, Runbook, Source, Step, bundled};

/// Extra parameter values per bundled runbook, each a snapshot of its own: `(id, label, sets)`.
const VARIANTS: &[(&str, &str, &[&str])] = &[
    ("hmc45-ur6", "ur5", &["ur5_installed=true"]),
    (
        "hmc45-ur6",
        "no-ur5-upgraded",
        &["ur5_installed=false", "upgraded_from_hmc40=true"],
    ),
    (
        "hmc40-rollup-2011",
        "near-oab-limit",
        &["near_oab_limit=true"],
    ),
    (
        "ocs2007-kb961569",
        "package-dir",
        &[r"package_dir=D:\staging"],
    ),
    (
        "exchange2007-ur1",
        "interim-seen-before",
        &["interim_updates_installed=true", "issue1_seen_before=true"],
    ),
];

const FORMATS: &[(&str, &str)] = &[("text", "txt"), ("md", "md"), ("html", "html")];

/// One checklist to make: a runbook with parameter values and maybe an inventory.
#[derive(Debug, Clone)]
struct Case {
    /// The snapshot's name without the extension.
    name: String,
    /// The RUNBOOK argument: a bundled id or a path.
    runbook: String,
    sets: Vec<String>,
    inventory: Option<PathBuf>,
    /// Whether the browser test also takes a screenshot and a PDF of it.
    pictures: bool,
}

impl Case {
    fn bundled(id: &str) -> Case {
        Case {
            name: id.to_string(),
            runbook: id.to_string(),
            sets: Vec::new(),
            inventory: None,
            pictures: true,
        }
    }

    fn args(&self, format: &str) -> Vec<String> {
        let mut args = vec![
            "checklist".to_string(),
            self.runbook.clone(),
            "--format".to_string(),
            format.to_string(),
        ];
        for s in &self.sets {
            args.push("--set".to_string());
            args.push(s.clone());
        }
        if let Some(inv) = &self.inventory {
            args.push("--inventory".to_string());
            args.push(inv.display().to_string());
        }
        args
    }

    fn output(&self, format: &str) -> String {
        Stepwise::new().args(self.args(format)).stdout()
    }

    /// The runbook, loaded through the library.
    fn runbook(&self) -> Runbook {
        let source = if self.runbook.ends_with(".yaml") {
            Source {
                name: self.runbook.clone(),
                text: fs::read_to_string(&self.runbook).expect("fixture is readable"),
            }
        } else {
            bundled::get(&self.runbook).expect("a bundled runbook")
        };
        runbook::load(&source).runbook.expect("a valid runbook")
    }

    fn bindings(&self, rb: &Runbook) -> Bindings {
        let mut b = Bindings::default();
        for s in &self.sets {
            let (name, value) = s.split_once('=').expect("NAME=VALUE");
            let param = rb.parameter(name).expect("a declared parameter");
            b.values
                .insert(name.to_string(), param.parse_value(value).expect("a value"));
        }
        if let Some(inv) = &self.inventory {
            b.hosts = stepwise::input::read_inventory(rb, inv).expect("a valid inventory");
        }
        b
    }

    /// What the boxes must be: every step instance key and item key of the plan, and the number
    /// of prerequisites.
    /// The plan's keys, then the boxes without a key: one per prerequisite, and the write-in
    /// boxes of the steps whose role has no hosts.
    fn expected_boxes(&self) -> (BTreeSet<String>, usize, usize) {
        let rb = self.runbook();
        let plan = Plan::new(&rb, &self.bindings(&rb));
        let mut keys = BTreeSet::new();
        for instance in &plan.instances {
            keys.insert(instance.key.clone());
            for item in &plan.step_of(instance).step.items {
                keys.insert(instance.item_key(&item.id));
            }
        }
        // A step whose role has no hosts gets write-in boxes instead of one per host.
        let write_in = plan
            .phases
            .iter()
            .flat_map(|p| &p.steps)
            .filter(|s| s.step.on.is_some() && s.instances.is_empty())
            .count()
            * 3;
        (keys, rb.prerequisites.len(), write_in)
    }
}

fn fixture(name: &str) -> String {
    root()
        .join("tests")
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Every checklist the snapshots cover: each bundled runbook without values, the variants, one
/// with an inventory, and the fixture that uses every field.
fn cases() -> Vec<Case> {
    let ids = bundled_ids();
    let mut cases: Vec<Case> = ids.iter().map(|id| Case::bundled(id)).collect();
    for (id, label, sets) in VARIANTS {
        if ids.iter().any(|i| i == id) {
            cases.push(Case {
                name: format!("{id}.{label}"),
                sets: sets.iter().map(|s| s.to_string()).collect(),
                pictures: false,
                ..Case::bundled(id)
            });
        }
    }
    if ids.iter().any(|i| i == "hmc45-ur6") {
        cases.push(Case {
            name: "hmc45-ur6.inventory".to_string(),
            inventory: Some(PathBuf::from(fixture("hmc45-ur6-inventory.yaml"))),
            pictures: false,
            ..Case::bundled("hmc45-ur6")
        });
    }
    let everything = Case {
        name: "everything".to_string(),
        runbook: fixture("everything.yaml"),
        sets: Vec::new(),
        inventory: None,
        pictures: true,
    };
    cases.push(Case {
        name: "everything.set".to_string(),
        sets: [
            "ur5_installed=false",
            "edition=enterprise",
            "front_ends=FE07, FE08",
            "sa_password=hunter2",
            r"package_dir=D:\pkg",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        pictures: false,
        ..everything.clone()
    });
    cases.push(everything);
    cases
}

fn snapshots(format: &str, ext: &str) {
    let mut problems = Vec::new();
    for case in cases() {
        let out = case.output(format);
        if let Err(p) = check_snapshot(&format!("{}.{ext}", case.name), &out) {
            problems.push(p);
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn text_checklists_match_their_snapshots() {
    snapshots("text", "txt");
}

#[test]
fn markdown_checklists_match_their_snapshots() {
    snapshots("md", "md");
}

#[test]
fn html_checklists_match_their_snapshots() {
    snapshots("html", "html");
}

/// The snapshots iterate over `runbooks/*.yaml`; that must be what the binary bundles.
#[test]
fn the_cases_cover_every_bundled_runbook() {
    let listed: Vec<String> = Stepwise::new()
        .arg("list")
        .stdout()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert_eq!(listed, bundled_ids());
    assert!(!listed.is_empty());
    let names: BTreeSet<String> = cases().into_iter().map(|c| c.name).collect();
    for id in &listed {
        assert!(names.contains(id), "no snapshot case for {id}");
    }
}

#[test]
fn no_snapshot_is_left_over() {
    let wanted: BTreeSet<String> = cases()
        .iter()
        .flat_map(|c| {
            FORMATS
                .iter()
                .map(move |(_, ext)| format!("{}.{ext}", c.name))
        })
        .collect();
    let Ok(entries) = fs::read_dir(common::snapshot_dir()) else {
        assert!(common::blessing(), "tests/snapshots/ is missing");
        return;
    };
    let mut stale = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || wanted.contains(&name) {
            continue;
        }
        if common::blessing() {
            fs::remove_file(entry.path()).expect("remove a stale snapshot");
        } else {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "snapshots that no case makes (STEPWISE_BLESS=1 removes them): {stale:?}"
    );
}

#[test]
fn output_is_the_same_every_time() {
    let case = Case::bundled("hmc45-ur6");
    for (format, _) in FORMATS {
        assert_eq!(case.output(format), case.output(format), "{format}");
    }
}

#[test]
fn open_conditions_show_as_only_if() {
    let open = Case::bundled("hmc45-ur6").output("text");
    assert!(open.contains("Do this phase only if not ur5_installed\n"));
    assert!(open.contains("Do this step only if not ur5_installed\n"));
    assert!(open.contains("Do this phase only if not ur5_installed and upgraded_from_hmc40\n"));
    assert!(open.contains("  ur5_installed = (not set: asked at run time)\n"));

    let ur5 = Case {
        sets: vec!["ur5_installed=true".into()],
        ..Case::bundled("hmc45-ur6")
    };
    for format in ["text", "md", "html"] {
        let out = ur5.output(format);
        assert!(!out.contains("only if not"), "{format}");
        // The role descriptions still name PROV01's web site; its steps are left out.
        assert!(
            !out.contains("replace-rpchttpconfigtool"),
            "{format}: phase 5 is left out"
        );
    }

    let not_ur5 = Case {
        sets: vec!["ur5_installed=false".into()],
        ..Case::bundled("hmc45-ur6")
    }
    .output("md");
    assert!(not_ur5.contains("## Phase 5. PROV01"));
    assert!(not_ur5.contains("*Do this phase only if upgraded_from_hmc40.*"));
}

/// A step whose role has no hosts (the final IIS restart of hmc40-rollup-2011) still has boxes:
/// three to write a host in, in every format.
#[test]
fn a_role_without_hosts_gets_boxes_to_write_hosts_in() {
    let case = Case::bundled("hmc40-rollup-2011");
    let blank = "[ ] ____________________\n";
    assert!(case.output("text").contains(&format!(
        "(no hosts given for role web_services: write in each host you do it on)\n       {blank}       {blank}       {blank}"
    )));
    assert!(case.output("md").contains(&format!(
        "\n*no hosts given for role web_services: write in each host you do it on.*\n\n- {blank}- {blank}- {blank}"
    )));
    let html = case.output("html");
    let at = html
        .find("<p class=\"none\">no hosts given for role web_services: write in each host you do it on.</p>")
        .expect("the no-hosts line");
    assert_eq!(html[at..].matches("<tr class=\"write-in\">").count(), 3);
}

#[test]
fn secrets_are_never_shown() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "everything.set")
        .unwrap();
    for (format, _) in FORMATS {
        let out = case.output(format);
        assert!(!out.contains("hunter2"), "{format} shows the secret");
        assert!(out.contains("********"), "{format}");
    }
}

/// The lines of every `write_file` content of a runbook: shown exactly, never wrapped.
fn verbatim_lines(rb: &Runbook) -> BTreeSet<String> {
    let steps: Vec<&Step> = rb
        .steps()
        .map(|(_, s)| s)
        .chain(rb.known_issues.iter().flat_map(|k| k.steps.iter()))
        .collect();
    let mut lines = BTreeSet::new();
    for step in steps {
        for action in [Some(&step.action), step.automation.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Action::WriteFile(w) = action {
                lines.extend(w.content.source().lines().map(|l| l.trim().to_string()));
            }
        }
    }
    lines
}

#[test]
fn text_fits_in_100_columns() {
    let mut problems = Vec::new();
    for case in cases() {
        let verbatim = verbatim_lines(&case.runbook());
        for (i, line) in case.output("text").lines().enumerate() {
            let content = line.trim();
            let one_word = !content.contains(' ');
            if line.chars().count() > 100 && !one_word && !verbatim.contains(content) {
                problems.push(format!("{} line {}: {line}", case.name, i + 1));
            }
            if line.ends_with(' ') && !verbatim.contains(content) {
                problems.push(format!("{} line {}: trailing space", case.name, i + 1));
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn text_has_a_box_per_instance_and_item() {
    for case in cases() {
        let (keys, prerequisites, write_in) = case.expected_boxes();
        let prerequisites = prerequisites + write_in;
        let out = case.output("text");
        let boxes = out
            .lines()
            .filter(|l| l.trim_start().starts_with("[ ] "))
            .count();
        assert_eq!(boxes, keys.len() + prerequisites, "{}", case.name);
    }
}

#[test]
fn markdown_parses_as_github_markdown() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let mut problems = Vec::new();
    for case in cases() {
        let (keys, prerequisites, write_in) = case.expected_boxes();
        let prerequisites = prerequisites + write_in;
        let rb = case.runbook();
        let md = case.output("md");
        let mut tasks = 0;
        let mut tables = 0;
        let mut text = String::new();
        for event in Parser::new_ext(&md, options) {
            match event {
                Event::TaskListMarker(false) => tasks += 1,
                Event::TaskListMarker(true) => {
                    problems.push(format!("{}: a ticked box", case.name))
                }
                Event::Start(Tag::Table(_)) => tables += 1,
                Event::Html(h) | Event::InlineHtml(h) => {
                    problems.push(format!("{}: raw HTML {h:?} (not escaped)", case.name))
                }
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                _ => {}
            }
        }
        if tasks != keys.len() + prerequisites {
            problems.push(format!(
                "{}: {tasks} task-list items, expected {} boxes and {prerequisites} prerequisites",
                case.name,
                keys.len()
            ));
        }
        // Parameters, hosts, each manifest, and the change block and sign-off block.
        let want_tables = usize::from(!rb.parameters.is_empty())
            + usize::from(!rb.roles.is_empty())
            + rb.manifests.len()
            + 2;
        if tables != want_tables {
            problems.push(format!(
                "{}: {tables} tables, expected {want_tables}",
                case.name
            ));
        }
        // Every manifest row survives parsing whole: escaped names come out as written.
        for file in rb.manifests.iter().flat_map(|m| &m.files) {
            if !text.contains(&file.name) {
                problems.push(format!("{}: manifest file {} lost", case.name, file.name));
            }
        }
        if !text.contains(&rb.title) {
            problems.push(format!(
                "{}: the title does not come out as written",
                case.name
            ));
        }
    }
    assert_no_problems(&problems);
}

/// The values of every `attr="…"` in a page, unescaped.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let end = rest.find('"').expect("a closed attribute");
        out.push(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Checks that every element is closed in order (void elements aside); returns the problem.
fn tags_balance(html: &str) -> Result<(), String> {
    const VOID: &[&str] = &["meta", "br", "link", "img", "hr", "input"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('!') {
            continue;
        }
        let end = rest.find('>').ok_or("an unclosed tag")?;
        let tag = &rest[..end];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &rest[end + 1..];
        if closing {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if !VOID.contains(&name.as_str()) {
            if name == "style" {
                let close = rest.find("</style>").ok_or("an unclosed <style>")?;
                rest = &rest[close + "</style>".len()..];
                continue;
            }
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

#[test]
fn html_is_one_self_contained_printable_page() {
    let mut problems = Vec::new();
    for case in cases() {
        let html = case.output("html");
        let name = &case.name;
        let (keys, prerequisites, write_in) = case.expected_boxes();
        let prerequisites = prerequisites + write_in;
        for needle in [
            "<!DOCTYPE html>",
            "<meta charset=\"utf-8\">",
            "@media print",
            "break-inside: avoid",
        ] {
            if !html.contains(needle) {
                problems.push(format!("{name}: no {needle}"));
            }
        }
        for banned in [
            "<script",
            " src=",
            "<link",
            "@import",
            "url(",
            "href=\"http",
        ] {
            if html.contains(banned) {
                problems.push(format!("{name}: has {banned}"));
            }
        }
        if let Err(e) = tags_balance(&html) {
            problems.push(format!("{name}: {e}"));
        }
        let ids = attribute_values(&html, "id");
        let unique: BTreeSet<&String> = ids.iter().collect();
        if unique.len() != ids.len() {
            problems.push(format!("{name}: an id is used twice"));
        }
        let found: Vec<String> = attribute_values(&html, "data-key");
        let found_set: BTreeSet<String> = found.iter().cloned().collect();
        if found_set != keys || found.len() != keys.len() {
            problems.push(format!(
                "{name}: data-key values differ from the plan's keys\nmissing: {:?}\nextra: {:?}",
                keys.difference(&found_set).collect::<Vec<_>>(),
                found_set.difference(&keys).collect::<Vec<_>>()
            ));
        }
        // Sign-off columns beside every box.
        let signoffs = html.matches("<td class=\"c-ini\">").count();
        if signoffs != keys.len() + prerequisites {
            problems.push(format!(
                "{name}: {signoffs} initials cells for {} boxes",
                keys.len() + prerequisites
            ));
        }
    }
    assert_no_problems(&problems);
}

fn find_chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("chromium"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/bin/chromium");
        p.is_file().then_some(p)
    })
}

fn chromium(browser: &Path, profile: &Path, extra: &[String], page: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()));
    cmd
}

#[test]
fn html_renders_every_box_in_chromium() {
    let Some(browser) = find_chromium() else {
        if std::env::var("STEPWISE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            eprintln!("skipped: Chromium is not installed and STEPWISE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "Chromium is not installed: install it with `apt-get update && apt-get install -y \
             chromium` (Debian package chromium), or set STEPWISE_SKIP_BROWSER=1 to skip this test"
        );
    };
    let work = tempfile::tempdir().unwrap();
    let pictures = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("checklist-pictures");
    fs::create_dir_all(&pictures).unwrap();
    let jobs = Mutex::new(cases());
    let problems = Mutex::new(Vec::new());

    // One browser run per page: the DOM as rendered, and for some pages a screenshot and a PDF
    // as printed, kept for a person to look at.
    let worker = || {
        loop {
            let Some(case) = jobs.lock().unwrap().pop() else {
                return;
            };
            let report = |p: String| problems.lock().unwrap().push(format!("{}: {p}", case.name));
            let page = work.path().join(format!("{}.html", case.name));
            fs::write(&page, case.output("html")).unwrap();
            let png = pictures.join(format!("{}.png", case.name));
            let pdf = pictures.join(format!("{}.pdf", case.name));
            let mut extra = vec!["--dump-dom".to_string()];
            if case.pictures {
                extra.extend([
                    "--window-size=1000,1400".to_string(),
                    format!("--screenshot={}", png.display()),
                    "--no-pdf-header-footer".to_string(),
                    format!("--print-to-pdf={}", pdf.display()),
                ]);
            }
            let profile = tempfile::tempdir().unwrap();
            let mut cmd = chromium(&browser, profile.path(), &extra, &page);
            let dom = match common::run_with_limit(&mut cmd, Duration::from_secs(120)) {
                Err(e) => {
                    report(e);
                    continue;
                }
                Ok((false, _, err)) => {
                    report(format!("chromium failed: {err}"));
                    continue;
                }
                Ok((true, dom, _)) => dom,
            };
            let (keys, prerequisites, _) = case.expected_boxes();
            let found = attribute_values(&dom, "data-key");
            let found_set: BTreeSet<String> = found.iter().cloned().collect();
            if found_set != keys || found.len() != keys.len() {
                report(format!(
                    "the rendered boxes differ from the plan's keys\nmissing: {:?}\nextra: {:?}",
                    keys.difference(&found_set).collect::<Vec<_>>(),
                    found_set.difference(&keys).collect::<Vec<_>>()
                ));
            }
            let prereqs = attribute_values(&dom, "data-prerequisite").len();
            if prereqs != prerequisites {
                report(format!(
                    "{prereqs} prerequisite boxes, expected {prerequisites}"
                ));
            }
            if !dom.contains("</html>") {
                report("the dumped DOM is incomplete".into());
            }
            if case.pictures {
                match fs::read(&png) {
                    Ok(b) if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 10_000 => {}
                    _ => report(format!("no screenshot in {}", png.display())),
                }
                match fs::read(&pdf) {
                    Ok(b) if b.starts_with(b"%PDF-") => {}
                    _ => report(format!("no PDF in {}", pdf.display())),
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(worker);
        }
    });
    assert_no_problems(&problems.into_inner().unwrap());
    eprintln!("screenshots and PDFs: {}", pictures.display());
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn output_file_is_written_atomically() {
    let sw = Stepwise::new().args([
        "checklist",
        "hmc45-ur6",
        "--format",
        "html",
        "-o",
        "out/checklist.html",
    ]);
    fs::create_dir(sw.dir().join("out")).unwrap();
    let out = sw.run();
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let written = fs::read_to_string(sw.dir().join("out/checklist.html")).unwrap();
    assert_eq!(written, Case::bundled("hmc45-ur6").output("html"));
    assert_eq!(
        files_in(&sw.dir().join("out")),
        ["checklist.html"],
        "no temporary file is left"
    );
}

#[test]
fn output_file_replaces_an_existing_one() {
    let sw = Stepwise::new().args(["checklist", "ocs2007-kb961569", "-o", "checklist.txt"]);
    sw.file("checklist.txt", "an older checklist\n");
    let out = sw.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let written = fs::read_to_string(sw.dir().join("checklist.txt")).unwrap();
    assert_eq!(written, Case::bundled("ocs2007-kb961569").output("text"));
    assert_eq!(files_in(sw.dir()), ["checklist.txt"]);
}

#[test]
fn output_into_a_missing_folder_fails_and_leaves_nothing() {
    let sw = Stepwise::new().args(["checklist", "hmc45-ur6", "-o", "missing/checklist.txt"]);
    let out = sw.run();
    let path = sw.dir().join("missing/checklist.txt");
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "stepwise: cannot write missing/checklist.txt: no such file or folder\n"
    );
    assert!(!path.exists());
    assert!(files_in(sw.dir()).is_empty());
}

/// A bad `--set`: exit code 2, this exact message, no output, and no file written.
fn bad_set(runbook: &str, set: &str, message: &str) {
    let sw = Stepwise::new().args(["checklist", runbook, "--set", set, "-o", "checklist.txt"]);
    let out = sw.run();
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (2, "", format!("stepwise: {message}\n").as_str()),
        "--set {set}"
    );
    assert!(files_in(sw.dir()).is_empty(), "nothing is written");
}

#[test]
fn set_of_an_unknown_parameter_is_a_usage_error() {
    bad_set(
        "hmc45-ur6",
        "ur5_instaled=true",
        "--set ur5_instaled=true: runbook `hmc45-ur6` has no parameter `ur5_instaled`; did you mean `ur5_installed`?",
    );
    bad_set(
        "hmc45-ur6",
        "nothing_like_it=1",
        "--set nothing_like_it=1: runbook `hmc45-ur6` has no parameter `nothing_like_it`",
    );
}

#[test]
fn set_of_a_value_of_the_wrong_type_is_a_usage_error() {
    bad_set(
        "hmc45-ur6",
        "ur5_installed=maybe",
        "--set ur5_installed=maybe: parameter `ur5_installed` is a bool: expected true or false, got `maybe`",
    );
    let everything = fixture("everything.yaml");
    bad_set(
        &everything,
        "edition=premium",
        "--set edition=premium: parameter `edition` must be one of standard, enterprise, got `premium`",
    );
    bad_set(
        &everything,
        "front_ends=,",
        "--set front_ends=,: parameter `front_ends` is a host list: expected host names separated by commas",
    );
    bad_set(
        &everything,
        "package_dir=",
        "--set package_dir=: parameter `package_dir` must not be empty",
    );
}

#[test]
fn set_without_a_value_is_a_usage_error() {
    bad_set(
        "hmc45-ur6",
        "ur5_installed",
        "--set ur5_installed: expected NAME=VALUE",
    );
}

#[test]
fn boxes_follow_the_inventory() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "hmc45-ur6.inventory")
        .unwrap();
    let html = case.output("html");
    let keys: BTreeMap<String, ()> = attribute_values(&html, "data-key")
        .into_iter()
        .map(|k| (k, ()))
        .collect();
    for key in [
        "restart-iis@WEB03",
        "disable-provisioning-engine@MPS02",
        "pwdb40ssis@OMSQL01#second-run",
    ] {
        assert!(keys.contains_key(key), "{key}");
    }
    assert!(!keys.contains_key("restart-iis@PROV01"));
}

#[test]
fn output_dash_is_standard_output() {
    let sw = Stepwise::new().args(["checklist", "hmc45-ur6", "--format", "md", "-o", "-"]);
    let out = sw.stdout();
    assert_eq!(out, Case::bundled("hmc45-ur6").output("md"));
    assert!(files_in(sw.dir()).is_empty(), "no file named `-` is made");
}

/// The summary's paragraphs and its `- ` lines, and each note, are blocks and items of their own
/// in Markdown, never run together on one line.
#[test]
fn markdown_summary_and_notes_keep_their_lines() {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let case = Case::bundled("hmc45-ur6");
    let rb = case.runbook();
    let md = case.output("md");
    assert!(!md.contains(":; "), "values joined with `;`:\n{md}");
    // Every text of the header's lists, as parsed: one per paragraph or list item.
    let mut blocks: Vec<String> = Vec::new();
    let mut current = String::new();
    for event in Parser::new(&md) {
        match event {
            Event::Start(Tag::Paragraph | Tag::Item) => current.clear(),
            Event::End(TagEnd::Paragraph | TagEnd::Item) if !current.is_empty() => {
                blocks.push(std::mem::take(&mut current))
            }
            Event::Text(t) | Event::Code(t) => current.push_str(&t),
            Event::SoftBreak => current.push(' '),
            _ => {}
        }
    }
    let summary = rb.summary.as_deref().unwrap();
    for line in summary.lines().filter_map(|l| l.trim().strip_prefix("- ")) {
        assert!(
            blocks.iter().any(|b| b.starts_with(line.trim())),
            "summary line `{line}` is not an item of its own"
        );
    }
    for note in &rb.notes {
        let first = note.lines().next().unwrap().trim();
        assert!(
            blocks.iter().any(|b| b.starts_with(first)),
            "note `{first}` does not start a block of its own"
        );
    }
}
