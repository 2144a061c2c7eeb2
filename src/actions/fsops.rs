//! File-system helpers shared by the check and the execution of every action, so the two cannot
//! drift apart: turning a runbook path into a local path, finding a file by name the way Windows
//! does (ignoring case), asking whether a folder is writable or how much room it has, comparing
//! contents, and copying through a temporary file.
//!
//! Everything here that a check calls is read-only: it lists folders, reads metadata and file
//! contents, and asks the operating system (`access(2)`, `statvfs(2)`); it never creates, opens
//! for writing, or changes anything. Only [`copy_atomic`] and [`remove_quietly`] write, and only
//! execution calls them.

use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fsutil::read_full;

/// A runbook path that cannot be checked on this machine, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// The path as the runbook gives it (parameters filled in).
    pub text: String,
}

/// Turns a path written in a runbook (Windows style, parameters filled in) into a local path.
///
/// On Windows, `%VAR%` environment placeholders are expanded (an unset one leaves the path
/// foreign). Elsewhere a path that needs Windows (a drive letter, a `\\server` share, a `%VAR%`
/// placeholder) is foreign, and backslashes are folder separators, so that a test or an operator
/// can point `{{ package_dir }}\Demo.msi` at `/tmp/pkg`.
pub fn local_path(text: &str) -> Result<PathBuf, Foreign> {
    let foreign = || Foreign {
        text: text.to_string(),
    };
    if cfg!(windows) {
        return expand_env(text).map(PathBuf::from).ok_or_else(foreign);
    }
    if needs_windows(text) {
        return Err(foreign());
    }
    Ok(PathBuf::from(text.replace('\\', "/")))
}

/// Whether a path can only mean something on Windows: a drive letter, a UNC share, or a `%VAR%`
/// placeholder.
pub fn needs_windows(text: &str) -> bool {
    let b = text.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    drive || text.starts_with("\\\\") || has_env_placeholder(text)
}

/// Whether the text holds a Windows environment placeholder such as `%WINDIR%`.
pub fn has_env_placeholder(text: &str) -> bool {
    env_placeholders(text).next().is_some()
}

/// The `%NAME%` placeholders in a text: `(start, end, name)` with byte offsets of the `%`s.
fn env_placeholders(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut rest = 0;
    std::iter::from_fn(move || {
        loop {
            let open = rest + text[rest..].find('%')?;
            let close = open + 1 + text[open + 1..].find('%')?;
            let name = &text[open + 1..close];
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')'));
            if valid {
                rest = close + 1;
                return Some((open, close, name));
            }
            rest = close;
        }
    })
}

/// Expands `%NAME%` from the environment; `None` when one is not set.
fn expand_env(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for (open, close, name) in env_placeholders(text) {
        out.push_str(&text[last..open]);
        out.push_str(&std::env::var(name).ok()?);
        last = close + 1;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// One entry of a folder, found by name.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as it is on disk.
    pub name: String,
    pub path: PathBuf,
    pub meta: Metadata,
}

impl Entry {
    pub fn is_file(&self) -> bool {
        self.meta.is_file()
    }

    pub fn size(&self) -> u64 {
        self.meta.len()
    }
}

/// What looking a name up in a folder found.
#[derive(Debug, Clone)]
pub enum Lookup {
    Missing,
    Found(Entry),
    /// Several entries match ignoring case and none matches exactly (only on a case-sensitive
    /// file system).
    Ambiguous(Vec<String>),
}

/// The entries of one folder, read once, to match names against ignoring case.
#[derive(Debug)]
pub struct Listing {
    dir: PathBuf,
    names: Vec<String>,
}

impl Listing {
    /// Lists a folder (read-only). Names that are not valid Unicode cannot match a runbook
    /// name and are left out.
    pub fn read(dir: &Path) -> io::Result<Listing> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(Listing {
            dir: dir.to_path_buf(),
            names,
        })
    }

    /// Finds `name` as Windows would: an exact match first, otherwise the one entry whose name
    /// is the same ignoring case.
    pub fn find(&self, name: &str) -> Lookup {
        let chosen = match pick(&self.names, name) {
            Pick::One(n) => n,
            Pick::Missing => return Lookup::Missing,
            Pick::Ambiguous(many) => return Lookup::Ambiguous(many),
        };
        let path = self.dir.join(chosen);
        match fs::metadata(&path) {
            Ok(meta) => Lookup::Found(Entry {
                name: chosen.to_string(),
                path,
                meta,
            }),
            Err(_) => Lookup::Missing,
        }
    }

    /// Every name in the folder, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Which of a folder's names a runbook name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick<'n> {
    Missing,
    One(&'n str),
    /// Several names match ignoring case and none matches exactly.
    Ambiguous(Vec<String>),
}

/// Finds `name` among a folder's `names` as Windows would: an exact match first, otherwise the
/// one name that is the same ignoring case. Shared by this machine's folders ([`Listing`]) and
/// a host's (listed over SFTP), so both find the same file.
pub fn pick<'n>(names: &'n [String], name: &str) -> Pick<'n> {
    let matches: Vec<&String> = names.iter().filter(|n| same_name(n, name)).collect();
    match matches.iter().find(|n| n.as_str() == name) {
        Some(exact) => Pick::One(exact),
        None => match matches.as_slice() {
            [] => Pick::Missing,
            [one] => Pick::One(one),
            many => Pick::Ambiguous(many.iter().map(|n| n.to_string()).collect()),
        },
    }
}

