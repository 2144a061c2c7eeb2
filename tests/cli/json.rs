//! The JSON documents of `validate`, `list`, `status` and `log`, against `docs/json.md`.
//!
//! Each example on that page is tagged `<!-- shape: NAME -->`; the real command's output must have
//! every field the example shows, at every level, and no top-level field the example does not
//! show. So the page and the output cannot drift apart.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

use crate::common::{Stepwise, root};

/// The examples of `docs/json.md`, by shape name.
fn documented() -> BTreeMap<String, Value> {
    let text = fs::read_to_string(root().join("docs/json.md")).unwrap();
    let mut out = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<!-- shape: ") {
        rest = &rest[at + 12..];
        let name = rest[..rest.find(" -->").unwrap()].to_string();
        let start = rest.find("```json\n").unwrap() + 8;
        let end = start + rest[start..].find("```").unwrap();
        let value: Value = serde_json::from_str(&rest[start..end])
            .unwrap_or_else(|e| panic!("docs/json.md, shape {name}: {e}"));
        out.insert(name, value);
        rest = &rest[end..];
    }
    out
}

/// Every field of `doc` is in `real`, at every level; an array's documented elements each match
/// some real element (by their fields). Returns the problems.
fn fields_present(path: &str, doc: &Value, real: &Value, problems: &mut Vec<String>) {
    match (doc, real) {
        (Value::Object(d), Value::Object(r)) => {
            for (k, dv) in d {
                match r.get(k) {
                    None => problems.push(format!("{path}.{k}: documented, not in the output")),
                    Some(rv) => fields_present(&format!("{path}.{k}"), dv, rv, problems),
                }
            }
        }
        (Value::Array(d), Value::Array(r)) => {
            for (i, dv) in d.iter().enumerate() {
                let fits = r.iter().any(|rv| {
                    let mut p = Vec::new();
                    fields_present("", dv, rv, &mut p);
                    p.is_empty()
                });
                if !fits {
                    problems.push(format!(
                        "{path}[{i}]: no element of the output has its fields"
                    ));
                }
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (d, r) if std::mem::discriminant(d) != std::mem::discriminant(r) => {
            problems.push(format!("{path}: documented as {d}, output has {r}"))
        }
        _ => {}
    }
}

fn check_shape(name: &str, real: &Value) {
    let docs = documented();
    let doc = docs
        .get(name)
        .unwrap_or_else(|| panic!("docs/json.md has no shape {name}"));
    let mut problems = Vec::new();
    fields_present(name, doc, real, &mut problems);
    for k in real.as_object().unwrap().keys() {
        if doc.get(k).is_none() {
            problems.push(format!("{name}.{k}: in the output, not documented"));
        }
    }
    assert_eq!(real["format"], 1, "{name}: format");
    crate::common::assert_no_problems(&problems);
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[test]
fn every_documented_shape_is_tested() {
    let names: Vec<String> = documented().into_keys().collect();
    assert_eq!(
        names,
        ["list", "log", "status-detail", "status-list", "validate"]
    );
}

#[test]
fn validate_json_has_every_diagnostic_with_position_severity_and_code() {
    let sw = Stepwise::new().current_dir(root()).args([
        "validate",
        "--json",
        "tests/invalid/unknown-step-field.yaml",
        "hmc45-ur6",
        "nonesuch",
    ]);
    let out = sw.run();
    assert_eq!(out.code, 1);
    let doc = json_of(&out.stdout);
    check_shape("validate", &doc);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["runbooks"][1]["valid"], true);
    assert_eq!(doc["runbooks"][1]["file"], "runbooks/hmc45-ur6.yaml");
    assert_eq!(doc["runbooks"][2]["file"], Value::Null);
    assert!(
        doc["runbooks"][2]["error"]
            .as_str()
            .unwrap()
            .contains("unknown runbook `nonesuch`")
    );
    assert!(
        out.stderr.contains("unknown runbook `nonesuch`"),
        "{}",
        out.stderr
    );
}

/// The JSON of every invalid runbook of the test corpus says what its text says: the same
/// positions, severities and messages.
#[test]
fn validate_json_agrees_with_the_text_for_every_invalid_runbook() {
    let mut problems = Vec::new();
    for case in invalid_runbooks() {
        let rel = format!(
            "tests/invalid/{}",
            case.file_name().unwrap().to_string_lossy()
        );
        let out = Stepwise::new()
            .current_dir(root())
            .args(["validate", "--json", &rel])
            .run();
        assert_eq!((out.code, out.stderr.as_str()), (1, ""), "{rel}");
        let doc = json_of(&out.stdout);
        let text = fs::read_to_string(case.with_extension("stderr")).unwrap();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{rel}:")) && !l.contains(": invalid: "))
            .map(str::to_string)
            .collect();
        let diags = doc["runbooks"][0]["diagnostics"].as_array().unwrap();
        let from_json: Vec<String> = diags
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{}: {}: {}",
                    d["file"].as_str().unwrap(),
                    d["line"],
                    d["column"],
                    d["severity"].as_str().unwrap(),
                    d["message"].as_str().unwrap()
                )
            })
            .collect();
        if from_json != lines {
            problems.push(format!("{rel}: text {lines:#?}\njson {from_json:#?}"));
        }
    }
    crate::common::assert_no_problems(&problems);
}

