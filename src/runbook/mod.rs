//! The runbook format: model types, loading, and validation with positions.
//!
//! [`load`] takes YAML text and returns either a checked [`Runbook`] or every problem found, each
//! with its position. The bundled runbooks live in [`bundled`]. Nothing downstream re-reads YAML.

pub mod bundled;
pub mod diag;
pub mod expr;
mod indent;
pub mod load;
pub mod model;
pub mod schema;
pub mod spec;
pub mod template;
pub mod yaml;

use sha2::{Digest, Sha256};

pub use diag::{Code, Diagnostic, Severity};
pub use model::*;
pub use template::Template;

/// A runbook's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    /// What diagnostics call the file: the path as given, or `runbooks/ID.yaml` for a bundled one.
    pub name: String,
    pub text: String,
}

impl Source {
    /// The hex SHA-256 of the text: a run records it to notice a runbook that changed.
    pub fn content_hash(&self) -> String {
        let digest = Sha256::digest(self.text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The outcome of loading: the runbook when there is no error, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    pub runbook: Option<Runbook>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Parses and validates runbook text.
pub fn load(source: &Source) -> Loaded {
    match yaml::parse(&source.text) {
        Err(e) => Loaded {
            runbook: None,
            diagnostics: vec![Diagnostic::error(e.pos, e.code, e.message)],
        },
        Ok(None) => Loaded {
            runbook: None,
            diagnostics: vec![Diagnostic::error(
                yaml::Pos { line: 1, col: 1 },
                Code::EmptyFile,
                "the file is empty; a runbook is a YAML map",
            )],
        },
        Ok(Some(root)) => {
            let (runbook, diagnostics) = load::decode(&source.text, &root);
            Loaded {
                runbook,
                diagnostics,
            }
        }
    }
}

/// Renders diagnostics for one source, in order, for standard error (coloured when the
/// process's colour decision for standard error says so).
pub fn render_diagnostics(source: &Source, diagnostics: &[Diagnostic]) -> String {
    let color = console::colors_enabled_stderr();
    diagnostics
        .iter()
        .map(|d| d.render_styled(&source.name, &source.text, color))
        .collect()
}
