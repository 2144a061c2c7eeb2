//! Files copied at the disk's speed, with proof of what landed. The source is read once, in
//! pieces, into memory; each piece is hashed (SHA-256, with the CPU's SHA instructions where it
//! has them: `sha2` picks them at run time), written to the destination from that same memory,
//! read back from the disk into a second buffer once it is there, and compared byte for byte
//! with the piece it came from. The SHA-256 a copy reports is therefore the SHA-256 of the
//! bytes read back from the disk, computed once.
//!
//! How a piece reaches the disk and comes back:
//!
//! - on Linux, by direct I/O (`O_DIRECT`, set on the open file): the write goes from the piece
//!   to the device and the read-back comes from the device, not from the page cache. Where the
//!   file system refuses direct I/O (tmpfs, some network file systems) the piece is written
//!   through the page cache, written to the disk and waited for (`sync_file_range(2)`), dropped
//!   from the cache (`posix_fadvise(DONTNEED)`) and read back. Where the file system has
//!   reflinks (`FICLONE`), the whole file is cloned instead of written, and read back all the
//!   same;
//! - elsewhere (Windows), through the cache: written, synced, read back (which the system may
//!   serve from its cache) and compared.
//!
//! A file of more than one piece is pipelined over three threads: the calling thread reads and
//! hashes a piece while a writer writes the one before and a checker reads back and compares
//! the one before that ([`IN_FLIGHT`] pieces in memory). A file of one piece is done on the
//! calling thread alone. Many small files are best copied as a batch: [`stage`] writes each to
//! the page cache without waiting, [`settle`] has them all written to the disk and synced
//! together, and [`Staged::prove`] reads each back from the disk and compares it.
//!
//! What is compared here: the bytes only. The temporary name, the permissions, the final rename
//! and what the file table says are the callers' (`fsops`).

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::fsops::{Copied, CopyError};
use crate::fsutil::hex;

/// The size of a piece: read, hashed, written and read back as one.
pub const PIECE: usize = 8 << 20;
/// Pieces of one file in memory at once (being hashed, written, read back and compared).
const IN_FLIGHT: usize = 3;
/// Direct I/O needs buffers, offsets and lengths aligned to the device's block; 4 KiB serves
/// every common block size.
const ALIGN: usize = 4096;
/// The buffer [`hash_reader`] reads through.
const BUF: usize = 1 << 20;

/// The bytes that replace the start of a temporary file when the test hook
/// ([`crate::actions::verify::ALTER_HOOK`]) names the file being copied.
pub const ALTERED: &[u8] = b"altered by STEPWISE_TEST_ALTER_COPY";

