//! The printed checklist as a change record: the HTML of `hmc45-ur6`, blank and as run, printed
//! to PDF by headless Chromium on A4 and on Letter, then read back with `pdftotext`. Every page
//! must carry the runbook id, the article, the content hash and "Page N of M"; the change block,
//! the sign-off block and every box must be there; no word may fall off the page's right edge.
//!
//! Chromium and pdftotext (Debian packages chromium and poppler-utils, which `.ci/run` installs)
//! are required: without them the test fails saying so, unless `STEPWISE_SKIP_BROWSER=1`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{Stepwise, root, run_with_limit};

fn tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

/// Chromium and pdftotext, or `None` when they are missing and the test may be skipped.
fn tools() -> Option<(PathBuf, PathBuf)> {
    match (tool("chromium"), tool("pdftotext")) {
        (Some(c), Some(p)) => Some((c, p)),
        _ if std::env::var("STEPWISE_SKIP_BROWSER").is_ok_and(|v| v == "1") => {
            eprintln!("skipped: chromium or pdftotext is missing and STEPWISE_SKIP_BROWSER=1");
            None
        }
        _ => panic!(
            "printing the change record needs chromium and pdftotext: `apt-get install chromium \
             poppler-utils` (as .ci/run does), or set STEPWISE_SKIP_BROWSER=1 to skip this test"
        ),
    }
}

/// Prints `html` to PDF on `paper` (`A4` or `letter`, as chosen in a print dialog) and returns
/// the text of each page, and the words whose right edge passes the page's.
fn print(
    browser: &Path,
    pdftotext: &Path,
    dir: &Path,
    html: &str,
    paper: &str,
) -> (Vec<String>, Vec<String>) {
    let page = dir.join(format!("record-{paper}.html"));
    let pdf = dir.join(format!("record-{paper}.pdf"));
    let html = html.replacen(
        "</head>",
        &format!("<style>@page {{ size: {paper}; }}</style>\n</head>"),
        1,
    );
    fs::write(&page, html).unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ])
    .args([
        "--disable-background-networking",
        "--disable-component-update",
        "--no-pdf-header-footer",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()))
    .arg(format!("--print-to-pdf={}", pdf.display()))
    .arg(format!("file://{}", page.display()));
    let (ok, _, stderr) =
        run_with_limit(&mut cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ok && pdf.is_file(),
        "chromium did not print {paper}: {stderr}"
    );
    let text = Command::new(pdftotext)
        .args(["-layout".as_ref(), pdf.as_os_str(), "-".as_ref()])
        .output()
        .unwrap();
    assert!(text.status.success());
    let pages: Vec<String> = String::from_utf8(text.stdout)
        .unwrap()
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .map(str::to_string)
        .collect();
    // Every word's box against the page's width.
    let bbox = Command::new(pdftotext)
        .args(["-bbox".as_ref(), pdf.as_os_str(), "-".as_ref()])
        .output()
        .unwrap();
    let bbox = String::from_utf8_lossy(&bbox.stdout).into_owned();
    let mut width = 0.0f64;
    let mut cut = Vec::new();
    for line in bbox.lines() {
        let attr = |name: &str| -> Option<f64> {
            let at = line.find(&format!(" {name}=\""))? + name.len() + 3;
            line[at..].split('"').next()?.parse().ok()
        };
        if line.trim_start().starts_with("<page") {
            width = attr("width").unwrap_or(0.0);
        } else if line.trim_start().starts_with("<word")
            && let Some(x) = attr("xMax")
            && x > width
        {
            cut.push(line.trim().to_string());
        }
    }
    (pages, cut)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_pages(what: &str, pages: &[String], hash: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let m = pages.len();
    if m < 2 {
        problems.push(format!("{what}: only {m} page(s)"));
    }
    for (i, p) in pages.iter().enumerate() {
        let flat = squash(p);
        for want in [
            format!("Page {} of {m}", i + 1),
            "hmc45-ur6".to_string(),
            "KB979704".to_string(),
            hash[..16].to_string(),
        ] {
            if !flat.contains(&want) {
                problems.push(format!("{what}, page {}: no `{want}`", i + 1));
            }
        }
    }
    problems
}

