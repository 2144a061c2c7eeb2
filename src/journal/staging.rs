//! Run folders a process began to build and never finished: finding them, and sweeping them.
//!
//! A run folder is built under a hidden name (`.RUN_ID.XXXXXX.new`) and renamed into place
//! complete. A process killed in between leaves that folder behind; nothing in it ever ran (the
//! run did not exist yet), so it can go. To tell an abandoned one from one being built right now,
//! a process builds a run folder only while it holds the state folder's creation lock
//! (`.create.lock`, an operating-system lock released when the holder ends, even by SIGKILL):
//! when that lock is free, every `.new` folder is abandoned.
//!
//! `run` waits for the lock, sweeps, builds; `resume` sweeps when the lock is free; `status`
//! reports what it finds and never writes. Where the file system offers no locks, only folders
//! older than [`ABANDONED_AFTER`] count as abandoned.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Error;

/// The creation lock's name in the state folder.
pub const CREATION_LOCK: &str = ".create.lock";

/// Without a lock to ask, how old a folder being built must be before it counts as abandoned.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// The state folder's creation lock, held while a run folder is built; dropping it releases it.
#[derive(Debug)]
pub struct CreationLock {
    file: Option<File>,
}

impl CreationLock {
    /// Waits for the creation lock of `state_dir` (another process holds it only for the
    /// moment it takes to build a run folder), then removes every abandoned `.new` folder.
    pub fn acquire(state_dir: &Path) -> Result<CreationLock, Error> {
        let path = state_dir.join(CREATION_LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                Error::io(
                    format!("cannot create a run under {}", state_dir.display()),
                    e,
                )
            })?;
        let held = file.lock().is_ok();
        let lock = CreationLock {
            file: held.then_some(file),
        };
        sweep(state_dir, held);
        Ok(lock)
    }
}

impl Drop for CreationLock {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = file.unlock();
        }
    }
}

/// Removes the abandoned `.new` folders of `state_dir` when no process is building a run there
/// now; does nothing otherwise. Failing to remove one is not an error.
pub fn sweep_if_idle(state_dir: &Path) {
    let Ok(file) = File::open(state_dir.join(CREATION_LOCK)) else {
        // No process of this version ever built a run here, or none is building one now.
        sweep(state_dir, false);
        return;
    };
    match file.try_lock() {
        Ok(()) => {
            sweep(state_dir, true);
            let _ = file.unlock();
        }
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(_)) => sweep(state_dir, false),
    }
}

/// The `.new` folders of `state_dir` that no process is building: abandoned by a process that
/// stopped while it created a run. Reads only.
pub fn abandoned(state_dir: &Path) -> Vec<PathBuf> {
    let idle = match File::open(state_dir.join(CREATION_LOCK)) {
        Err(_) => true,
        Ok(file) => match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                true
            }
            Err(TryLockError::WouldBlock) => return Vec::new(),
            Err(TryLockError::Error(_)) => false,
        },
    };
    staging_folders(state_dir)
        .into_iter()
        .filter(|(_, age)| idle || age.is_some_and(|a| a > ABANDONED_AFTER))
        .map(|(path, _)| path)
        .collect()
}

/// Removes the `.new` folders of `state_dir`: all of them when `locked` (this process holds the
/// creation lock, so none is being built), else only the old ones.
fn sweep(state_dir: &Path, locked: bool) {
    for (path, age) in staging_folders(state_dir) {
        if locked || age.is_some_and(|a| a > ABANDONED_AFTER) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Every folder of `state_dir` named like a run folder being built, with its age when known.
fn staging_folders(state_dir: &Path) -> Vec<(PathBuf, Option<Duration>)> {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, Option<Duration>)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && name.ends_with(".new") && name.len() > 5
        })
        // A link is never followed, nor removed as if it were a folder.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let age = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            (e.path(), age)
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn folders(state: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let old = state.join(".20260101-000000-x-abcd.Qw3rty.new");
        let fresh = state.join(".20260101-000000-y-abcd.As5dfg.new");
        let run = state.join("20260101-000000-z-abcd");
        for d in [&old, &fresh, &run] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("run.json"), "{}").unwrap();
        }
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        for d in [&old, &run] {
            File::open(d).unwrap().set_modified(long_ago).unwrap();
        }
        (old, fresh, run)
    }

    #[test]
    fn with_the_lock_free_every_staging_folder_is_abandoned_and_swept() {
        let state = tempfile::tempdir().unwrap();
        let (old, fresh, run) = folders(state.path());
        assert_eq!(abandoned(state.path()), vec![old.clone(), fresh.clone()]);
        let lock = CreationLock::acquire(state.path()).unwrap();
        assert!(!old.exists() && !fresh.exists(), "both are swept");
        assert!(run.exists(), "a run folder is never touched");
        drop(lock);
        assert!(abandoned(state.path()).is_empty());
    }

    #[test]
    fn while_a_process_builds_a_run_its_folder_is_neither_reported_nor_swept() {
        let state = tempfile::tempdir().unwrap();
        let lock = CreationLock::acquire(state.path()).unwrap();
        let (old, fresh, _) = folders(state.path());
        // Another handle asks, as another process would.
        assert!(abandoned(state.path()).is_empty());
        sweep_if_idle(state.path());
        assert!(old.exists() && fresh.exists());
        drop(lock);
        sweep_if_idle(state.path());
        assert!(!old.exists() && !fresh.exists());
    }
}
