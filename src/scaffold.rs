//! `stepwise new FILE`: a small runbook to start from, that validates as written.
//!
//! It has one of each thing a runbook usually needs (a parameter, a role, a phase with a manual
//! step on that role) and comments that point at the format reference. It is written atomically
//! and never over an existing file.

use std::path::Path;

use crate::error::{Error, describe_io};
use crate::exit_codes::ExitCode;
use crate::runbook::load::slug;

/// The runbook text for a file named `file`: its id is the file's name made into an id.
pub fn text(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = slug(&stem);
    TEMPLATE.replace("@ID@", &id)
}

const TEMPLATE: &str = r#"# A stepwise runbook. Every field is described in docs/runbook-format.md;
# `stepwise validate FILE` checks this file, `stepwise checklist FILE` prints it.
# For completion and checking in an editor: `stepwise schema > runbook.schema.json` beside this
# file (see "Editor support" in docs/runbook-format.md).
# yaml-language-server: $schema=runbook.schema.json

id: @ID@
title: Title of the knowledge-base article
article: KB000000
product: The product the update applies to
summary: |
  What the update fixes or does, in a few lines.
notes:
  - How an ambiguous passage of the article was read (one note per passage).

# Values the procedure depends on, asked at the start of a run or given with --set NAME=VALUE.
parameters:
  - name: package_dir
    type: path
    prompt: Folder where the update package was extracted
    default: 'C:\temp\UpdatePackage'

# Kinds of server; a step `on:` a role is done once per host.
roles:
  - id: app_server
    title: Application servers
    description: The servers the article tells you to update.
    hosts: [APP01]

# The procedure: phases of steps, in the article's order.
phases:
  - id: install
    title: Install the update
    steps:
      - id: run-installer
        title: Run the installer
        on: app_server
        instructions: |
          Run Setup.exe from {{ package_dir }} and follow the wizard.
        # A step without `action` is manual: the operator does it and confirms.
        # Automated actions (command, copy, write_file, check): docs/runbook-format.md#actions
"#;

/// Writes the scaffold to `file`, refusing to overwrite anything.
pub fn new(file: &Path) -> Result<ExitCode, Error> {
    let text = text(file);
    match crate::fsutil::write_new_atomic(file, text.as_bytes()) {
        Ok(()) => {
            crate::stdio::out(&format!(
                "wrote {}: check it with `stepwise validate {}`\n",
                file.display(),
                file.display()
            ))?;
            Ok(ExitCode::Success)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Usage(format!(
            "{} already exists; stepwise new never overwrites a file (choose another name)",
            file.display()
        ))),
        Err(e) => Err(Error::Failed(format!(
            "cannot write {}: {}",
            file.display(),
            describe_io(&e)
        ))),
    }
}