#[test]
fn the_change_record_prints_on_a4_and_letter_with_every_page_marked() {
    let Some((browser, pdftotext)) = tools() else {
        return;
    };
    let sw = Stepwise::new();
    let hash = serde_json::from_str::<serde_json::Value>(
        &Stepwise::new().args(["list", "--json"]).stdout(),
    )
    .unwrap()["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "hmc45-ur6")
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string();

    let blank = Stepwise::new()
        .args([
            "checklist",
            "hmc45-ur6",
            "--format",
            "html",
            "--change-number",
            "CHG-2026-0042",
        ])
        .args(["--window", "2026-12-05 22:00-02:00 UTC"])
        .stdout();
    // The as-run record of a whole rehearsal.
    let answers = root().join("examples/hmc45-rehearsal.yaml");
    let out = Stepwise::new()
        .current_dir(sw.dir())
        .args([
            "run",
            "hmc45-ur6",
            "--rehearse",
            "--state-dir",
            "runs",
            "--answers",
        ])
        .arg(&answers)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = fs::read_dir(sw.dir().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| !n.starts_with('.'))
        .unwrap();
    let as_run = Stepwise::new()
        .current_dir(sw.dir())
        .env("STEPWISE_STATE_DIR", "runs")
        .args([
            "checklist",
            "hmc45-ur6",
            "--format",
            "html",
            "--run",
            &run_id,
            "--approver",
            "J. Approver",
        ])
        .stdout();
    let ticked = as_run.matches("data-outcome=\"done\"").count();
    assert!(ticked > 30, "only {ticked} ticked boxes");
    assert_eq!(
        ticked,
        as_run.matches("class=\"box ").count(),
        "a box is not ticked done"
    );

    let mut problems = Vec::new();
    for paper in ["A4", "letter"] {
        for (what, html) in [("checklist", &blank), ("as-run record", &as_run)] {
            let what = format!("{what} on {paper}");
            let (pages, cut) = print(&browser, &pdftotext, sw.dir(), html, paper);
            problems.extend(check_pages(&what, &pages, &hash));
            for c in cut.iter().take(5) {
                problems.push(format!("{what}: a word past the right edge: {c}"));
            }
            let all = squash(&pages.join("\n"));
            for want in [
                "Change record",
                "Change number",
                "Planned window",
                "Operator",
                "Approver",
                "Sign-off",
                "Implemented by",
                "Verified by",
                "Approved by",
                "Appendix: how the article was read",
            ] {
                if !all.contains(want) {
                    problems.push(format!("{what}: no `{want}`"));
                }
            }
            // The change block comes first, the sign-off block after the last step.
            let (change, sign) = (all.find("Change record"), all.find("Implemented by"));
            if !(change < all.find("Prerequisites") && sign > all.find("File manifests")) {
                problems.push(format!(
                    "{what}: the change block or the sign-off block is out of place"
                ));
            }
            if html == &blank {
                for want in ["CHG-2026-0042", "2026-12-05 22:00-02:00 UTC"] {
                    if !all.contains(want) {
                        problems.push(format!("{what}: no `{want}`"));
                    }
                }
            } else {
                for want in [
                    "Run summary",
                    "J. Approver",
                    &run_id,
                    "Rehearsal yes",
                    "Outcomes",
                ] {
                    if !all.contains(want) {
                        problems.push(format!("{what}: no `{want}`"));
                    }
                }
                let marks = all.matches('\u{2713}').count();
                if marks != ticked {
                    problems.push(format!(
                        "{what}: {marks} ticks printed, {ticked} boxes ticked"
                    ));
                }
            }
        }
    }
    crate::common::assert_no_problems(&problems);
}

/// The back-out section of the format reference's example, in every format; the author's notes
/// are in the appendix, not in the header.
#[test]
fn back_out_sign_off_and_appendix_in_every_format() {
    let doc = fs::read_to_string(root().join("docs/runbook-format.md")).unwrap();
    let start = doc.find("# example: a back-out section").unwrap();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let sw = Stepwise::new();
    let path = sw.file("backout.yaml", example);
    for (format, heading) in [
        ("text", "BACK-OUT"),
        ("md", "## Back-out"),
        ("html", "<h2>Back-out</h2>"),
    ] {
        let out = Stepwise::new()
            .args([
                "checklist".as_ref(),
                path.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
            ])
            .stdout();
        for want in [
            heading,
            "If the update must be removed",
            "Restart the provisioning service on every server",
            "Implemented by",
            "Approved by",
        ] {
            assert!(out.contains(want), "{format}: no `{want}`:\n{out}");
        }
        assert!(
            out.find(heading) < out.find("Implemented by"),
            "{format}: back-out after sign-off"
        );
    }
    let md = Stepwise::new()
        .args(["checklist", "hmc45-ur6", "--format", "md"])
        .stdout();
    let appendix = md
        .find("## Appendix: how the article was read")
        .expect("an appendix");
    let first_note = "Encoded from revision";
    assert!(
        md.find(first_note).unwrap() > appendix,
        "a note is above the appendix"
    );
    assert!(
        !md.contains("- **Notes:**"),
        "the notes are still in the header"
    );
}
