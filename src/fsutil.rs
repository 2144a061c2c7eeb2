//! Writing files so that a crash never leaves half of one: a temporary file in the same folder,
//! written, synced, then renamed over the target. Also the two byte helpers every reader of
//! files and hashes shares: [`read_full`] and [`hex`].

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Reads until `buf` is full or the reader ends (retrying interrupted reads); returns how much
/// was read, less than `buf.len()` only at the end.
pub fn read_full(from: &mut dyn io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match from.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Bytes as lower-case hex (a SHA-256 as the journal and the checklists write it).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    text
}

/// Replaces `path` with `bytes` atomically and durably. A file that is replaced keeps its
/// permissions; a new one can be read by everyone (0644 on Unix), like any document.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, false)
}

/// Like [`write_atomic`], but a new file is private to the operator (0600 on Unix): for the
/// files of a run folder.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, true)
}

/// Like [`write_atomic`], for content written as it is made: `fill` writes it to the temporary
/// file (through a buffer), which replaces `path` only once `fill` has succeeded. When it fails,
/// the temporary file is removed and `path` is left as it was.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_mode_with(path, false, fill)
}

fn write_atomic_mode(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    write_atomic_mode_with(path, private, |w| w.write_all(bytes))
}

fn write_atomic_mode_with(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stepwise-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut w = io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    // A temporary file is created owner-only; the result should read like any other file, or
    // keep the permissions of the file it replaces.
    let permissions = match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => m.permissions(),
        _ if private => private_permissions(tmp.as_file())?,
        _ => default_permissions(tmp.as_file())?,
    };
    tmp.as_file().set_permissions(permissions)?;
    tmp.as_file().sync_all()?;
    let (_, tmp_path) = tmp.keep().map_err(|e| e.error)?;
    if let Err(e) = replace(&tmp_path, path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
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
    let written = (|| {
        let mut file = create_fresh(tmp)?;
        file.write_all(bytes)?;
        let permissions = match fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => m.permissions(),
            _ => default_permissions(&file)?,
        };
        file.set_permissions(permissions)?;
        file.sync_all()?;
        drop(file);
        replace(tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

/// Creates `path` anew for writing, private to the owner until its permissions are set:
/// whatever is there first (a file left by a crash, a link or anything else someone put there)
/// is removed, and the file is created with create-new semantics (`O_CREAT | O_EXCL`, which
/// never follows a link, and `O_NOFOLLOW` besides), so nothing that exists is ever written
/// through. Fails when the name is taken again between the two (a race someone would have to
/// win on purpose) rather than follow what took it.
pub fn create_fresh(path: &Path) -> io::Result<fs::File> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a folder", path.display()),
            ));
        }
        Ok(_) => fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = fs::OpenOptions::new();
    // Readable too: a copy reads back what it wrote.
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// The permissions a file written over `target` should have: those of the regular file it
/// replaces, so that a replacement never widens them (on Windows a file's ACL is kept by
/// [`replace`] itself); for a new file, those of `source` (what it is a copy of) without write
/// access for group and others.
pub fn kept_permissions(target: &Path, source: &fs::Metadata) -> fs::Permissions {
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_file() => m.permissions(),
        _ => narrowed(source.permissions()),
    }
}

#[cfg(unix)]
fn narrowed(p: fs::Permissions) -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(p.mode() & 0o7755 & !0o7000)
}

#[cfg(not(unix))]
fn narrowed(p: fs::Permissions) -> fs::Permissions {
    p
}

#[cfg(unix)]
fn default_permissions(_file: &fs::File) -> io::Result<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o644))
}

#[cfg(unix)]
fn private_permissions(_file: &fs::File) -> io::Result<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private_permissions(file: &fs::File) -> io::Result<fs::Permissions> {
    Ok(file.metadata()?.permissions())
}

/// Creates a folder private to the operator (0700 on Unix; elsewhere it inherits its parent's
/// access control, as every folder does). Fails when it exists.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    #[cfg_attr(not(unix), allow(unused_mut))] // set on Unix only
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Like [`create_private_dir`], with its missing parents (made private too); an existing
/// folder is left as it is.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Open options for a run folder's own files (journal, lock): a file created is private to the
/// operator (0600 on Unix), and a link at the name is never followed (`O_NOFOLLOW`: opening it
/// fails instead).
pub fn private_file_options() -> fs::OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))] // set on Unix only
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// A temporary folder private to the operator (0700 on Unix): for a run being built and for a
/// rehearsal's sandbox.
pub fn private_tempdir_builder<'a>() -> tempfile::Builder<'a, 'a> {
    #[cfg_attr(not(unix), allow(unused_mut))] // set on Unix only
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o700));
    }
    builder
}

#[cfg(not(unix))]
fn default_permissions(file: &fs::File) -> io::Result<fs::Permissions> {
    Ok(file.metadata()?.permissions())
}

