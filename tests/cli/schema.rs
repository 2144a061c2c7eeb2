//! `stepwise schema` and `stepwise new`, checked with a real JSON Schema validator (the
//! `jsonschema` crate): every bundled runbook, every example of the format reference and a
//! scaffold validate against the runbook schema; a misspelt field does not. The answers and
//! inventory schemas likewise take the files the tests and examples use.

use std::fs;

use serde_json::Value;

use crate::common::{Stepwise, bundled_ids, root};

fn schema(of: &str) -> jsonschema::Validator {
    let text = Stepwise::new().args(["schema", of]).stdout();
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).expect("the schema is a valid JSON Schema");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// A YAML text as the JSON value an editor's YAML extension checks.
fn yaml(text: &str) -> Value {
    let v: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    serde_json::to_value(v).expect("YAML that maps to JSON")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The `# example` YAML blocks of a Markdown page.
fn examples(page: &str) -> Vec<String> {
    let doc = fs::read_to_string(root().join(page)).unwrap();
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for line in doc.lines() {
        match (&mut block, line.trim()) {
            (None, "```yaml") => block = Some(String::new()),
            (Some(b), "```") => {
                if b.starts_with("# example") {
                    out.push(b.clone());
                }
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn bundled_runbooks_docs_examples_and_a_scaffold_fit_the_schema() {
    let v = schema("runbook");
    let mut problems = Vec::new();
    for id in bundled_ids() {
        let text = fs::read_to_string(root().join(format!("runbooks/{id}.yaml"))).unwrap();
        for e in errors(&v, &yaml(&text)) {
            problems.push(format!("runbooks/{id}.yaml: {e}"));
        }
    }
    let docs = examples("docs/runbook-format.md");
    assert!(docs.len() >= 6, "only {} examples", docs.len());
    for (i, text) in docs.iter().enumerate() {
        for e in errors(&v, &yaml(text)) {
            problems.push(format!("docs/runbook-format.md example {}: {e}", i + 1));
        }
    }
    let sw = Stepwise::new().args(["new", "kb123456-rollup.yaml"]);
    sw.stdout();
    let scaffold = fs::read_to_string(sw.dir().join("kb123456-rollup.yaml")).unwrap();
    for e in errors(&v, &yaml(&scaffold)) {
        problems.push(format!("the scaffold: {e}"));
    }
    crate::common::assert_no_problems(&problems);
}

#[test]
fn a_misspelt_field_fails_the_schema_as_it_fails_validate() {
    let v = schema("runbook");
    let sw = Stepwise::new().args(["new", "typo.yaml"]);
    sw.stdout();
    let good = fs::read_to_string(sw.dir().join("typo.yaml")).unwrap();
    for (from, to) in [
        ("        instructions: |", "        instructons: |"),
        ("    type: path", "    type: folder"),
        ("id: typo", "id: Typo"),
        ("    hosts: [APP01]", "    hosts: APP01"),
    ] {
        assert!(good.contains(from), "{from}");
        let bad = good.replace(from, to);
        assert!(
            !errors(&v, &yaml(&bad)).is_empty(),
            "the schema takes `{to}`"
        );
        let path = sw.file("bad.yaml", &bad);
        let out = Stepwise::new()
            .args(["validate".as_ref(), path.as_os_str()])
            .run();
        assert_eq!(out.code, 1, "validate takes `{to}`");
    }
}

#[test]
fn every_field_has_the_format_references_words() {
    let text = Stepwise::new().arg("schema").stdout();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let reference = fs::read_to_string(root().join("docs/runbook-format.md")).unwrap();
    let mut problems = Vec::new();
    for (name, def) in schema["$defs"].as_object().unwrap() {
        for (field, spec) in def["properties"].as_object().unwrap() {
            let doc = spec["description"].as_str().unwrap_or("");
            if doc.is_empty() || !reference.contains(&format!("| `{field}` |")) {
                problems.push(format!("{name}.{field}: no row in docs/runbook-format.md"));
            } else if !reference.contains(doc) {
                problems.push(format!(
                    "{name}.{field}: `{doc}` is not the reference's wording"
                ));
            }
        }
    }
    crate::common::assert_no_problems(&problems);
}

#[test]
fn answers_files_and_inventories_fit_their_schemas() {
    let answers = schema("answers");
    let mut problems = Vec::new();
    let mut files = vec![root().join("examples/hmc45-rehearsal.yaml")];
    files.extend(
        examples("docs/operator-guide.md")
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let path = std::env::temp_dir().join(format!("stepwise-answers-example-{i}.yaml"));
                fs::write(&path, text).unwrap();
                path
            }),
    );
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        for e in errors(&answers, &yaml(&text)) {
            problems.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(
        !errors(&answers, &yaml("defualt: done\n")).is_empty(),
        "a misspelt key fits the answers schema"
    );
    assert!(!errors(&answers, &yaml("default: maybe\n")).is_empty());
    let inventory = schema("inventory");
    let text = fs::read_to_string(root().join("tests/fixtures/hmc45-ur6-inventory.yaml")).unwrap();
    for e in errors(&inventory, &yaml(&text)) {
        problems.push(format!("the inventory fixture: {e}"));
    }
    assert!(!errors(&inventory, &yaml("web: WEB01\n")).is_empty());
    // Every inventory example of docs/inventory.md, both shapes, fits the schema.
    let doc = fs::read_to_string(root().join("docs/inventory.md")).unwrap();
    let mut examples = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        if block.starts_with("# inventory example") {
            examples += 1;
            for e in errors(&inventory, &yaml(block)) {
                problems.push(format!("docs/inventory.md example {examples}: {e}"));
            }
        }
    }
    assert!(
        examples >= 2,
        "docs/inventory.md has {examples} inventory examples"
    );
    let misspelt = "roles: { web: [WEB01] }\nhosts:\n  WEB01: { target: ssh, adress: 10.0.0.11 }\n";
    assert!(
        !errors(&inventory, &yaml(misspelt)).is_empty(),
        "a misspelt host field fits the inventory schema"
    );
    let bad_target = "hosts:\n  WEB01: { target: winrm }\n";
    assert!(!errors(&inventory, &yaml(bad_target)).is_empty());
    crate::common::assert_no_problems(&problems);
}

#[test]
fn new_writes_a_runbook_that_validates_and_never_overwrites() {
    let sw = Stepwise::new().args(["new", "KB979704 Rollup 7.yaml"]);
    let out = sw.stdout();
    assert!(out.starts_with("wrote KB979704 Rollup 7.yaml"), "{out}");
    let path = sw.dir().join("KB979704 Rollup 7.yaml");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\nid: kb979704-rollup-7\n"), "{text}");
    assert!(text.contains("docs/runbook-format.md"), "{text}");
    let out = Stepwise::new()
        .args(["validate".as_ref(), path.as_os_str()])
        .run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(out.stdout.contains(": ok (0 warnings)"), "{}", out.stdout);
    // The scaffold is a whole runbook: its checklist has the parameter, the role and the step.
    let list = Stepwise::new()
        .args(["checklist".as_ref(), path.as_os_str()])
        .stdout();
    assert!(
        list.contains("package_dir")
            && list.contains("APP01")
            && list.contains("Run the installer"),
        "{list}"
    );

    fs::write(&path, "mine\n").unwrap();
    let again = Stepwise::new()
        .current_dir(sw.dir())
        .args(["new", "KB979704 Rollup 7.yaml"])
        .run();
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        "stepwise: KB979704 Rollup 7.yaml already exists; stepwise new never overwrites a file (choose another name)\n"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "mine\n");
    let names: Vec<_> = fs::read_dir(sw.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
}

#[test]
fn any_file_name_makes_a_scaffold_that_validates() {
    // Any file name becomes a valid id, whatever it starts with.
    for name in ["1st.yaml", "_x_.yml", "Ünïcode.yaml", "a.b.c.yaml"] {
        let sw = Stepwise::new().args(["new", name]);
        sw.stdout();
        let out = Stepwise::new()
            .args(["validate".as_ref(), sw.dir().join(name).as_os_str()])
            .run();
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{name}");
    }
}