/// The runbooks of the test corpus of invalid runbooks, `tests/invalid/*.yaml`, sorted.
fn invalid_runbooks() -> Vec<std::path::PathBuf> {
    let mut cases: Vec<_> = fs::read_dir(root().join("tests/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    cases
}

/// The codes of the table of `docs/json.md`, in its order.
fn documented_codes() -> Vec<String> {
    let text = fs::read_to_string(root().join("docs/json.md")).unwrap();
    text.lines()
        .skip_while(|l| *l != "| code | what is wrong |")
        .skip(2)
        .map_while(|l| l.strip_prefix("| `")?.split_once('`'))
        .map(|(code, _)| code.to_string())
        .collect()
}

/// The codes `docs/json.md` lists are the codes stepwise has; every diagnostic of the corpus of
/// invalid runbooks has one of them, and every one of them is given by some runbook there.
#[test]
fn every_documented_code_is_given_by_an_invalid_runbook_and_every_diagnostic_has_one() {
    let documented = documented_codes();
    let known: Vec<&str> = stepwise::runbook::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(documented, known, "the table of docs/json.md and Code::ALL");
    let out = Stepwise::new()
        .current_dir(root())
        .args(["validate", "--json"])
        .args(invalid_runbooks())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = json_of(&out.stdout);
    let mut given = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for runbook in doc["runbooks"].as_array().unwrap() {
        for d in runbook["diagnostics"].as_array().unwrap() {
            match d["code"].as_str() {
                Some(code) if documented.iter().any(|c| c == code) => {
                    given.insert(code.to_string());
                }
                code => problems.push(format!(
                    "{}: `{}` has the code {code:?}, which docs/json.md does not list",
                    runbook["file"], d["message"]
                )),
            }
        }
    }
    for code in &documented {
        if !given.contains(code) {
            problems.push(format!("no runbook under tests/invalid gives `{code}`"));
        }
    }
    crate::common::assert_no_problems(&problems);
}

#[test]
fn list_json_has_every_bundled_runbook() {
    let doc = json_of(&Stepwise::new().args(["list", "--json"]).stdout());
    check_shape("list", &doc);
    let ids: Vec<&str> = doc["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut want = crate::common::bundled_ids();
    want.sort();
    let mut got: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn status_and_log_json_of_a_real_run() {
    let sw = Stepwise::new().args([
        "run",
        "hmc45-ur6",
        "--rehearse",
        "--state-dir",
        "runs",
        "--answers",
        &root()
            .join("examples/hmc45-rehearsal.yaml")
            .display()
            .to_string(),
    ]);
    let out = sw.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = |args: &[&str]| {
        let out = Stepwise::new().current_dir(sw.dir()).args(args).stdout();
        json_of(&out)
    };
    let list = again(&["status", "--state-dir", "runs", "--json"]);
    check_shape("status-list", &list);
    let run_id = list["runs"][0]["run_id"].as_str().unwrap().to_string();
    let detail = again(&["status", "--state-dir", "runs", &run_id, "--json"]);
    check_shape("status-detail", &detail);
    assert_eq!(detail["state"], "finished");
    let log = again(&["log", "--state-dir", "runs", &run_id, "--json"]);
    check_shape("log", &log);
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.first().unwrap()["kind"], "run_started");
    assert_eq!(events.last().unwrap()["kind"], "run_finished");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert!(!e["text"].as_str().unwrap().is_empty(), "{e}");
    }
    // The timeline's sentences are the text report's, line by line.
    let text = Stepwise::new()
        .current_dir(sw.dir())
        .args(["log", "--state-dir", "runs", &run_id])
        .stdout();
    for e in events {
        assert!(text.contains(e["text"].as_str().unwrap()), "{e}");
    }
}

/// `path` as the build under test is given it: the Linux path, or for the Windows build the
/// same folder as Windows names it (`Z:\tmp\…`, Wine's drive for `/`).
fn given(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if crate::common::windows() {
        format!("Z:{}", text.replace('/', "\\"))
    } else {
        text
    }
}

/// Every string in `v`, with where it is.
fn strings<'a>(at: &str, v: &'a Value, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((at.to_string(), s)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| strings(&format!("{at}[{i}]"), v, out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, v)| strings(&format!("{at}.{k}"), v, out)),
        _ => {}
    }
}