/// Why a text file (a runbook, an answers file, an inventory) could not be read.
#[derive(Debug)]
pub enum TextError {
    Io(io::Error),
    /// Not UTF-8: the 1-based line and column (in characters) of the first bad byte.
    NotUtf8 {
        line: usize,
        col: usize,
        byte: u8,
        utf16: bool,
    },
}

impl TextError {
    /// The message, for `what` (`runbook x.yaml`) at `path`: an I/O error after the name, a
    /// bad byte as `PATH:LINE:COL: …`.
    pub fn describe(&self, what: &str, path: &str) -> String {
        match self {
            TextError::Io(e) => format!("cannot read {what}: {}", crate::error::describe_io(e)),
            TextError::NotUtf8 { utf16: true, .. } => format!(
                "{path}:1:1: {what} is UTF-16 text; save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
            ),
            TextError::NotUtf8 {
                line, col, byte, ..
            } => format!(
                "{path}:{line}:{col}: {what} is not UTF-8 text: byte 0x{byte:02x} here cannot start a character (save it as UTF-8)"
            ),
        }
    }
}

/// Reads a text file written by a person: UTF-8, a leading byte-order mark (what Notepad
/// writes) left out. Text that is not UTF-8 is an error that says where.
pub fn read_text(path: &Path) -> Result<String, TextError> {
    let bytes = fs::read(path).map_err(TextError::Io)?;
    decode_text(bytes)
}

/// [`read_text`] on bytes already read.
pub fn decode_text(mut bytes: Vec<u8>) -> Result<String, TextError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        TextError::NotUtf8 {
            line,
            col,
            byte: bytes[at],
            utf16: bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]),
        }
    })
}

/// Renames the finished temporary file `tmp` over `target`. On Windows a file that is replaced
/// keeps its security descriptor (its ACL) and attributes: `ReplaceFileW` gives them to the new
/// content, where a plain rename would leave the temporary file's, inherited from the folder.
/// Elsewhere the permissions are set on `tmp` before (see [`kept_permissions`]).
pub fn replace(tmp: &Path, target: &Path) -> io::Result<()> {
    #[cfg(windows)]
    if fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
        return windows::replace_file(tmp, target);
    }
    fs::rename(tmp, target)
}

#[cfg(windows)]
mod windows {
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;

    use windows_sys::Win32::Storage::FileSystem::{REPLACEFILE_IGNORE_MERGE_ERRORS, ReplaceFileW};

    /// Full paths: Wine's `ReplaceFileW` fails on relative ones (ERROR_DIRECTORY), and the
    /// `\\?\` form reaches past `MAX_PATH`.
    fn wide(p: &Path) -> Vec<u16> {
        super::verbatim(p)
            .as_os_str()
            .encode_wide()
            .chain(std::iter::once(0))
            .collect()
    }

    pub fn replace_file(tmp: &Path, target: &Path) -> io::Result<()> {
        let (replaced, replacement) = (wide(target), wide(tmp));
        // SAFETY: both are NUL-terminated wide strings that outlive the call; the optional
        // arguments are null, as the API allows.
        let ok = unsafe {
            ReplaceFileW(
                replaced.as_ptr(),
                replacement.as_ptr(),
                std::ptr::null(),
                REPLACEFILE_IGNORE_MERGE_ERRORS,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A path in the form Windows needs past `MAX_PATH` characters: `\\?\C:\…` or
/// `\\?\UNC\server\share\…`, made absolute first. A relative path that cannot be made absolute,
/// and a path already in that form, are left as they are.
#[cfg(windows)]
pub fn verbatim(path: &Path) -> std::path::PathBuf {
    let Ok(absolute) = std::path::absolute(path) else {
        return path.to_path_buf();
    };
    let text = absolute.as_os_str().to_string_lossy();
    if text.starts_with(r"\\?\") || text.starts_with(r"\\.\") {
        absolute
    } else if let Some(share) = text.strip_prefix(r"\\") {
        std::path::PathBuf::from(format!(r"\\?\UNC\{share}"))
    } else {
        std::path::PathBuf::from(format!(r"\\?\{text}"))
    }
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
    fn text_loses_its_byte_order_mark_and_bad_bytes_are_located() {
        assert_eq!(
            decode_text(b"\xEF\xBB\xBFid: x\n".to_vec()).unwrap(),
            "id: x\n"
        );
        let err = decode_text(b"id: x\ntitle: caf\xE9 \xFF\n".to_vec()).unwrap_err();
        assert_eq!(
            err.describe("runbook a.yaml", "a.yaml"),
            "a.yaml:2:11: runbook a.yaml is not UTF-8 text: byte 0xe9 here cannot start a character (save it as UTF-8)"
        );
        let err = decode_text(b"\xFF\xFEi\x00d\x00".to_vec()).unwrap_err();
        assert!(err.describe("x", "p").contains("UTF-16"));
    }

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