/// Copies `len` bytes of `src` into the empty file `dst` (open for reading and writing; its
/// path is `tmp`), syncs it, and proves what is on disk: every piece read back from the disk
/// must be the bytes read from the source, whose SHA-256 is returned. `alter` is the test hook
/// (see [`ALTERED`]). `progress` gets the bytes copied so far; `cancel` is looked at between
/// pieces.
pub fn copy_verified(
    src: &File,
    dst: &File,
    len: u64,
    tmp: &Path,
    alter: bool,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CopyError> {
    if cancel.load(Ordering::SeqCst) {
        return Err(CopyError::Cancelled);
    }
    sys::read_ahead(src);
    let dest = sys::Dest::open(dst, src, len, true);
    let checker = Checker { tmp, alter };
    let (copied, sha256, differs) = if len <= PIECE as u64 {
        one_piece(src, &dest, len, &checker, progress)?
    } else {
        pipelined(src, &dest, len, &checker, cancel, progress)?
    };
    dest.finish(len).map_err(CopyError::Write)?;
    judge(dst, tmp, len, copied, sha256, differs)
}

/// A file read, hashed and written to its temporary name without waiting for the disk; kept
/// in memory until [`Staged::prove`] has compared it with what the disk returns.
pub struct Staged {
    dst: File,
    data: Buffer,
    len: u64,
    copied: u64,
    sha256: String,
    tmp: std::path::PathBuf,
    alter: bool,
}

/// Reads `len` bytes of `src` (a small file: its bytes are kept in memory), hashes them and
/// writes them to the empty file `dst`, whose path is `tmp`, without syncing.
pub fn stage(
    src: &File,
    dst: File,
    len: u64,
    tmp: &Path,
    alter: bool,
) -> Result<Staged, CopyError> {
    let mut data = Buffer::new(len as usize);
    let copied = read_full_at(src, &mut data.bytes_mut()[..len as usize], 0)
        .map_err(CopyError::Read)? as u64;
    let sha256 = hex(&Sha256::digest(&data.bytes()[..copied as usize]));
    let dest = sys::Dest::open(&dst, src, len, false);
    let mut piece = Piece {
        off: 0,
        len: copied as usize,
        buf: data,
    };
    dest.write(&mut piece).map_err(CopyError::Write)?;
    let data = piece.buf;
    Ok(Staged {
        dst,
        data,
        len,
        copied,
        sha256,
        tmp: tmp.to_path_buf(),
        alter,
    })
}

/// Has every staged file written to the disk and synced: the writes are all started first, so
/// that the disk takes them together, then the files are synced ([`sys::sync_many`]: on Linux
/// one `syncfs` per file system for several files, each of whose syncs would otherwise wait
/// for a flush of the disk's cache of its own).
pub fn settle(staged: &[Staged]) -> Result<(), CopyError> {
    for s in staged {
        sys::start_writeback(&s.dst);
    }
    let files: Vec<&File> = staged.iter().map(|s| &s.dst).collect();
    sys::sync_many(&files).map_err(CopyError::Write)
}

impl Staged {
    /// Reads the file back from the disk and compares it with the bytes staged; gives their
    /// SHA-256 when they agree.
    pub fn prove(self) -> Result<Copied, CopyError> {
        let dest = sys::Dest::reopen_for_read_back(&self.dst);
        let checker = Checker {
            tmp: &self.tmp,
            alter: self.alter,
        };
        let piece = Piece {
            off: 0,
            len: self.copied as usize,
            buf: self.data,
        };
        let mut back = Buffer::new(piece.len);
        let differs = checker
            .check(&dest, &piece, &mut back, true)
            .map_err(CopyError::Write)?;
        judge(
            &self.dst,
            &self.tmp,
            self.len,
            self.copied,
            self.sha256,
            differs,
        )
    }
}

/// The verdict on a copy: the source gave `len` bytes, the file has that size, and no piece
/// read back differed (`differs`: the first offset that did).
fn judge(
    dst: &File,
    tmp: &Path,
    len: u64,
    copied: u64,
    sha256: String,
    differs: Option<u64>,
) -> Result<Copied, CopyError> {
    if copied != len {
        return Err(CopyError::Size {
            expected: len,
            found: copied,
        });
    }
    if differs.is_some() {
        // What the disk holds instead, for the message (read again: this is the rare path).
        let on_disk = File::open(tmp)
            .and_then(|mut f| hash_reader(&mut f))
            .map_or_else(|e| format!("unreadable ({e})"), |(_, h)| h);
        return Err(CopyError::Mismatch {
            source: sha256,
            on_disk,
        });
    }
    let on_disk_len = dst.metadata().map_err(CopyError::Write)?.len();
    if on_disk_len != len {
        return Err(CopyError::Size {
            expected: len,
            found: on_disk_len,
        });
    }
    Ok(Copied { bytes: len, sha256 })
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

/// A buffer whose start is aligned for direct I/O, of a whole number of blocks.
struct Buffer {
    raw: Vec<u8>,
    start: usize,
    size: usize,
}

impl Buffer {
    fn new(len: usize) -> Buffer {
        let size = len.next_multiple_of(ALIGN).max(ALIGN);
        let raw = vec![0u8; size + ALIGN];
        // Never more than ALIGN; were the start not aligned, direct I/O would refuse the
        // buffer and the copy would go through the page cache instead.
        let start = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        Buffer { raw, start, size }
    }

    fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.size]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.size]
    }
}

/// One piece of a file: where it goes, how many bytes of the buffer are the source's.
struct Piece {
    off: u64,
    len: usize,
    buf: Buffer,
}

/// Reads back what was written and compares it with the piece.
struct Checker<'a> {
    tmp: &'a Path,
    alter: bool,
}