/// Whether two file names are the same to Windows: equal ignoring case.
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// Finds a path whose components may differ in case from what is on disk (read-only): each
/// component is taken as is when it exists, otherwise matched ignoring case in its folder.
pub fn locate(path: &Path) -> Option<PathBuf> {
    if fs::symlink_metadata(path).is_ok() {
        return Some(path.to_path_buf());
    }
    let mut found = PathBuf::new();
    for component in path.components() {
        let std::path::Component::Normal(name) = component else {
            found.push(component.as_os_str());
            continue;
        };
        let candidate = found.join(name);
        if fs::symlink_metadata(&candidate).is_ok() {
            found = candidate;
            continue;
        }
        let dir = if found.as_os_str().is_empty() {
            Path::new(".")
        } else {
            found.as_path()
        };
        let listing = Listing::read(dir).ok()?;
        match listing.find(name.to_str()?) {
            Lookup::Found(entry) => found = found.join(entry.name),
            _ => return None,
        }
    }
    Some(found)
}

/// Why a folder cannot be written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotWritable {
    PermissionDenied,
    ReadOnlyFileSystem,
    Other(String),
}

impl std::fmt::Display for NotWritable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotWritable::PermissionDenied => write!(f, "permission denied"),
            NotWritable::ReadOnlyFileSystem => write!(f, "the file system is read-only"),
            NotWritable::Other(m) => write!(f, "{m}"),
        }
    }
}

/// Whether a file can be created in `dir`, asked without creating one.
///
/// On Unix this is `access(2)` for write and search permission with the effective user's ids
/// (`faccessat` with `AT_EACCESS`), which also answers for root: root passes the permission bits
/// but not a read-only mount or an immutable folder. The mount's read-only flag (`statvfs`) is
/// asked as well. On Windows the folder is opened for `FILE_ADD_FILE` access (granted or refused
/// by its access list, as a create would be) and the volume's read-only flag is asked.
pub fn writable(dir: &Path) -> Result<(), NotWritable> {
    sys::writable(dir)
}

/// Whether the current user may read a file, asked without opening it.
pub fn readable(path: &Path) -> bool {
    sys::readable(path)
}

/// Bytes available to the current user on the file system that holds `path` (or its nearest
/// existing ancestor): `statvfs(2)` on Unix, `GetDiskFreeSpaceExW` on Windows; `None` where the
/// platform cannot tell.
pub fn free_space(path: &Path) -> Option<u64> {
    sys::free_space(&nearest_existing(path)?)
}

/// An identifier of the file system that holds `path` (or its nearest existing ancestor), to
/// tell whether two folders share their free space; `None` where the platform cannot tell.
pub fn file_system_id(path: &Path) -> Option<u64> {
    sys::file_system_id(&nearest_existing(path)?)
}

/// What a file-system entry is, in words, for a message: `a file`, `a folder`, `a named pipe
/// (FIFO)`. Anything but a regular file or a folder is named for what it is, never taken for
/// one of them.
pub fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        return "a file";
    }
    if t.is_dir() {
        return "a folder";
    }
    if t.is_symlink() {
        return "a link";
    }
    sys::special_kind(&t)
}

