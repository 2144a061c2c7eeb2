//! Writing files so that a crash never leaves half of one: a temporary file in the same folder,
//! written, synced, then renamed over the target.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stepwise-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // A temporary file is created owner-only; the result should read like any other file, or
    // keep the permissions of the file it replaces.
    let permissions = match fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => default_permissions(tmp.as_file())?,
    };
    tmp.as_file().set_permissions(permissions)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Writes a new file at `path` atomically and durably; fails with `AlreadyExists` (leaving
/// what is there alone) when something is already at `path`.
pub fn write_new_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".stepwise-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    let permissions = default_permissions(tmp.as_file())?;
    tmp.as_file().set_permissions(permissions)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// Replaces `path` with `bytes` atomically and durably, through the temporary file `tmp` (in the
/// same folder): for a file that a step writes into an operator's folder, where a temporary file
/// with a fresh random name would be left behind for good by a crash. With the same `tmp` every
/// time, a crash leaves at most one, which the next attempt replaces. Whatever is at `tmp` is
/// removed first and the file is created anew, never opened through something put there.
pub fn write_atomic_via(path: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)?;
        file.write_all(bytes)?;
        let permissions = match fs::metadata(path) {
            Ok(m) => m.permissions(),
            Err(_) => default_permissions(&file)?,
        };
        file.set_permissions(permissions)?;
        file.sync_all()?;
        drop(file);
        fs::rename(tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

#[cfg(unix)]
fn default_permissions(_file: &fs::File) -> io::Result<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions(file: &fs::File) -> io::Result<fs::Permissions> {
    Ok(file.metadata()?.permissions())
}

/// Syncs a folder so that a rename inside it survives a crash (a no-op where not supported).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_temporary_file_left_by_a_crash_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (target, tmp) = (
            dir.path().join("a.config"),
            dir.path().join(".a.config.tmp"),
        );
        fs::write(&target, b"old").unwrap();
        fs::write(&tmp, b"half of a previous attempt").unwrap();
        write_atomic_via(&target, &tmp, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!tmp.exists());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.config"]);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_link_at_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let (target, tmp) = (
            dir.path().join("a.config"),
            dir.path().join(".a.config.tmp"),
        );
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        write_atomic_via(&target, &tmp, b"new").unwrap();
        assert_eq!(fs::read(&elsewhere).unwrap(), b"keep");
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(fs::symlink_metadata(&tmp).is_err());
    }
}
