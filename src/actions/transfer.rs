//! One file copied at the disk's speed, with proof of what landed: the source is hashed once
//! (SHA-256, with the CPU's SHA instructions where it has them: `sha2` picks them at run time),
//! the data is copied by the kernel where it can, and what is at the destination is read back
//! after it was written to the disk and hashed again; the copy is good only when both hashes
//! agree.
//!
//! On Linux three things run side by side, so that the copy costs about what a plain copy
//! followed by a sync costs:
//!
//! - the calling thread copies the data in 16 MiB ranges: a reflink of the whole file where the
//!   file system has them (`FICLONE`), otherwise `copy_file_range(2)` (the data does not pass
//!   through this process), otherwise `pread`/`pwrite` through a buffer;
//! - a second thread reads the source through a 1 MiB buffer and hashes it;
//! - a third takes each range once it is copied, has the kernel write it to the disk and waits
//!   for that (`sync_file_range(2)`), drops it from the page cache (`posix_fadvise(DONTNEED)`),
//!   reads it back and hashes it. What it reads is therefore what the disk returns, not the
//!   pages just written (unless the kernel keeps them despite the advice).
//!
//! Then the file is synced whole (`fsync`: its size and the disk's write cache), and the two
//! hashes are compared. Elsewhere the same steps run one after the other: copy through a buffer
//! while hashing, sync, read back from the start and hash.
//!
//! [`copy_verified`] only copies and proves; the temporary name, the permissions and the final
//! rename are the caller's (`fsops::copy_atomic`).

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use sha2::{Digest, Sha256};

use super::fsops::{Copied, CopyError};
use crate::fsutil::hex;

/// The size of a range the copy hands to the kernel at once, and reports progress after.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const RANGE: u64 = 16 << 20;
/// The buffer the hashing reads go through.
const BUF: usize = 1 << 20;

/// The test-only environment variable that simulates a file system that corrupts a write: when
/// the destination of a copy is the path it names, the temporary file's first byte is changed
/// through another handle after the file was written and synced, before it is read back.
pub const CORRUPT_HOOK: &str = "STEPWISE_TEST_CORRUPT_COPY";

/// Copies `len` bytes of `src` into the empty file `dst` (open for reading and writing; its
/// path is `tmp`), syncs it, and proves what is on disk: the SHA-256 of the source, read once,
/// must be the SHA-256 of the destination as read back after the sync. `target` is where the
/// copy will be renamed to (for the test hook only). `progress` gets the bytes copied so far;
/// `cancel` is looked at between ranges.
pub fn copy_verified(
    src: &File,
    dst: &File,
    len: u64,
    tmp: &Path,
    target: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    let (copied, source, on_disk) =
        sys::copy_and_read_back(src, dst, len, tmp, target, cancel, progress)?;
    let (source_bytes, source_sha256) = source;
    let (disk_bytes, disk_sha256) = on_disk;
    let on_disk_len = dst.metadata().map_err(CopyError::Write)?.len();
    if copied != len || source_bytes != len || disk_bytes != len || on_disk_len != len {
        let found = if copied != len || source_bytes != len {
            copied.min(source_bytes)
        } else {
            disk_bytes.min(on_disk_len)
        };
        return Err(CopyError::Size {
            expected: len,
            found,
        });
    }
    if source_sha256 != disk_sha256 {
        return Err(CopyError::Mismatch {
            source: source_sha256,
            on_disk: disk_sha256,
        });
    }
    Ok(Copied {
        bytes: len,
        sha256: source_sha256,
    })
}