/// The paths in the JSON documents are the folders given, whole, even past 260 characters: for
/// the Windows build with their drive and backslashes (escaped, so any JSON parser reads them
/// back), and never in the `\\?\` form the file calls use for long paths. Each names what is
/// there.
#[test]
fn json_paths_are_the_folders_given_even_past_260_characters() {
    let sw = Stepwise::new();
    let mut deep = sw.dir().to_path_buf();
    for i in 0..6 {
        deep.push(format!("{i}-{}", "deep".repeat(12)));
    }
    fs::create_dir_all(&deep).unwrap();
    let state = given(&deep.join("runs"));
    assert!(state.len() > 300, "{state}");
    let answers = given(&root().join("examples/hmc45-rehearsal.yaml"));
    // From a short folder: Windows cannot start a process in a folder past 260 characters.
    let out = Stepwise::new()
        .current_dir(sw.dir())
        .args(["run", "hmc45-ur6", "--rehearse", "--state-dir", &state])
        .args(["--answers", &answers])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = |args: &[&str]| {
        let out = Stepwise::new()
            .current_dir(sw.dir())
            .args(args)
            .args(["--state-dir", &state, "--json"])
            .stdout();
        assert!(!out.contains(r"\\\\?\\"), "a \\\\?\\ path:\n{out}");
        if crate::common::windows() {
            assert!(out.contains(r"Z:\\"), "backslashes escaped:\n{out}");
        }
        json_of(&out)
    };
    let list = again(&["status"]);
    assert_eq!(list["state_dir"], state.as_str());
    let run_id = list["runs"][0]["run_id"].as_str().unwrap().to_string();
    let sep = if crate::common::windows() { '\\' } else { '/' };
    let dir = format!("{state}{sep}{run_id}");
    assert_eq!(list["runs"][0]["dir"], dir.as_str());
    assert!(
        crate::common::local_path(&dir)
            .join("journal.jsonl")
            .is_file(),
        "{dir}"
    );
    let detail = again(&["status", &run_id]);
    assert_eq!(detail["dir"], dir.as_str());
    let log = again(&["log", &run_id]);
    let mut all = Vec::new();
    strings("status", &list, &mut all);
    strings("detail", &detail, &mut all);
    strings("log", &log, &mut all);
    let mut files = 0;
    for (at, s) in &all {
        assert!(!s.starts_with(r"\\?\"), "{at}: {s}");
        if at.ends_with(".path") {
            files += 1;
            assert!(
                crate::common::local_path(s).is_file(),
                "{at}: {s} is no file"
            );
        }
    }
    assert!(files > 0, "no file paths in the documents");
}
