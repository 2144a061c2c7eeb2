//! The rehearsal sandbox: a temporary folder that stands in for every path parameter, so an
//! operator can practise a whole rollup before the maintenance window.
//!
//! Every folder a copy takes files from is filled with the files it names, at the sizes of the
//! article's manifest; every folder a copy writes into holds an "old" version of each, so the
//! rehearsal backs them up and replaces them for real. Commands are not run (the walk journals
//! them as rehearsed).

use std::path::PathBuf;

use crate::error::Error;
use crate::plan::Bindings;
use crate::runbook::{Action, ParamType, Runbook, Template, Value};

pub struct Sandbox {
    pub root: PathBuf,
    /// The folder standing in for each path parameter.
    pub paths: Vec<(String, PathBuf)>,
    dir: Option<tempfile::TempDir>,
}

/// The parameter a template consists of, when it is nothing but one `{{ name }}`.
fn sole_param(t: &Template) -> Option<String> {
    let mut names = t.params();
    let (name, _) = names.next()?;
    if names.next().is_some() {
        return None;
    }
    let rest = t.render(&|_| Some(Value::Text(String::new())));
    rest.trim().is_empty().then(|| name.to_string())
}

impl Sandbox {
    pub fn build(rb: &Runbook, _bindings: &Bindings) -> Result<Sandbox, Error> {
        let dir = tempfile::Builder::new()
            .prefix("stepwise-rehearsal-")
            .tempdir()
            .map_err(|e| Error::io("cannot create the rehearsal sandbox", &e))?;
        let root = dir.path().to_path_buf();
        let mut paths = Vec::new();
        for p in rb.parameters.iter().filter(|p| p.kind == ParamType::Path) {
            let folder = root.join(&p.name);
            std::fs::create_dir_all(&folder)
                .map_err(|e| Error::io(format!("cannot create {}", folder.display()), &e))?;
            paths.push((p.name.clone(), folder));
        }
        let folder_of = |name: &str| {
            paths
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
        };
        let steps = rb
            .steps()
            .map(|(_, s)| s)
            .chain(rb.known_issues.iter().flat_map(|k| k.steps.iter()));
        for step in steps {
            let Some(Action::Copy(copy)) = step.automated() else {
                continue;
            };
            let from = sole_param(&copy.from).and_then(|n| folder_of(&n));
            let to = sole_param(&copy.to).and_then(|n| folder_of(&n));
            for file in &copy.files {
                let manifest = copy.manifest.as_ref().map(|m| m.value.as_str());
                let size = rb
                    .manifest_file(manifest, &file.value)
                    .and_then(|f| f.size)
                    .unwrap_or(4096);
                if let Some(from) = &from {
                    let path = from.join(&file.value);
                    let body: Vec<u8> = (0..size).map(|i| b"NEW "[(i % 4) as usize]).collect();
                    std::fs::write(&path, body)
                        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
                }
                if let Some(to) = &to {
                    let path = to.join(&file.value);
                    let body = format!("old version of {} (rehearsal)\n", file.value);
                    std::fs::write(&path, body)
                        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
                }
            }
        }
        Ok(Sandbox {
            root,
            paths,
            dir: Some(dir),
        })
    }

    /// Keeps the sandbox after the process ends, so the operator can look at what the
    /// rehearsal did.
    pub fn keep(mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
    }
}