/// Whether a regular file may be started as a program (on Unix: an execute bit is set).
pub fn is_executable(meta: &Metadata) -> bool {
    meta.is_file() && sys::is_executable(meta)
}

#[cfg(unix)]
mod sys {
    use std::fs::{self, Metadata};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    use rustix::fs::{Access, AtFlags, CWD, StatVfsMountFlags, accessat, statvfs};
    use rustix::io::Errno;

    use super::NotWritable;

    pub fn writable(dir: &Path) -> Result<(), NotWritable> {
        if let Ok(st) = statvfs(dir)
            && st.f_flag.contains(StatVfsMountFlags::RDONLY)
        {
            return Err(NotWritable::ReadOnlyFileSystem);
        }
        match accessat(
            CWD,
            dir,
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::EACCESS,
        ) {
            Ok(()) => Ok(()),
            Err(e) if e == Errno::ROFS => Err(NotWritable::ReadOnlyFileSystem),
            Err(e) if e == Errno::ACCESS || e == Errno::PERM => Err(NotWritable::PermissionDenied),
            Err(e) => Err(NotWritable::Other(crate::error::describe_io(&e.into()))),
        }
    }

    pub fn readable(path: &Path) -> bool {
        accessat(CWD, path, Access::READ_OK, AtFlags::EACCESS).is_ok()
    }

    pub fn free_space(path: &Path) -> Option<u64> {
        let st = statvfs(path).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }

    pub fn file_system_id(path: &Path) -> Option<u64> {
        fs::metadata(path).ok().map(|m| m.dev())
    }

    pub fn is_executable(meta: &Metadata) -> bool {
        meta.permissions().mode() & 0o111 != 0
    }

    pub fn special_kind(t: &std::fs::FileType) -> &'static str {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            "a named pipe (FIFO)"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "a special file"
        }
    }
}

#[cfg(windows)]
mod sys {
    use std::fs::{File, Metadata, OpenOptions};
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use std::path::Path;

