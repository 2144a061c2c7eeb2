//! One process drives a run at a time.
//!
//! The lock is an operating-system lock (`File::try_lock`) on the file `lock` in the run folder,
//! so it is released whenever its holder ends, even when killed outright; a marker file could not
//! promise that. Who holds it is written beside it, atomically, in `lock.json` (process id,
//! machine, operator, since when), so that a refused process can name the holder. `lock.json`
//! is only ever believed while the lock is held: a stale one left by a killed process is
//! harmless.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::{Error, Identity};

/// The lock file's name in a run folder.
pub const LOCK_FILE: &str = "lock";
/// The holder's description beside it.
pub const HOLDER_FILE: &str = "lock.json";

/// Who holds a run's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub machine: String,
    pub operator: String,
    pub since: Timestamp,
}

/// A held run lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    holder_path: PathBuf,
    holder: Holder,
}

/// Whether someone drives a run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    Free,
    /// Held; the holder as it described itself, when that could be read.
    Held(Option<Holder>),
}

impl RunLock {
    /// Takes the lock of the run in `run_dir`, or says who has it. A few short retries cover a
    /// `stepwise status` that is probing the lock at the same moment.
    pub fn acquire(run_dir: &Path, run_id: &str, identity: &Identity) -> Result<RunLock, Error> {
        let path = run_dir.join(LOCK_FILE);
        let file = crate::fsutil::private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::InUse {
                        run_id: run_id.to_string(),
                        holder: read_holder(run_dir),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", path.display()), e));
                }
            }
        }
        let holder = Holder {
            pid: identity.pid,
            machine: identity.machine.clone(),
            operator: identity.operator.clone(),
            since: Timestamp::now(),
        };
        let holder_path = run_dir.join(HOLDER_FILE);
        let mut text = serde_json::to_string_pretty(&holder).expect("a holder always encodes");
        text.push('\n');
        crate::fsutil::write_private(&holder_path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", holder_path.display()), e))?;
        Ok(RunLock {
            file,
            holder_path,
            holder,
        })
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still held, so a new holder's description is never the one removed.
        let _ = std::fs::remove_file(&self.holder_path);
        let _ = self.file.unlock();
    }
}

/// Looks whether the run in `run_dir` is driven by a process now, without disturbing it.
pub fn probe(run_dir: &Path) -> LockState {
    let Ok(file) = File::open(run_dir.join(LOCK_FILE)) else {
        return LockState::Free;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            LockState::Free
        }
        Err(TryLockError::WouldBlock) => LockState::Held(read_holder(run_dir)),
        // A file system without locks: nobody can hold one there either.
        Err(TryLockError::Error(_)) => LockState::Free,
    }
}

fn read_holder(run_dir: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(run_dir.join(HOLDER_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}