impl Checker<'_> {
    /// Reads the piece back from the disk into `back` and compares: the offset of the first
    /// byte that differs (a read-back cut short differs where it ends). `synced`: the file was
    /// already synced whole.
    fn check(
        &self,
        dest: &sys::Dest,
        piece: &Piece,
        back: &mut Buffer,
        synced: bool,
    ) -> io::Result<Option<u64>> {
        if !synced {
            dest.settle(piece.off, piece.len)?;
        }
        if self.alter && piece.off == 0 {
            alter_for_test(self.tmp);
        }
        let got = dest.read_back(piece.off, piece.len, back)?;
        let (want, have) = (&piece.buf.bytes()[..piece.len], &back.bytes()[..got]);
        if got == piece.len && want == have {
            return Ok(None);
        }
        let at = want.iter().zip(have).take_while(|(a, b)| a == b).count();
        Ok(Some(piece.off + at as u64))
    }
}

/// The test hook: replaces the start of the temporary file through a handle of its own and
/// syncs it, as a file system that corrupts a write would, before the file is read back.
fn alter_for_test(tmp: &Path) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(tmp) {
        let _ = f.write_all(ALTERED).and_then(|()| f.sync_all());
    }
}

/// A file of one piece, on the calling thread: read and hash, write, read back and compare.
fn one_piece(
    src: &File,
    dest: &sys::Dest,
    len: u64,
    checker: &Checker,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, String, Option<u64>), CopyError> {
    let mut piece = Piece {
        off: 0,
        len: 0,
        buf: Buffer::new(len as usize),
    };
    piece.len = read_full_at(src, &mut piece.buf.bytes_mut()[..len as usize], 0)
        .map_err(CopyError::Read)?;
    let sha256 = hex(&Sha256::digest(&piece.buf.bytes()[..piece.len]));
    dest.write(&mut piece).map_err(CopyError::Write)?;
    progress(piece.len as u64);
    let mut back = Buffer::new(piece.len);
    let differs = checker
        .check(dest, &piece, &mut back, false)
        .map_err(CopyError::Write)?;
    Ok((piece.len as u64, sha256, differs))
}

/// A file of several pieces: this thread reads and hashes, a writer writes, a checker reads
/// back and compares, each on its own piece. Gives the bytes read from the source, their
/// SHA-256 and the first offset whose read-back differed.
fn pipelined(
    src: &File,
    dest: &sys::Dest,
    len: u64,
    checker: &Checker,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, String, Option<u64>), CopyError> {
    let (to_write, writes) = mpsc::sync_channel::<Piece>(IN_FLIGHT);
    let (to_check, checks) = mpsc::sync_channel::<Piece>(IN_FLIGHT);
    let (free, freed) = mpsc::channel::<Buffer>();
    for _ in 0..IN_FLIGHT {
        let _ = free.send(Buffer::new(PIECE));
    }
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> io::Result<()> {
            for mut piece in writes {
                dest.write(&mut piece)?;
                if to_check.send(piece).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let checker = s.spawn(move || -> io::Result<Option<u64>> {
            let mut back = Buffer::new(PIECE);
            let mut first = None;
            for piece in checks {
                let differs = checker.check(dest, &piece, &mut back, false)?;
                first = first.or(differs);
                let _ = free.send(piece.buf);
            }
            Ok(first)
        });
        let read = read_pieces(src, len, cancel, progress, &freed, to_write);
        let lost = || io::Error::other("a copy thread stopped unexpectedly");
        let written = writer.join().unwrap_or_else(|_| Err(lost()));
        let checked = checker.join().unwrap_or_else(|_| Err(lost()));
        let (copied, sha256) = read?;
        written.map_err(CopyError::Write)?;
        let differs = checked.map_err(CopyError::Write)?;
        Ok((copied, sha256, differs))
    })
}