    use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_WRITE_PROTECT, HANDLE};
    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, FILE_ADD_FILE, FILE_ATTRIBUTE_READONLY,
        FILE_FLAG_BACKUP_SEMANTICS, FILE_GENERIC_READ, FILE_READ_ATTRIBUTES, FILE_SHARE_DELETE,
        FILE_SHARE_READ, FILE_SHARE_WRITE, GetDiskFreeSpaceExW, GetFileAttributesW,
        GetFileInformationByHandle, GetVolumeInformationByHandleW, INVALID_FILE_ATTRIBUTES,
    };

    use super::NotWritable;

    /// `FILE_READ_ONLY_VOLUME` (winnt.h): the volume is read-only.
    const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;

    const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

    /// Opens a file or a folder (`FILE_FLAG_BACKUP_SEMANTICS`) for `access` only: nothing is
    /// created, and a handle with `FILE_ADD_FILE` writes nothing until a file is created through
    /// it. The standard library turns a long path into its `\\?\` form.
    fn open(path: &Path, access: u32) -> io::Result<File> {
        OpenOptions::new()
            .access_mode(access)
            .share_mode(SHARE_ALL)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)
    }

    /// A path as a NUL-terminated UTF-16 string for the Win32 calls that take one, in its
    /// `\\?\` form (so past `MAX_PATH`) when it is absolute.
    pub fn wide(path: &Path) -> Vec<u16> {
        crate::fsutil::verbatim(path)
            .as_os_str()
            .encode_wide()
            .chain(Some(0))
            .collect()
    }

    /// Whether this process runs under Wine (its `ntdll` exports `wine_get_version`).
    pub fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain(Some(0)).collect();
        // SAFETY: both strings are NUL-terminated; the module handle is not freed.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    fn volume_flags(handle: HANDLE) -> Option<u32> {
        let mut flags = 0u32;
        // SAFETY: a valid handle; every out-pointer is either null with a zero size or points
        // at a local.
        let ok = unsafe {
            GetVolumeInformationByHandleW(
                handle,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut flags,
                std::ptr::null_mut(),
                0,
            )
        };
        (ok != 0).then_some(flags)
    }

    /// Windows answers for the folder's access list and the volume: the folder is opened for
    /// `FILE_ADD_FILE` (the right to create a file in it), which the system grants or refuses
    /// as it would a real create, and the volume's read-only flag is asked through that handle.
    ///
    /// Wine grants every open and keeps no access lists; the one thing it tells of the Unix
    /// permissions is the read-only attribute, which it gives a folder nobody may write. Under
    /// Wine (only: Windows does not honour that attribute on a folder) it counts as denied.
    pub fn writable(dir: &Path) -> Result<(), NotWritable> {
        let file = match open(dir, FILE_ADD_FILE | FILE_READ_ATTRIBUTES) {
            Ok(f) => f,
            Err(e) => {
                return Err(match e.raw_os_error().map(|c| c as u32) {
                    Some(ERROR_ACCESS_DENIED) => NotWritable::PermissionDenied,
                    Some(ERROR_WRITE_PROTECT) => NotWritable::ReadOnlyFileSystem,
                    _ => NotWritable::Other(crate::error::describe_io(&e)),
                });
            }
        };
        if volume_flags(file.as_raw_handle()).is_some_and(|f| f & FILE_READ_ONLY_VOLUME != 0) {
            return Err(NotWritable::ReadOnlyFileSystem);
        }
        if under_wine() {
            // SAFETY: a NUL-terminated path.
            let attributes = unsafe { GetFileAttributesW(wide(dir).as_ptr()) };
            if attributes != INVALID_FILE_ATTRIBUTES && attributes & FILE_ATTRIBUTE_READONLY != 0 {
                return Err(NotWritable::PermissionDenied);
            }
        }
        Ok(())
    }

    /// Whether the file can be opened for reading (asked by opening it; nothing is read).
    pub fn readable(path: &Path) -> bool {
        open(path, FILE_GENERIC_READ).is_ok()
    }

    /// `GetDiskFreeSpaceExW`: the bytes available to this user (quotas included).
    pub fn free_space(path: &Path) -> Option<u64> {
        let mut available = 0u64;
        // SAFETY: a NUL-terminated path; the two totals are not asked for.
        let ok = unsafe {
            GetDiskFreeSpaceExW(
                wide(path).as_ptr(),
                &mut available,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        (ok != 0).then_some(available)
    }

    /// The serial number of the volume that holds the file.
    pub fn file_system_id(path: &Path) -> Option<u64> {
        let file = open(path, FILE_READ_ATTRIBUTES).ok()?;
        // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is valid; the handle is open.
        let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
        let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) };
        (ok != 0).then_some(u64::from(info.dwVolumeSerialNumber))
    }

    pub fn is_executable(_meta: &Metadata) -> bool {
        true
    }

    pub fn special_kind(_t: &std::fs::FileType) -> &'static str {
        "a special file"
    }
}

#[cfg(not(any(unix, windows)))]
mod sys {
    use std::fs::{self, Metadata};
    use std::path::Path;

    use super::NotWritable;

    pub fn writable(dir: &Path) -> Result<(), NotWritable> {
        match fs::metadata(dir) {
            Ok(meta) if meta.permissions().readonly() => Err(NotWritable::PermissionDenied),
            Ok(_) => Ok(()),
            Err(e) => Err(NotWritable::Other(crate::error::describe_io(&e))),
        }
    }

    pub fn readable(path: &Path) -> bool {
        fs::metadata(path).is_ok()
    }

    pub fn free_space(_path: &Path) -> Option<u64> {
        None
    }

    pub fn file_system_id(_path: &Path) -> Option<u64> {
        None
    }

    pub fn is_executable(_meta: &Metadata) -> bool {
        true
    }

    pub fn special_kind(_t: &std::fs::FileType) -> &'static str {
        "a special file"
    }
}

/// The path itself or its nearest ancestor that exists.
pub fn nearest_existing(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    absolute
        .ancestors()
        .find(|p| fs::metadata(p).is_ok())
        .map(Path::to_path_buf)
}

/// Whether two files have the same bytes (sizes compared first; read-only).
pub fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    if fs::metadata(a)?.len() != fs::metadata(b)?.len() {
        return Ok(false);
    }
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Whether a file holds exactly `bytes` (read-only).
pub fn has_content(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    if fs::metadata(path)?.len() != bytes.len() as u64 {
        return Ok(false);
    }
    Ok(fs::read(path)? == bytes)
}

/// The hex SHA-256 of a file (read-only).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    Ok(super::transfer::hash_reader(&mut file)?.1)
}

const CHUNK: usize = 1 << 20;

