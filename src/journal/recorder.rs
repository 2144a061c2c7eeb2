//! The one process that drives a run: holds its lock, appends its events, keeps its progress.

use std::path::{Path, PathBuf};

use super::event::{Event, EventKind, NewEvent};
use super::file::{self, JournalWriter};
use super::lock::RunLock;
use super::progress::Progress;
use super::run::{
    BACKUP_DIR, HEADER_FILE, JOURNAL_FILE, NewRun, OUTPUT_DIR, RUNBOOK_FILE, Run, new_run_id,
};
use super::staging::CreationLock;
use super::{Error, Identity};
use crate::fsutil::{sync_dir, write_private};

/// A run being driven by this process. Dropping it releases the run's lock.
#[derive(Debug)]
pub struct Recorder {
    run: Run,
    writer: JournalWriter,
    progress: Progress,
    warnings: Vec<String>,
    lock: RunLock,
}

impl Recorder {
    /// Creates a run under `state_dir` (creating that folder if needed): the run folder with its
    /// header, runbook copy, `output/` and `backup/`, and a journal holding `run_started`,
    /// `params_set` and `hosts_set`. The folder appears complete, and the lock is held.
    pub fn create(state_dir: &Path, new: NewRun) -> Result<Recorder, Error> {
        crate::fsutil::create_private_dir_all(state_dir).map_err(|e| {
            Error::io(
                format!("cannot create the state folder {}", state_dir.display()),
                e,
            )
        })?;
        // Held until the run folder is in place, so no other process takes it for abandoned.
        let creation = CreationLock::acquire(state_dir)?;
        let mut attempts = 0;
        let (dir, header) = loop {
            attempts += 1;
            let run_id = match &new.run_id {
                Some(id) => {
                    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', ':']) {
                        return Err(Error::Refused(format!(
                            "`{id}` cannot be a run id: it must be a plain folder name"
                        )));
                    }
                    id.clone()
                }
                None => new_run_id(&new.plan.runbook.id, new.started),
            };
            let target = state_dir.join(&run_id);
            let collision = |attempts| {
                if new.run_id.is_some() || attempts >= 20 {
                    Err(Error::Refused(format!(
                        "cannot create run {run_id}: {} already exists",
                        target.display()
                    )))
                } else {
                    Ok(())
                }
            };
            if target.exists() {
                collision(attempts)?;
                continue;
            }
            let header = new.header(&run_id);
            let staging = build(state_dir, &run_id, &new, &header)?;
            match std::fs::rename(staging.path(), &target) {
                Ok(()) => {
                    // The staging folder is now the run folder: nothing is left to clean up.
                    let _ = staging.keep();
                    break (target, header);
                }
                Err(_) if target.exists() => collision(attempts)?,
                Err(e) => {
                    return Err(Error::io(format!("cannot create {}", target.display()), e));
                }
            }
        };
        sync_dir(state_dir);
        drop(creation);
        let run = Run::from_parts(dir, header);
        Recorder::take(run, new.identity, false)
    }

    /// Takes up an existing run: locks it, reads its journal, closes a torn last line, and
    /// records `resumed`. Instances left in doubt are in [`Progress::in_doubt`].
    pub fn resume(run: Run, identity: Identity) -> Result<Recorder, Error> {
        Recorder::take(run, identity, true)
    }

    fn take(run: Run, identity: Identity, resuming: bool) -> Result<Recorder, Error> {
        let lock = RunLock::acquire(run.dir(), run.id(), &identity)?;
        // Replayed as it is read: the events themselves are not kept.
        let (scan, mut progress) = run.replay_journal()?;
        let warnings = scan.warnings(&run.journal_path());
        let mut writer = JournalWriter::reopen(&run.journal_path(), &scan, &identity.operator)?;
        if resuming || !scan.torn_lines.is_empty() {
            let event = writer.append(NewEvent::new(EventKind::Resumed {
                machine: identity.machine.clone(),
                pid: identity.pid,
                repaired_torn_line: !scan.torn_lines.is_empty(),
            }))?;
            progress.apply(&event);
        }
        Ok(Recorder {
            run,
            writer,
            progress,
            warnings,
            lock,
        })
    }

    /// Appends an event and returns it once it is on disk; the progress follows it. A
    /// `params_set` naming a secret parameter is refused: secrets are never recorded.
    pub fn record(&mut self, event: NewEvent) -> Result<Event, Error> {
        if let EventKind::ParamsSet { params } = &event.kind
            && let Some(secret) = self
                .run
                .header()
                .secret_params
                .iter()
                .find(|s| params.contains_key(*s))
        {
            return Err(Error::Refused(format!(
                "refusing to record the value of secret parameter `{secret}`"
            )));
        }
        let event = self.writer.append(event)?;
        self.progress.apply(&event);
        Ok(event)
    }

    /// Appends events (none of them `params_set`) and returns once all are on disk, synced
    /// together; the progress follows them.
    pub fn record_all(&mut self, events: Vec<NewEvent>) -> Result<(), Error> {
        for event in self.writer.append_all(events)? {
            self.progress.apply(&event);
        }
        Ok(())
    }

    pub fn run(&self) -> &Run {
        &self.run
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// What reading the journal found worth telling the operator (a torn last line).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn lock(&self) -> &RunLock {
        &self.lock
    }

    /// A fresh file for an action's output: `(absolute path, path relative to the run folder)`
    /// such as `output/000042-restart-iis@WEB01.log`; record the relative one with
    /// [`NewEvent::action_output`].
    pub fn output_path(&self, key: &str) -> (PathBuf, String) {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@#".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let relative = format!(
            "{OUTPUT_DIR}/{:06}-{safe}.log",
            self.progress.last_seq.saturating_add(1)
        );
        (self.run.dir().join(&relative), relative)
    }
}

