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
        let dir = crate::fsutil::private_tempdir_builder()
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
            let manifest = copy.manifest.as_ref().map(|m| m.value.as_str());
            if let Some(from) = &from {
                // The package as extracted: every file of the article's table at its size,
                // named as the table names it, and any file the copy names that the table does
                // not list.
                let rows: Vec<&crate::runbook::ManifestFile> = rb
                    .manifests
                    .iter()
                    .filter(|m| manifest.is_none_or(|id| m.id == id))
                    .flat_map(|m| m.files.iter())
                    .collect();
                let mut unlisted: Vec<String> = copy
                    .files
                    .iter()
                    .filter(|f| rb.manifest_file(manifest, &f.value).is_none())
                    .map(|f| f.value.clone())
                    .collect();
                unlisted.sort_by_key(|n| n.to_lowercase());
                let mut files: Vec<(String, u64)> = Vec::new();
                for row in rows {
                    let size = row.size.unwrap_or(4096);
                    if !row.is_cut_short() {
                        files.push((row.name.clone(), size));
                        continue;
                    }
                    // A name the table cut short stands for the first file the copy names that
                    // starts with it, in name order.
                    if let Some(i) = unlisted.iter().position(|n| row.may_name(n)) {
                        files.push((unlisted.remove(i), size));
                    }
                }
                files.extend(unlisted.into_iter().map(|n| (n, 4096)));
                for (name, size) in files {
                    let path = from.join(&name);
                    let body: Vec<u8> = (0..size).map(|i| b"NEW "[(i % 4) as usize]).collect();
                    std::fs::write(&path, body)
                        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
                }
            }
            for file in &copy.files {
                if let Some(to) = &to {
                    let path = to.join(&file.value);
                    let body = format!("old version of {} (rehearsal)\n", file.value);
                    std::fs::write(&path, body)
                        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
                }
            }
        }
        // A file a command names under a path parameter (`{{ package_dir }}\Update.msp`) is
        // part of the package too.
        let steps = rb
            .steps()
            .map(|(_, s)| s)
            .chain(rb.known_issues.iter().flat_map(|k| k.steps.iter()));
        for step in steps {
            let Some(Action::Command(command)) = step.automated() else {
                continue;
            };
            for arg in &command.args {
                let Some((name, _)) = arg.params().next() else {
                    continue;
                };
                let Some(folder) = folder_of(name) else {
                    continue;
                };
                let rest = arg.render(&|_| Some(Value::Text(String::new())));
                let file = rest.trim_start_matches(['\\', '/']);
                if file.is_empty() || rest.len() == file.len() || file.contains(['\\', '/']) {
                    continue;
                }
                let path = folder.join(file);
                if !path.exists() {
                    std::fs::write(&path, format!("{file} (rehearsal)\n"))
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