/// Why [`copy_atomic`] stopped.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the source failed.
    Read(io::Error),
    /// Writing, syncing or renaming at the destination failed.
    Write(io::Error),
    /// The copy does not have the source's size.
    Size {
        expected: u64,
        found: u64,
    },
    /// What was read back from the destination after the sync is not what was read from the
    /// source: both SHA-256s, in hex.
    Mismatch {
        source: String,
        on_disk: String,
    },
    /// The copy's SHA-256 is not the one the file table gives.
    Expected {
        expected: String,
        found: String,
    },
    /// The copy's size is not the one the file table gives.
    ExpectedSize {
        expected: u64,
        found: u64,
    },
    Cancelled,
}

/// What [`copy_atomic`] wrote.
#[derive(Debug, Clone)]
pub struct Copied {
    pub bytes: u64,
    /// The hex SHA-256 of the source, which the copy was verified to have on disk.
    pub sha256: String,
}

/// The name of the temporary file a copy to `target` goes through: beside the target, so the
/// final rename is atomic, and always the same, so a copy interrupted by a crash leaves at most
/// one, which the next attempt replaces.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.stepwise-part"))
}

/// What [`copy_all_atomic`] tells of the files it put in place: their index among the jobs,
/// and what was copied.
pub type Placed<'a> = dyn FnMut(&[(usize, Copied)]) + 'a;

/// One file of [`copy_all_atomic`].
pub struct CopyJob<'a> {
    pub from: &'a Path,
    pub to: &'a Path,
    /// The test hook names this file (`super::verify::ALTER_HOOK`): its temporary file is
    /// altered before it is read back.
    pub alter: bool,
    /// The SHA-256 the file table gives, which the copy must have before it is renamed into
    /// place.
    pub expected_sha256: Option<&'a str>,
    /// The size the file table gives.
    pub expected_size: Option<u64>,
}

/// Copies `from` to `to` through [`temp_path`] and proves the copy
/// ([`super::transfer::copy_verified`]): the source is read once and hashed, written, and read
/// back from the disk and compared with what was read; only when they agree is the copy renamed
/// over `to` and the folder synced. On any failure (a copy that differs included) the temporary
/// file is removed and `to` is left as it was.
///
/// Whatever is at the temporary name (a file left by a crash, or a link someone planted) is
/// removed, never written through: the file is created anew ([`crate::fsutil::create_fresh`]).
/// The copy gets the permissions of the file it replaces, or, when new, the source's without
/// write access for anyone but the owner ([`crate::fsutil::kept_permissions`]); a backup, which
/// is new, therefore has the original's permissions.
pub fn copy_atomic(
    from: &Path,
    to: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    let job = CopyJob {
        from,
        to,
        alter: false,
        expected_sha256: None,
        expected_size: None,
    };
    copy_one(&job, cancel, progress)
}