/// Builds a complete run folder under a hidden temporary name in `state_dir`.
fn build(
    state_dir: &Path,
    run_id: &str,
    new: &NewRun,
    header: &super::Header,
) -> Result<tempfile::TempDir, Error> {
    let staging = crate::fsutil::private_tempdir_builder()
        .prefix(&format!(".{run_id}."))
        .suffix(".new")
        .tempdir_in(state_dir)
        .map_err(|e| {
            Error::io(
                format!("cannot create a run under {}", state_dir.display()),
                e,
            )
        })?;
    let dir = staging.path();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        write_private(&path, bytes)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    };
    write(RUNBOOK_FILE, new.source.text.as_bytes())?;
    let mut json = serde_json::to_string_pretty(header).expect("a header always encodes");
    json.push('\n');
    write(HEADER_FILE, json.as_bytes())?;
    for sub in [OUTPUT_DIR, BACKUP_DIR] {
        let path = dir.join(sub);
        crate::fsutil::create_private_dir(&path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    }
    // The first event links to the header, byte for byte as written.
    let header_link = file::sha256_hex(json.as_bytes());
    let mut writer = JournalWriter::create(
        &dir.join(JOURNAL_FILE),
        &new.identity.operator,
        &header_link,
    )?;
    let at = new.started;
    writer.append(
        NewEvent::new(EventKind::RunStarted {
            run_id: run_id.to_string(),
            runbook_id: header.runbook_id.clone(),
            runbook_sha256: header.runbook_sha256.clone(),
            rehearsal: header.rehearsal,
            machine: new.identity.machine.clone(),
            pid: new.identity.pid,
        })
        .at(at),
    )?;
    writer.append(
        NewEvent::new(EventKind::ParamsSet {
            params: header.params.clone(),
        })
        .at(at),
    )?;
    writer.append(
        NewEvent::new(EventKind::HostsSet {
            hosts: header.hosts.clone(),
        })
        .at(at),
    )?;
    drop(writer);
    sync_dir(dir);
    // Check what was written reads back, before the run exists.
    file::read(&dir.join(JOURNAL_FILE))?;
    Ok(staging)
}