/// The SHA-256 (hex) of everything `reader` gives, and how many bytes that was.
pub fn hash_reader(reader: &mut dyn io::Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

/// The test hook ([`CORRUPT_HOOK`]): changes the first byte of `tmp` through a handle of its
/// own when `target` is the path the variable names. Does nothing otherwise.
fn corrupt_for_test(tmp: &Path, target: &Path) {
    let Some(named) = std::env::var_os(CORRUPT_HOOK) else {
        return;
    };
    if Path::new(&named) != target {
        return;
    }
    use std::io::{Read, Seek, SeekFrom, Write};
    let Ok(mut f) = std::fs::OpenOptions::new().read(true).write(true).open(tmp) else {
        return;
    };
    let mut first = [0u8; 1];
    if f.read_exact(&mut first).is_ok() {
        first[0] = !first[0];
        let _ = f.seek(SeekFrom::Start(0)).and_then(|_| f.write_all(&first));
        let _ = f.sync_all();
    }
}

/// What the two readers found: bytes and SHA-256 of the source, and of the destination.
type Hashed = (u64, String);

#[cfg(target_os = "linux")]
mod sys {
    use std::fs::File;
    use std::io;
    use std::num::NonZeroU64;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    use rustix::fs::{Advice, fadvise};
    use rustix::io::Errno;
    use sha2::{Digest, Sha256};

    use super::{BUF, CopyError, Hashed, RANGE, corrupt_for_test, hex};

    pub fn copy_and_read_back(
        src: &File,
        dst: &File,
        len: u64,
        tmp: &Path,
        target: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, Hashed, Hashed), CopyError> {
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let (ranges, copied_ranges) = mpsc::channel::<(u64, u64)>();
        std::thread::scope(|s| {
            let source = s.spawn(move || hash_source(src, len, stop));
            let on_disk = s.spawn(move || read_back(dst, copied_ranges, tmp, target, stop));
            let copied = copy_ranges(src, dst, len, cancel, progress, &ranges);
            drop(ranges);
            let copied = copied.and_then(|n| dst.sync_all().map(|()| n).map_err(CopyError::Write));
            if copied.is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            let lost = || io::Error::other("a copy thread stopped unexpectedly");
            let source = source.join().unwrap_or_else(|_| Err(lost()));
            let on_disk = on_disk.join().unwrap_or_else(|_| Err(lost()));
            let copied = copied?;
            Ok((
                copied,
                source.map_err(CopyError::Read)?,
                on_disk.map_err(CopyError::Write)?,
            ))
        })
    }

    /// Copies range by range, handing each to the reader-back; returns the bytes copied (fewer
    /// than `len` when the source ended early).
    fn copy_ranges(
        src: &File,
        dst: &File,
        len: u64,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(u64),
        ranges: &mpsc::Sender<(u64, u64)>,
    ) -> Result<u64, CopyError> {
        if len > 0 && rustix::fs::ioctl_ficlone(dst, src).is_ok() {
            let mut off = 0;
            while off < len {
                let n = RANGE.min(len - off);
                let _ = ranges.send((off, n));
                off += n;
            }
            progress(len);
            return Ok(len);
        }
        let mut kernel = true;
        let mut buf = Vec::new();
        let mut off = 0u64;
        while off < len {
            if cancel.load(Ordering::SeqCst) {
                return Err(CopyError::Cancelled);
            }
            let want = RANGE.min(len - off);
            let n = copy_range(src, dst, off, want, &mut kernel, &mut buf)?;
            if n == 0 {
                break;
            }
            let _ = ranges.send((off, n));
            off += n;
            progress(off);
        }
        Ok(off)
    }

    /// Copies up to `want` bytes at `off`: by `copy_file_range` while the kernel can, else
    /// through `buf`. Returns the bytes copied, 0 at the end of the source.
    fn copy_range(
        src: &File,
        dst: &File,
        off: u64,
        want: u64,
        kernel: &mut bool,
        buf: &mut Vec<u8>,
    ) -> Result<u64, CopyError> {
        let mut done = 0u64;
        while *kernel && done < want {
            let (mut from, mut to) = (off + done, off + done);
            match rustix::fs::copy_file_range(
                src,
                Some(&mut from),
                dst,
                Some(&mut to),
                (want - done) as usize,
            ) {
                Ok(0) => return Ok(done),
                Ok(n) => done += n as u64,
                Err(Errno::INTR) => {}
                // Not between these two files (another file system on an older kernel, a
                // file system without it): through a buffer from here on.
                Err(Errno::XDEV | Errno::INVAL | Errno::OPNOTSUPP | Errno::NOSYS) if done == 0 => {
                    *kernel = false
                }
                Err(e) => return Err(CopyError::Write(e.into())),
            }
        }
        if done == want {
            return Ok(done);
        }
        if buf.is_empty() {
            buf.resize(BUF * 4, 0);
        }
        while done < want {
            let n = (want - done).min(buf.len() as u64) as usize;
            let got = read_at(src, &mut buf[..n], off + done).map_err(CopyError::Read)?;
            if got == 0 {
                break;
            }
            dst.write_all_at(&buf[..got], off + done)
                .map_err(CopyError::Write)?;
            done += got as u64;
        }
        Ok(done)
    }

    fn read_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
        loop {
            match file.read_at(buf, off) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }

    /// Reads the source once, from the start, through its own offsets, and hashes it.
    fn hash_source(src: &File, len: u64, stop: &AtomicBool) -> io::Result<Hashed> {
        let _ = fadvise(src, 0, None, Advice::Sequential);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; BUF];
        let mut off = 0u64;
        while off < len && !stop.load(Ordering::Relaxed) {
            let n = read_at(src, &mut buf, off)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            off += n as u64;
        }
        Ok((off, hex(&hasher.finalize())))
    }

    /// Takes each copied range in order: writes it to the disk and waits, drops it from the page
    /// cache, reads it back and hashes it.
    fn read_back(
        dst: &File,
        ranges: mpsc::Receiver<(u64, u64)>,
        tmp: &Path,
        target: &Path,
        stop: &AtomicBool,
    ) -> io::Result<Hashed> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; BUF];
        let mut total = 0u64;
        let mut first = true;
        for (off, len) in ranges {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            sync_range(dst, off, len)?;
            if first {
                corrupt_for_test(tmp, target);
                first = false;
            }
            let _ = fadvise(dst, off, NonZeroU64::new(len), Advice::DontNeed);
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(BUF as u64) as usize;
                let got = read_at(dst, &mut buf[..n], off + done)?;
                if got == 0 {
                    break;
                }
                hasher.update(&buf[..got]);
                done += got as u64;
            }
            total += done;
            if done < len {
                break;
            }
        }
        Ok((total, hex(&hasher.finalize())))
    }

    /// Writes a range of the file to the disk and waits for it (`sync_file_range` with
    /// `WAIT_BEFORE | WRITE | WAIT_AFTER`): its data only, not the file's size nor the disk's
    /// write cache, which the `fsync` at the end takes care of.
    fn sync_range(file: &File, off: u64, len: u64) -> io::Result<()> {
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        loop {
            // SAFETY: a valid open file descriptor; the call reads no memory of ours.
            let r =
                unsafe { libc::sync_file_range(file.as_raw_fd(), off as i64, len as i64, flags) };
            if r == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::fs::File;
    use std::io::{self, Read, Seek, SeekFrom, Write};
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use sha2::{Digest, Sha256};

    use super::{BUF, CopyError, Hashed, corrupt_for_test, hash_reader, hex};

    /// One after the other: copy through a buffer while hashing, sync, read back and hash.
    pub fn copy_and_read_back(
        src: &File,
        dst: &File,
        len: u64,
        tmp: &Path,
        target: &Path,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, Hashed, Hashed), CopyError> {
        let (mut reader, mut writer) = (src, dst);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; BUF * 4];
        let mut copied = 0u64;
        while copied < len {
            if cancel.load(Ordering::SeqCst) {
                return Err(CopyError::Cancelled);
            }
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            writer.write_all(&buf[..n]).map_err(CopyError::Write)?;
            hasher.update(&buf[..n]);
            copied += n as u64;
            progress(copied);
        }
        dst.sync_all().map_err(CopyError::Write)?;
        corrupt_for_test(tmp, target);
        writer.seek(SeekFrom::Start(0)).map_err(CopyError::Write)?;
        let on_disk = hash_reader(&mut writer).map_err(CopyError::Write)?;
        Ok((copied, (copied, hex(&hasher.finalize())), on_disk))
    }
}