fn copy_one(
    job: &CopyJob,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    let tmp = temp_path(job.to);
    let result = (|| {
        let (src, len, dst) = open_pair(job, &tmp)?;
        let copied =
            super::transfer::copy_verified(&src, &dst, len, &tmp, job.alter, cancel, progress)?;
        expected(job, &copied)?;
        crate::fsutil::replace(&tmp, job.to).map_err(CopyError::Write)?;
        if let Some(dir) = job.to.parent() {
            crate::fsutil::sync_dir(dir);
        }
        Ok(copied)
    })();
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

/// The files of a batch (at most this many, of at most [`BATCH_BYTES`] in all), each at most
/// one piece of the copy.
const BATCH_FILES: usize = 64;
const BATCH_BYTES: u64 = 64 << 20;

/// Copies files in order, each as [`copy_atomic`] does, and with the same proof; calls `placed`
/// with the files (index in `jobs`, what was copied) once they are renamed into place and their
/// folder synced. Small files go in batches, so that the disk is waited for once per batch
/// rather than several times per file: each is written to its temporary name
/// ([`super::transfer::stage`]), then all are synced together ([`super::transfer::settle`]),
/// read back from the disk and compared one by one, renamed into place, and their folders
/// synced once. A larger file goes alone, pipelined ([`super::transfer::copy_verified`]).
///
/// On a failure, the files before the one that failed are in place (and were given to
/// `placed`), and nothing at or after it was renamed: its temporary file and theirs are
/// removed. Gives the index of the file that failed and why. `progress` gets the bytes of all
/// the files copied so far; `cancel` is looked at between files and pieces.
pub fn copy_all_atomic(
    jobs: &[CopyJob],
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
    placed: &mut Placed,
) -> Result<(), (usize, CopyError)> {
    let mut base = 0u64;
    let mut i = 0;
    while i < jobs.len() {
        if cancel.load(Ordering::SeqCst) {
            return Err((i, CopyError::Cancelled));
        }
        let size = |j: &CopyJob| fs::metadata(j.from).map_or(u64::MAX, |m| m.len());
        let first = size(&jobs[i]);
        if first > super::transfer::PIECE as u64 {
            let mut report = |n: u64| progress(base + n);
            let copied = copy_one(&jobs[i], cancel, &mut report).map_err(|e| (i, e))?;
            base += copied.bytes;
            placed(&[(i, copied)]);
            i += 1;
            continue;
        }
        let (mut end, mut bytes) = (i + 1, first);
        while end < jobs.len() && end - i < BATCH_FILES {
            let next = size(&jobs[end]);
            if next > super::transfer::PIECE as u64 || bytes + next > BATCH_BYTES {
                break;
            }
            bytes += next;
            end += 1;
        }
        let done = copy_batch(jobs, i..end, cancel, &mut |n| progress(base + n), placed)?;
        base += done;
        i = end;
    }
    Ok(())
}

/// One batch of [`copy_all_atomic`]: the jobs of `range`, all small. Gives the bytes copied.
fn copy_batch(
    jobs: &[CopyJob],
    range: std::ops::Range<usize>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
    placed: &mut Placed,
) -> Result<u64, (usize, CopyError)> {
    let mut failure: Option<(usize, CopyError)> = None;
    let mut staged = Vec::new();
    let mut tmps = Vec::new();
    let mut bytes = 0;
    for i in range {
        if cancel.load(Ordering::SeqCst) {
            failure = Some((i, CopyError::Cancelled));
            break;
        }
        let tmp = temp_path(jobs[i].to);
        let result = open_pair(&jobs[i], &tmp).and_then(|(src, len, dst)| {
            super::transfer::stage(&src, dst, len, &tmp, jobs[i].alter)
        });
        match result {
            Ok(s) => {
                staged.push(s);
                tmps.push((i, tmp));
            }
            Err(e) => {
                remove_quietly(&tmp);
                failure = Some((i, e));
                break;
            }
        }
        bytes += fs::metadata(jobs[i].from).map_or(0, |m| m.len());
        progress(bytes);
    }
    if let Err(e) = super::transfer::settle(&staged) {
        for (_, tmp) in &tmps {
            remove_quietly(tmp);
        }
        return Err((tmps.first().map_or(0, |(i, _)| *i), e));
    }
    let mut proved = Vec::new();
    for (s, (i, tmp)) in staged.into_iter().zip(tmps) {
        if failure.as_ref().is_some_and(|(f, _)| *f < i) {
            remove_quietly(&tmp);
            continue;
        }
        match s.prove().and_then(|c| expected(&jobs[i], &c).map(|()| c)) {
            Ok(c) => proved.push((i, c, tmp)),
            Err(e) => {
                remove_quietly(&tmp);
                failure = Some((i, e));
            }
        }
    }
    let mut in_place = Vec::new();
    let mut dirs: Vec<&Path> = Vec::new();
    let mut left = proved.into_iter();
    for (i, c, tmp) in left.by_ref() {
        if let Err(e) = crate::fsutil::replace(&tmp, jobs[i].to) {
            remove_quietly(&tmp);
            failure = Some((i, CopyError::Write(e)));
            break;
        }
        if let Some(dir) = jobs[i].to.parent()
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
        in_place.push((i, c));
    }
    for (_, _, tmp) in left {
        remove_quietly(&tmp);
    }
    for dir in dirs {
        crate::fsutil::sync_dir(dir);
    }
    if !in_place.is_empty() {
        placed(&in_place);
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(in_place.iter().map(|(_, c)| c.bytes).sum()),
    }
}

/// The source open, its size, and the temporary file created anew with the permissions the
/// copy will have (set before the data, so that the sync of the data makes them durable too).
fn open_pair(job: &CopyJob, tmp: &Path) -> Result<(File, u64, File), CopyError> {
    let src = File::open(job.from).map_err(CopyError::Read)?;
    let src_meta = src.metadata().map_err(CopyError::Read)?;
    let dst = crate::fsutil::create_fresh(tmp).map_err(CopyError::Write)?;
    let permissions = crate::fsutil::kept_permissions(job.to, &src_meta);
    dst.set_permissions(permissions).map_err(CopyError::Write)?;
    Ok((src, src_meta.len(), dst))
}

/// The copy has the size and the SHA-256 the file table gives, where it gives them.
fn expected(job: &CopyJob, copied: &Copied) -> Result<(), CopyError> {
    if let Some(want) = job.expected_size
        && want != copied.bytes
    {
        return Err(CopyError::ExpectedSize {
            expected: want,
            found: copied.bytes,
        });
    }
    match job.expected_sha256 {
        Some(want) if !want.eq_ignore_ascii_case(&copied.sha256) => Err(CopyError::Expected {
            expected: want.to_string(),
            found: copied.sha256.clone(),
        }),
        _ => Ok(()),
    }
}

/// Removes a file, ignoring any error (for temporary files that may not exist).
pub fn remove_quietly(path: &Path) {
    let _ = fs::remove_file(path);
}

/// A file name for an instance key (`step@HOST#item`): characters that some file system
/// refuses are replaced with `_`.
pub fn key_file_name(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

/// A byte count for people: `1.4 MB`, `512 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_paths_are_foreign_elsewhere() {
        if cfg!(windows) {
            return;
        }
        assert!(local_path(r"C:\MSIShare").is_err());
        assert!(local_path(r"\\server\share").is_err());
        assert!(local_path(r"%WINDIR%\Microsoft.NET").is_err());
        assert_eq!(
            local_path(r"/tmp/pkg\Demo.msi").unwrap(),
            PathBuf::from("/tmp/pkg/Demo.msi")
        );
        assert!(!has_env_placeholder("100% sure, 50% done"));
        assert!(has_env_placeholder("%ProgramFiles(x86)%"));
    }

    #[test]
    fn names_match_ignoring_case() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Exchange2007resourcemanagerns.msi"), b"x").unwrap();
        let listing = Listing::read(dir.path()).unwrap();
        match listing.find("Exchange2007ResourceManagerNS.msi") {
            Lookup::Found(e) => assert_eq!(e.name, "Exchange2007resourcemanagerns.msi"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(listing.find("Other.msi"), Lookup::Missing));
    }

    #[test]
    fn exact_match_wins_and_two_others_are_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["Demo.msi", "DEMO.msi", "demo.MSI"] {
            fs::write(dir.path().join(name), name).unwrap();
        }
        let listing = Listing::read(dir.path()).unwrap();
        match listing.find("demo.MSI") {
            Lookup::Found(e) => assert_eq!(e.name, "demo.MSI"),
            other => panic!("{other:?}"),
        }
        match listing.find("Demo.MSI") {
            Lookup::Ambiguous(names) => assert_eq!(names.len(), 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn locate_ignores_case_in_every_component() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("ExchangeSetupLogs")).unwrap();
        fs::write(dir.path().join("ExchangeSetupLogs").join("a.log"), b"").unwrap();
        let asked = dir.path().join("exchangesetuplogs").join("A.LOG");
        assert_eq!(
            locate(&asked).unwrap(),
            dir.path().join("ExchangeSetupLogs").join("a.log")
        );
        assert!(locate(&dir.path().join("nothing")).is_none());
    }

    #[test]
    fn copy_atomic_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&from, vec![7u8; 3 * CHUNK + 5]).unwrap();
        let mut seen = Vec::new();
        let copied =
            copy_atomic(&from, &to, &AtomicBool::new(false), &mut |n| seen.push(n)).unwrap();
        assert_eq!(copied.bytes, 3 * CHUNK as u64 + 5);
        assert_eq!(seen.last(), Some(&copied.bytes));
        assert!(same_content(&from, &to).unwrap());
        assert!(!temp_path(&to).exists());
        let cancelled = copy_atomic(
            &from,
            &dir.path().join("c"),
            &AtomicBool::new(true),
            &mut |_| {},
        );
        assert!(matches!(cancelled, Err(CopyError::Cancelled)));
        assert!(!dir.path().join("c").exists());
        assert!(!temp_path(&dir.path().join("c")).exists());
    }
}