/// The reading end of [`pipelined`]: each free buffer filled from the source, hashed and
/// handed to the writer. Stops early when the writer or the checker stopped (their error is
/// what the caller reports).
fn read_pieces(
    src: &File,
    len: u64,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
    freed: &mpsc::Receiver<Buffer>,
    to_write: mpsc::SyncSender<Piece>,
) -> Result<(u64, String), CopyError> {
    let mut hasher = Sha256::new();
    let mut off = 0u64;
    while off < len {
        if cancel.load(Ordering::SeqCst) {
            return Err(CopyError::Cancelled);
        }
        let Ok(mut buf) = freed.recv() else { break };
        let want = (PIECE as u64).min(len - off) as usize;
        let n = read_full_at(src, &mut buf.bytes_mut()[..want], off).map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf.bytes()[..n]);
        let piece = Piece { off, len: n, buf };
        if to_write.send(piece).is_err() {
            break;
        }
        off += n as u64;
        progress(off);
        if n < want {
            break;
        }
    }
    Ok((off, hex(&hasher.finalize())))
}

/// Reads until `buf` is full or the file ends; gives the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match sys::read_at(file, &mut buf[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `buf` at `off`.
fn write_all_at(file: &File, buf: &[u8], off: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match sys::write_at(file, &buf[done..], off + done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod sys {
    use std::fs::File;
    use std::io;
    use std::num::NonZeroU64;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::fs::{Advice, fadvise};

    use super::{ALIGN, Buffer, Piece, read_full_at, write_all_at};

    pub fn read_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(file, buf, off)
    }

    pub fn write_at(file: &File, buf: &[u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::write_at(file, buf, off)
    }

    /// Tells the kernel the source is read from start to end.
    pub fn read_ahead(src: &File) {
        let _ = fadvise(src, 0, None, Advice::Sequential);
    }

    /// Has the kernel start writing a file's dirty pages to the disk, without waiting.
    pub fn start_writeback(file: &File) {
        let _ = sync_file_range(file, 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }

    /// Syncs files: one `syncfs(2)` per file system that holds more than one of them (which
    /// writes and commits everything of that file system, as `sync` does, with one flush of
    /// the disk's cache), an `fsync` for a file alone on its file system.
    pub fn sync_many(files: &[&File]) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let mut devices = Vec::new();
        for f in files {
            devices.push(f.metadata()?.dev());
        }
        let mut done = Vec::new();
        for (f, dev) in files.iter().zip(&devices) {
            if done.contains(dev) {
                continue;
            }
            done.push(*dev);
            if devices.iter().filter(|d| *d == dev).count() == 1 {
                f.sync_all()?;
                continue;
            }
            // SAFETY: a valid open file descriptor; the call reads no memory of ours.
            if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// The destination of a copy: cloned from the source, or written and read back directly
    /// (`direct`), or through the page cache.
    pub struct Dest<'f> {
        file: &'f File,
        cloned: bool,
        direct: AtomicBool,
    }

    impl<'f> Dest<'f> {
        /// Clones `src` into `file` where the file system can, else sets direct I/O on `file`
        /// when `direct` is asked for and the file system takes it.
        pub fn open(file: &'f File, src: &File, len: u64, direct: bool) -> Dest<'f> {
            let cloned = len > 0 && rustix::fs::ioctl_ficlone(file, src).is_ok();
            let direct = direct && !cloned && set_direct(file, true);
            Dest {
                file,
                cloned,
                direct: AtomicBool::new(direct),
            }
        }

        /// A file written and synced before: read back directly where the file system takes
        /// it, else through the cache after dropping the file from it.
        pub fn reopen_for_read_back(file: &'f File) -> Dest<'f> {
            let direct = set_direct(file, true);
            if !direct {
                let _ = fadvise(file, 0, None, Advice::DontNeed);
            }
            Dest {
                file,
                cloned: false,
                direct: AtomicBool::new(direct),
            }
        }

        pub fn write(&self, piece: &mut Piece) -> io::Result<()> {
            if self.cloned {
                return Ok(());
            }
            if self.direct.load(Ordering::SeqCst) {
                // Whole blocks: the zeros past the source's bytes are cut off by `finish`.
                let padded = piece.len.next_multiple_of(ALIGN);
                piece.buf.bytes_mut()[piece.len..padded].fill(0);
                match write_all_at(self.file, &piece.buf.bytes()[..padded], piece.off) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                        // Direct I/O refused after all: through the cache from here on.
                        set_direct(self.file, false);
                        self.direct.store(false, Ordering::SeqCst);
                    }
                    other => return other,
                }
            }
            write_all_at(self.file, &piece.buf.bytes()[..piece.len], piece.off)
        }

        /// Makes a piece written through the cache ready to be read back from the disk:
        /// written and waited for, then dropped from the cache. Nothing to do for a piece
        /// written directly (it is on the device) or cloned (read back directly or not, the
        /// kernel reads what the disk holds once the cache has nothing for it).
        pub fn settle(&self, off: u64, len: usize) -> io::Result<()> {
            if self.direct.load(Ordering::SeqCst) {
                return Ok(());
            }
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            sync_file_range(self.file, off, len as u64, flags)?;
            let _ = fadvise(
                self.file,
                off,
                NonZeroU64::new(len as u64),
                Advice::DontNeed,
            );
            Ok(())
        }

        /// Reads back up to `len` bytes at `off` into `back`; gives the bytes read.
        pub fn read_back(&self, off: u64, len: usize, back: &mut Buffer) -> io::Result<usize> {
            if self.direct.load(Ordering::SeqCst) {
                let padded = len.next_multiple_of(ALIGN);
                match read_full_at(self.file, &mut back.bytes_mut()[..padded], off) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                        set_direct(self.file, false);
                        self.direct.store(false, Ordering::SeqCst);
                        self.settle(off, len)?;
                    }
                    other => return other.map(|n| n.min(len)),
                }
            }
            read_full_at(self.file, &mut back.bytes_mut()[..len], off)
        }

        /// Cuts the file to the source's size (a direct write of the last piece wrote whole
        /// blocks) and syncs it whole: its size, and the disk's write cache.
        pub fn finish(&self, len: u64) -> io::Result<()> {
            if self.file.metadata()?.len() != len {
                self.file.set_len(len)?;
            }
            self.file.sync_all()
        }
    }

    /// Sets or clears `O_DIRECT` on an open file; whether that took.
    fn set_direct(file: &File, on: bool) -> bool {
        let fd = file.as_raw_fd();
        // SAFETY: plain fcntl calls on a valid, open descriptor; no memory is passed.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 {
                return false;
            }
            let flags = match on {
                true => flags | libc::O_DIRECT,
                false => flags & !libc::O_DIRECT,
            };
            libc::fcntl(fd, libc::F_SETFL, flags) == 0
        }
    }

    fn sync_file_range(file: &File, off: u64, len: u64, flags: u32) -> io::Result<()> {
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
    use std::io;

    use super::{Buffer, Piece, read_full_at, write_all_at};

    #[cfg(unix)]
    pub fn read_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(file, buf, off)
    }

    #[cfg(unix)]
    pub fn write_at(file: &File, buf: &[u8], off: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::write_at(file, buf, off)
    }

    #[cfg(windows)]
    pub fn read_at(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(file, buf, off)
    }

    #[cfg(windows)]
    pub fn write_at(file: &File, buf: &[u8], off: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_write(file, buf, off)
    }

    pub fn read_ahead(_src: &File) {}

    pub fn start_writeback(_file: &File) {}

    pub fn sync_many(files: &[&File]) -> io::Result<()> {
        for f in files {
            f.sync_all()?;
        }
        Ok(())
    }

    /// The destination of a copy, written and read back through the system's cache.
    pub struct Dest<'f> {
        file: &'f File,
    }

    impl<'f> Dest<'f> {
        pub fn open(file: &'f File, _src: &File, _len: u64, _direct: bool) -> Dest<'f> {
            Dest { file }
        }

        pub fn reopen_for_read_back(file: &'f File) -> Dest<'f> {
            Dest { file }
        }

        pub fn write(&self, piece: &mut Piece) -> io::Result<()> {
            write_all_at(self.file, &piece.buf.bytes()[..piece.len], piece.off)
        }

        /// Syncs the file, so that what is read back was written to the disk first.
        pub fn settle(&self, _off: u64, _len: usize) -> io::Result<()> {
            self.file.sync_data()
        }

        pub fn read_back(&self, off: u64, len: usize, back: &mut Buffer) -> io::Result<usize> {
            read_full_at(self.file, &mut back.bytes_mut()[..len], off)
        }

        pub fn finish(&self, len: u64) -> io::Result<()> {
            if self.file.metadata()?.len() != len {
                self.file.set_len(len)?;
            }
            self.file.sync_all()
        }
    }
}
