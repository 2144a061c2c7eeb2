//! `journal.jsonl`: appending events durably, and reading them back.
//!
//! The writer opens the file in append mode and never rewrites it: each event is one
//! `write_all` of the whole line, then `flush` and `sync_data`, before `append` returns. A crash
//! can therefore only leave a *torn* last line (part of an event, without its newline).
//!
//! The reader accepts an unparseable line in two places only: at the end of the file (a torn
//! write; reported as a warning), or just before a `resumed` event marked `repaired_torn_line` (a
//! torn write that a later process closed with a newline before appending). Anywhere else it is
//! corruption, reported with the file and line number. Both places admit a run of such lines
//! rather than a single one, because a process that reopens a torn journal can itself crash
//! while writing its first event (a full disk does that reliably), leaving two fragments in a
//! row. The first line must be the `run_started` event: that is what tells a journal from any
//! other file.
//!
//! The reader ([`Events`]) never holds the whole file: it reads whole lines through a buffer, a
//! batch of about 2 MiB at a time, parses and hashes the batch on several threads,
//! checks the lines in order, and hands each event on as it is checked, so a reader of a run
//! folds the events into its own state (the replay) and keeps none of them.
//!
//! # The hash chain
//!
//! The journal is tamper-evident: each event line ends with `"prev_sha256":"HEX"`, the SHA-256
//! of the previous event's whole line (its own link included), and the first event's link is
//! the SHA-256 of the run header (`run.json`), which [`super::Run::read_journal`] checks. So an
//! event changed, removed or inserted anywhere breaks the chain at the next line, which the
//! reader names; the last line's hash ([`Chain::Linked::last`]) stands for the whole record
//! and is printed on the as-run checklist, so a printed record can be matched to its journal.
//! The chain lives here, at the file layer, over the bytes of each line: it does not depend on
//! what kinds of events there are. Torn lines are not events and are not linked.
//!
//! A journal whose first event has no link was written before the chain existed (run format 1);
//! it is read as before and reported as not verifiable ([`Chain::Unlinked`]). One that stops
//! carrying links part-way is broken.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Error;
use super::event::{Event, EventKind, NewEvent};
use super::time::Timestamp;

/// The field that links an event to the one before.
pub const LINK_FIELD: &str = "prev_sha256";

/// Whether a journal's events are linked, and how it starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// Every event carries the hash of the one before; all links were checked.
    Linked {
        /// The first event's link: the SHA-256 of the run header it belongs to.
        first: String,
        /// The SHA-256 of the last event's line: what the next event links to, and what stands
        /// for the whole journal.
        last: String,
    },
    /// Written before events were linked (run format 1): it cannot be verified.
    Unlinked,
}

impl Chain {
    /// The hash of the last event's line, when the journal is linked.
    pub fn last(&self) -> Option<&str> {
        match self {
            Chain::Linked { last, .. } => Some(last),
            Chain::Unlinked => None,
        }
    }
}

/// The hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::fsutil::hex(&Sha256::digest(bytes))
}

/// The link a line carries: the 64 hex digits of its `prev_sha256`, which the writer always
/// puts last.
fn link_of(line: &[u8]) -> Option<&str> {
    let line = line.strip_suffix(b"\"}")?;
    if line.len() < 64 {
        return None;
    }
    let (rest, hex) = line.split_at(line.len() - 64);
    rest.strip_suffix(b",\"prev_sha256\":\"")?;
    let hex = std::str::from_utf8(hex).ok()?;
    hex.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        .then_some(hex)
}

/// What reading a journal found besides its events: whether they are linked, what the reader
/// had to step over, and where the journal ends. Its size does not grow with the journal's.
#[derive(Debug, Clone)]
pub struct JournalScan {
    /// Whether the events are linked ([`Chain`]); the links were checked.
    pub chain: Chain,
    /// Line numbers of the torn lines at the end (unfinished writes, from a crash): ignored.
    pub torn_lines: Vec<usize>,
    /// Line numbers of torn lines that a later process closed (see the module docs): ignored.
    pub repaired_lines: Vec<usize>,
    /// How many events the journal holds.
    pub events: u64,
    /// The sequence number of the last event.
    pub last_seq: u64,
    /// The first event (`run_started`), which says what run the journal belongs to.
    pub first: Option<Event>,
    /// How many bytes were read: a second pass reads these and no more.
    pub bytes: u64,
}

impl JournalScan {
    /// What an operator should be told about the journal (torn lines at its end), with `path`.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        torn_warnings(path, &self.torn_lines)
    }
}

/// The events of a journal, all in memory, and what the reader had to step over. Readers of a
/// run use [`Events`] or [`scan`], which keep one batch of lines at a time; this is for tests,
/// tools and the fuzz target.
#[derive(Debug, Clone)]
pub struct JournalRead {
    pub events: Vec<Event>,
    /// Whether the events are linked ([`Chain`]); the links were checked.
    pub chain: Chain,
    /// Line numbers of the torn lines at the end (unfinished writes, from a crash): ignored.
    pub torn_lines: Vec<usize>,
    /// Line numbers of torn lines that a later process closed (see the module docs): ignored.
    pub repaired_lines: Vec<usize>,
}

impl JournalRead {
    /// The hash a journal line stands for (without its newline): what the next event's
    /// `prev_sha256` holds.
    pub fn hash_line(line: &[u8]) -> String {
        sha256_hex(line)
    }

    /// What an operator should be told about the journal (torn lines at its end), with `path`.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        torn_warnings(path, &self.torn_lines)
    }
}

fn torn_warnings(path: &Path, torn_lines: &[usize]) -> Vec<String> {
    match torn_lines {
        [] => Vec::new(),
        [line] => vec![format!(
            "{}:{line}: the last line is torn (an unfinished write, probably from a crash); it is ignored",
            path.display()
        )],
        [first, .., last] => vec![format!(
            "{}:{first}-{last}: the last {} lines are torn (unfinished writes, probably from crashes); they are ignored",
            path.display(),
            torn_lines.len()
        )],
    }
}

/// Where a journal that was read ends: what an event appended to it follows.
pub trait JournalEnd {
    /// The sequence number of its last event (0 for none).
    fn last_seq(&self) -> u64;
    /// Whether its events are linked, and the last link.
    fn chain(&self) -> &Chain;
}

impl JournalEnd for JournalScan {
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn chain(&self) -> &Chain {
        &self.chain
    }
}

impl JournalEnd for JournalRead {
    fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }
    fn chain(&self) -> &Chain {
        &self.chain
    }
}

/// Reads a journal file whole into memory; see the module docs for what is tolerated.
pub fn read(path: &Path) -> Result<JournalRead, Error> {
    collect(Events::open(path)?)
}

/// Parses journal bytes; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JournalRead, Error> {
    collect(Events::new(path, bytes))
}

fn collect<R: io::BufRead>(mut reader: Events<R>) -> Result<JournalRead, Error> {
    let events = reader.by_ref().collect::<Result<Vec<Event>, Error>>()?;
    let scan = reader.finish();
    Ok(JournalRead {
        events,
        chain: scan.chain,
        torn_lines: scan.torn_lines,
        repaired_lines: scan.repaired_lines,
    })
}

/// Reads a journal file a batch of lines at a time, handing each event to `each` as soon as it
/// is checked; what else the reader found comes back once the whole file has been read. An
/// error may come after some events were handed over: they are then not to be trusted.
pub fn scan(path: &Path, mut each: impl FnMut(Event)) -> Result<JournalScan, Error> {
    let mut reader = Events::open(path)?;
    for event in reader.by_ref() {
        each(event?);
    }
    Ok(reader.finish())
}

/// How many bytes of lines are read, parsed (on several threads) and hashed at a time: the
/// reader's memory, whatever the journal's size.
const BATCH_BYTES: usize = 2 << 20;

/// A line parsed, with the SHA-256 of its bytes when it is an event.
type Parsed = (Result<Event, serde_json::Error>, [u8; 32]);

/// Whether a link (64 lower-case hex digits) is the hex of `hash`.
fn links_to(link: &str, hash: &[u8; 32]) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    link.len() == 64
        && link.as_bytes().chunks(2).zip(hash).all(|(pair, b)| {
            pair[0] == DIGITS[usize::from(b >> 4)] && pair[1] == DIGITS[usize::from(b & 0xf)]
        })
}

/// The events of a journal, read line by line through a buffer and checked as they come
/// (order, links, torn lines: see the module docs), in journal order. Iteration stops at the
/// first error, which is the last item; [`Events::finish`] then says what else was found.
///
/// Lines are read in batches of about 2 MiB, parsed and hashed on several threads
/// (parsing is most of the time it takes to open a run), and their meaning together is checked
/// in one pass, a line at a time, so memory holds one batch and never the whole journal.
pub struct Events<R> {
    path: PathBuf,
    input: R,
    /// Set once the input is exhausted.
    eof: bool,
    /// The lines of the current batch, without their newlines, and where each is in `buf`.
    buf: Vec<u8>,
    lines: Vec<std::ops::Range<usize>>,
    /// The lines of the batch parsed, taken as they are checked. Kept from batch to batch, as
    /// `buf` and `lines` are: a large block freed and allocated again per batch makes the
    /// allocator sort every small block freed since, which costs more than the parsing.
    parsed: Vec<Option<Parsed>>,
    /// The index in `lines` of the next line to check.
    next_in_batch: usize,
    /// Lines in the batches before this one.
    lines_before: usize,
    bytes: u64,
    /// Set after an error (or the end): nothing more comes.
    done: bool,
    state: Checked,
    /// When reading a journal a second time: the scan of the first time, which this one must
    /// match.
    again: Option<(u64, Chain)>,
}

/// What the checks of the lines read so far carry to the next line.
struct Checked {
    /// The first event's link, when it has one: then every event must.
    first_link: Option<String>,
    /// The line number and hash of the last event, for the next one's link.
    previous: Option<(usize, [u8; 32])>,
    last_seq: Option<u64>,
    events: u64,
    first: Option<Event>,
    repaired_lines: Vec<usize>,
    /// Consecutive lines that did not parse, waiting to see what follows them.
    unparsed: Vec<(usize, String)>,
}

impl Events<io::BufReader<File>> {
    /// Opens a journal file for reading.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Ok(Events::new(
            path,
            io::BufReader::with_capacity(1 << 16, file),
        ))
    }
}

impl Events<io::Take<io::BufReader<File>>> {
    /// Opens a journal file to read again what `first` read, and no more (a process may be
    /// appending to it): the same events, which are checked again, come back. If the file was
    /// changed in between, the last item is an error saying so.
    pub fn again(path: &Path, first: &JournalScan) -> Result<Self, Error> {
        use io::Read;
        let file = File::open(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let input = io::BufReader::with_capacity(1 << 16, file).take(first.bytes);
        let mut events = Events::new(path, input);
        events.again = Some((first.events, first.chain.clone()));
        Ok(events)
    }
}

impl<R: io::BufRead> Events<R> {
    /// Reads a journal from `input`; `path` is only used in messages.
    pub fn new(path: &Path, input: R) -> Events<R> {
        Events {
            path: path.to_path_buf(),
            input,
            eof: false,
            buf: Vec::new(),
            lines: Vec::new(),
            parsed: Vec::new(),
            next_in_batch: 0,
            lines_before: 0,
            bytes: 0,
            done: false,
            state: Checked {
                first_link: None,
                previous: None,
                last_seq: None,
                events: 0,
                first: None,
                repaired_lines: Vec::new(),
                unparsed: Vec::new(),
            },
            again: None,
        }
    }

    /// What was found besides the events. Complete once iteration has ended without an error.
    pub fn finish(self) -> JournalScan {
        let s = self.state;
        JournalScan {
            chain: s.chain(),
            torn_lines: s.unparsed.into_iter().map(|(n, _)| n).collect(),
            repaired_lines: s.repaired_lines,
            events: s.events,
            last_seq: s.last_seq.unwrap_or(0),
            first: s.first,
            bytes: self.bytes,
        }
    }

    fn corrupt(&self, line: Option<usize>, message: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            line,
            message,
        }
    }

    /// Reads the next batch of lines and parses them. `false` at the end of the input.
    fn refill(&mut self) -> Result<bool, Error> {
        self.lines_before += self.lines.len();
        self.buf.clear();
        self.lines.clear();
        self.next_in_batch = 0;
        while !self.eof && self.buf.len() < BATCH_BYTES {
            let start = self.buf.len();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::io(format!("cannot read {}", self.path.display()), e))?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.bytes += n as u64;
            // Whatever follows the last newline is a line too (a torn one, as a rule).
            let end = match self.buf.last() {
                Some(b'\n') => self.buf.len() - 1,
                _ => self.buf.len(),
            };
            self.lines.push(start..end);
        }
        parse_lines(&self.buf, &self.lines, &mut self.parsed);
        Ok(!self.lines.is_empty())
    }

    /// At the end of the input: an empty journal is not one, and a second reading must have
    /// found what the first did.
    fn at_end(&self) -> Result<(), Error> {
        if self.lines_before == 0 {
            return Err(self.corrupt(
                None,
                "the journal is empty; a run's journal starts with a run_started event".into(),
            ));
        }
        if let Some((events, chain)) = &self.again
            && (*events != self.state.events || *chain != self.state.chain())
        {
            return Err(self.corrupt(
                None,
                "the journal changed while it was being read (it was rewritten); read it again"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl Checked {
    /// Whether the events read so far are linked, and the last link.
    fn chain(&self) -> Chain {
        match (&self.first_link, &self.previous) {
            (Some(first), Some((_, last))) => Chain::Linked {
                first: first.clone(),
                last: crate::fsutil::hex(last),
            },
            _ => Chain::Unlinked,
        }
    }

    /// Checks one parsed line against those before it: the event, if it is one to hand over.
    fn check(
        &mut self,
        path: &Path,
        number: usize,
        line: &[u8],
        parsed: Parsed,
    ) -> Result<Option<Event>, Error> {
        let (parsed, hash) = parsed;
        let s = self;
        let corrupt = |line: usize, message: String| Error::Corrupt {
            path: path.to_path_buf(),
            line: Some(line),
            message,
        };
        match parsed {
            Ok(event) => {
                if let Some((first_bad, why)) = s.unparsed.first() {
                    if !matches!(
                        event.kind,
                        EventKind::Resumed {
                            repaired_torn_line: true,
                            ..
                        }
                    ) {
                        return Err(corrupt(*first_bad, why.clone()));
                    }
                    s.repaired_lines
                        .extend(s.unparsed.drain(..).map(|(n, _)| n));
                }
                if number == 1 && !matches!(event.kind, EventKind::RunStarted { .. }) {
                    return Err(corrupt(
                        1,
                        format!(
                            "not a stepwise journal: the first event is {}, not run_started",
                            event.kind.name()
                        ),
                    ));
                }
                let expected = s.last_seq.map_or(Some(1), |seq| seq.checked_add(1));
                if Some(event.seq) != expected {
                    let message = match s.last_seq {
                        Some(previous) => format!(
                            "corrupt journal: event {} follows event {previous}",
                            event.seq
                        ),
                        None => format!(
                            "corrupt journal: the first event is number {}, not 1",
                            event.seq
                        ),
                    };
                    return Err(corrupt(number, message));
                }
                match (s.first_link.is_some(), &s.previous, link_of(line)) {
                    (false, None, Some(first)) => s.first_link = Some(first.to_string()),
                    (false, _, _) => {}
                    (true, Some((_, expected)), Some(link)) if links_to(link, expected) => {}
                    (true, Some((line, _)), Some(_)) => {
                        return Err(corrupt(
                            number,
                            format!(
                                "the journal's chain is broken here: this event does not follow the one on line {line} (its {LINK_FIELD} differs); an event was changed, removed or inserted"
                            ),
                        ));
                    }
                    (true, _, _) => {
                        return Err(corrupt(
                            number,
                            format!(
                                "the journal's chain is broken here: this event carries no {LINK_FIELD}; it was added or rewritten by something other than stepwise"
                            ),
                        ));
                    }
                }
                s.previous = Some((number, hash));
                s.last_seq = Some(event.seq);
                s.events += 1;
                if s.first.is_none() {
                    s.first = Some(event.clone());
                }
                Ok(Some(event))
            }
            Err(e) if number == 1 => Err(corrupt(
                1,
                format!(
                    "not a stepwise journal: the first line is not a run_started event ({})",
                    describe_json_error(&e)
                ),
            )),
            Err(e) if let Some(kind) = newer_kind(&e, line) => Err(corrupt(
                number,
                format!(
                    "event kind `{kind}` is not known to this stepwise ({}): the journal was written by a newer version; use that version to read or resume it",
                    env!("CARGO_PKG_VERSION")
                ),
            )),
            Err(e) => {
                s.unparsed.push((
                    number,
                    format!(
                        "corrupt journal: not a valid event ({})",
                        describe_json_error(&e)
                    ),
                ));
                Ok(None)
            }
        }
    }
}

impl<R: io::BufRead> Iterator for Events<R> {
    type Item = Result<Event, Error>;

    fn next(&mut self) -> Option<Result<Event, Error>> {
        while !self.done {
            let Some(parsed) = self
                .parsed
                .get_mut(self.next_in_batch)
                .and_then(Option::take)
            else {
                match self.refill() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.done = true;
                        return self.at_end().err().map(Err);
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            };
            let index = self.next_in_batch;
            self.next_in_batch += 1;
            let number = self.lines_before + index + 1;
            let line = &self.buf[self.lines[index].clone()];
            let checked = self.state.check(&self.path, number, line, parsed);
            match checked {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Parses a batch of lines into `parsed`, on several threads for a long batch: the lines are
/// independent, and parsing is most of the time it takes to open a run. What the lines mean
/// together (order, links, torn lines) is checked afterwards, a line at a time.
fn parse_lines(bytes: &[u8], lines: &[std::ops::Range<usize>], parsed: &mut Vec<Option<Parsed>>) {
    let parse = |range: &std::ops::Range<usize>| {
        let line = &bytes[range.clone()];
        // Valid UTF-8 (the usual case) lets the line be parsed as text, which spares
        // serde_json from checking every string again; the result is the same either way.
        let event = match std::str::from_utf8(line) {
            Ok(text) => serde_json::from_str::<Event>(text),
            Err(_) => serde_json::from_slice::<Event>(line),
        };
        // Hashed here, on several threads, for the next line's link.
        let mut hash = [0u8; 32];
        if event.is_ok() {
            hash.copy_from_slice(&Sha256::digest(line));
        }
        Some((event, hash))
    };
    parsed.clear();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || lines.len() < 2_000 {
        parsed.extend(lines.iter().map(parse));
        return;
    }
    parsed.resize_with(lines.len(), || None);
    let chunk = lines.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (part, out) in lines.chunks(chunk).zip(parsed.chunks_mut(chunk)) {
            scope.spawn(move || {
                for (line, slot) in part.iter().zip(out) {
                    *slot = parse(line);
                }
            });
        }
    });
}

/// Whether a line that is not an event is a whole, well-formed JSON object whose `kind` this
/// stepwise does not know: an event of a newer version, not a torn write (which is never whole)
/// nor corruption.
fn newer_kind(e: &serde_json::Error, line: &[u8]) -> Option<String> {
    e.to_string().strip_prefix("unknown variant `")?;
    let value = serde_json::from_slice::<serde_json::Value>(line).ok()?;
    value.get("kind")?.as_str().map(str::to_string)
}

/// A serde_json error about one line, without the "line 1" that is always true of it.
/// An unknown `kind` is named without serde's list of every known one.
fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let (what, column) = match text.rfind(" at line 1 column ") {
        Some(i) => (&text[..i], Some(&text[i + " at line 1 column ".len()..])),
        None => (text.as_str(), None),
    };
    let what = match what.strip_prefix("unknown variant `") {
        Some(rest) if rest.contains("`, expected one of `run_started`") => {
            let name = &rest[..rest.find('`').unwrap_or(rest.len())];
            format!("unknown event kind `{name}`")
        }
        _ => what.to_string(),
    };
    match column {
        Some(c) => format!("{what} at column {c}"),
        None => what,
    }
}

/// Appends events to a journal: one line, written whole and synced, per event.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
    operator: String,
    /// What the next event links to; `None` for an unlinked journal of an older format, which
    /// stays unlinked.
    link: Option<String>,
}

impl JournalWriter {
    /// Creates a new, empty journal (it must not exist) whose first event links to `header`,
    /// the SHA-256 of the run header.
    pub fn create(path: &Path, operator: &str, header: &str) -> Result<JournalWriter, Error> {
        let file = crate::fsutil::private_file_options()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            next_seq: 1,
            operator: operator.to_string(),
            link: Some(header.to_string()),
        })
    }

    /// Opens an existing journal for appending after the events `read` found in it. When the
    /// file does not end with a newline (a write cut short), a newline is appended first, so
    /// that the next event starts a line of its own. When `read` found torn lines, the caller
    /// must then append a `resumed` event with `repaired_torn_line: true` before anything else
    /// (the recorder does), which is what lets a reader step over them later.
    pub fn reopen(
        path: &Path,
        read: &impl JournalEnd,
        operator: &str,
    ) -> Result<JournalWriter, Error> {
        use std::io::{Read, Seek, SeekFrom};
        let cannot_read = |e| Error::io(format!("cannot read {}", path.display()), e);
        let mut file = crate::fsutil::private_file_options()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open {} for appending", path.display()), e))?;
        let len = file.metadata().map_err(cannot_read)?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(cannot_read)?;
            if last[0] != b'\n' {
                // Append mode writes at the end whatever the read position.
                file.write_all(b"\n")
                    .and_then(|_| file.sync_data())
                    .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            }
        }
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            next_seq: read.last_seq().saturating_add(1),
            operator: operator.to_string(),
            link: read.chain().last().map(str::to_string),
        })
    }

    /// Writes one event and syncs it to disk before returning it.
    pub fn append(&mut self, new: NewEvent) -> Result<Event, Error> {
        Ok(self.append_all(vec![new])?.remove(0))
    }

    /// Writes events, one line each, and syncs them to disk together before returning them
    /// (a crash may keep the first of them and tear the next, which a reader tolerates).
    pub fn append_all(&mut self, news: Vec<NewEvent>) -> Result<Vec<Event>, Error> {
        let mut lines = Vec::new();
        let mut events = Vec::with_capacity(news.len());
        let (mut seq, mut link) = (self.next_seq, self.link.clone());
        for new in news {
            let (event, line, next) = self.encode(new, seq, link.as_deref())?;
            lines.extend_from_slice(&line);
            events.push(event);
            seq += 1;
            if next.is_some() {
                link = next;
            }
        }
        if events.is_empty() {
            return Ok(events);
        }
        self.file
            .write_all(&lines)
            .and_then(|_| self.file.flush())
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io(format!("cannot write {}", self.path.display()), e))?;
        self.next_seq = seq;
        self.link = link;
        Ok(events)
    }

    /// One event as its journal line (newline included), and the link the next event takes.
    fn encode(
        &self,
        new: NewEvent,
        seq: u64,
        link: Option<&str>,
    ) -> Result<(Event, Vec<u8>, Option<String>), Error> {
        let event = Event {
            seq,
            time: new.time.unwrap_or_else(Timestamp::now),
            operator: self.operator.clone(),
            kind: new.kind,
            host: new.host,
            note: new.note,
        };
        let mut line = serde_json::to_vec(&event).map_err(|e| {
            Error::io(
                format!("cannot encode an event for {}", self.path.display()),
                io::Error::other(e),
            )
        })?;
        if let Some(link) = link {
            // The link goes last, where the reader looks for it.
            line.pop();
            line.extend_from_slice(format!(",\"{LINK_FIELD}\":\"{link}\"}}").as_bytes());
        }
        let hash = link.map(|_| sha256_hex(&line));
        line.push(b'\n');
        Ok((event, line, hash))
    }

    /// The SHA-256 of the last event written (or of the run header, before the first): `None`
    /// for an unlinked journal.
    pub fn last_link(&self) -> Option<&str> {
        self.link.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"seq":1,"time":"2026-11-21T23:45:12.000Z","operator":"a","kind":"run_started","run_id":"r","runbook_id":"b","runbook_sha256":"00","rehearsal":false,"machine":"M","pid":1}"#;

    fn line(seq: u64, kind: &str) -> String {
        format!(r#"{{"seq":{seq},"time":"2026-11-21T23:46:00.000Z","operator":"a","kind":{kind}}}"#)
    }

    fn parse_str(text: &str) -> Result<JournalRead, String> {
        parse(Path::new("j.jsonl"), text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_events_and_tolerates_a_torn_last_line() {
        let two = format!("{START}\n{}\n", line(2, r#""paused""#));
        let read = parse_str(&two).unwrap();
        assert_eq!(read.events.len(), 2);
        assert!(read.torn_lines.is_empty());
        let torn = format!("{two}{{\"seq\":3,\"ti");
        let read = parse_str(&torn).unwrap();
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.torn_lines, [3]);
        assert_eq!(
            read.warnings(Path::new("j.jsonl")),
            [
                "j.jsonl:3: the last line is torn (an unfinished write, probably from a crash); it is ignored"
            ]
        );
        // A torn line that got its newline but nothing after it is still the last line.
        let read = parse_str(&format!("{torn}\n")).unwrap();
        assert_eq!(read.torn_lines, [3]);
        // A reopening process that crashed in its turn leaves a second fragment.
        let read = parse_str(&format!("{torn}\n{{\"seq\":3,\"time\":")).unwrap();
        assert_eq!(read.torn_lines, [3, 4]);
        assert_eq!(
            read.warnings(Path::new("j.jsonl")),
            [
                "j.jsonl:3-4: the last 2 lines are torn (unfinished writes, probably from crashes); they are ignored"
            ]
        );
    }

    #[test]
    fn a_repaired_torn_line_is_ignored_but_other_bad_lines_are_not() {
        let resumed = line(
            3,
            r#""resumed","machine":"M","pid":2,"repaired_torn_line":true"#,
        );
        let text = format!(
            "{START}\n{}\n{{\"seq\":3,\"ti\n{resumed}\n",
            line(2, r#""paused""#)
        );
        let read = parse_str(&text).unwrap();
        assert_eq!(read.events.len(), 3);
        assert_eq!(read.repaired_lines, [3]);
        let plain = line(3, r#""resumed","machine":"M","pid":2"#);
        let text = format!(
            "{START}\n{}\n{{\"seq\":3,\"ti\n{plain}\n",
            line(2, r#""paused""#)
        );
        assert_eq!(
            parse_str(&text).unwrap_err(),
            "j.jsonl:3: corrupt journal: not a valid event (EOF while parsing a string at column 12)"
        );
    }

    #[test]
    fn foreign_and_corrupt_files_name_the_line() {
        assert_eq!(
            parse_str("").unwrap_err(),
            "j.jsonl: the journal is empty; a run's journal starts with a run_started event"
        );
        assert_eq!(
            parse_str("id: hmc45-ur6\ntitle: x\n").unwrap_err(),
            "j.jsonl:1: not a stepwise journal: the first line is not a run_started event (expected value at column 1)"
        );
        assert_eq!(
            parse_str(&format!("{}\n", line(1, r#""paused""#))).unwrap_err(),
            "j.jsonl:1: not a stepwise journal: the first event is paused, not run_started"
        );
        assert_eq!(
            parse_str(&format!("{START}\n{}\n", line(5, r#""paused""#))).unwrap_err(),
            "j.jsonl:2: corrupt journal: event 5 follows event 1"
        );
        assert_eq!(
            parse_str(&format!(
                "{START}\n{}\n{}\n",
                line(2, r#""exploded""#),
                line(3, r#""paused""#)
            ))
            .unwrap_err(),
            "j.jsonl:2: event kind `exploded` is not known to this stepwise (0.1.0): the journal was written by a newer version; use that version to read or resume it"
        );
        // Bad lines followed by an ordinary event: the first of them is named.
        assert_eq!(
            parse_str(&format!("{START}\nxx\nyy\n{}\n", line(2, r#""paused""#))).unwrap_err(),
            "j.jsonl:2: corrupt journal: not a valid event (expected value at column 1)"
        );
    }

    #[test]
    fn a_long_journal_is_parsed_in_parts_and_checked_as_one() {
        let mut text = format!("{START}\n");
        for seq in 2..=30_000 {
            text.push_str(&line(seq, r#""paused""#));
            text.push('\n');
        }
        let read = parse_str(&format!("{text}{{\"seq\":30001")).unwrap();
        assert_eq!(read.events.len(), 30_000);
        assert_eq!(read.events.last().unwrap().seq, 30_000);
        assert_eq!(read.torn_lines, [30_001]);
        // A bad line deep in the second half is still named by its own number.
        let broken = text.replacen(&line(25_000, r#""paused""#), "{", 1);
        assert_eq!(
            parse_str(&broken).unwrap_err(),
            "j.jsonl:25000: corrupt journal: not a valid event (EOF while parsing an object at column 1)"
        );
    }

    #[test]
    fn a_torn_line_closed_at_the_end_of_a_batch_is_stepped_over_in_the_next() {
        // Fill the first batch with events, end it with a torn line, and start the next batch
        // with the `resumed` event that closed it.
        let mut text = format!("{START}\n");
        let mut seq = 1;
        while text.len() < BATCH_BYTES - 200 {
            seq += 1;
            text.push_str(&line(seq, r#""paused""#));
            text.push('\n');
        }
        let torn_number = seq as usize + 1;
        let pad = BATCH_BYTES + 10 - text.len();
        let torn = format!("{{\"seq\":{},\"note\":\"{}", seq + 1, "x".repeat(pad));
        text.push_str(&torn);
        text.push('\n');
        assert!(text.len() > BATCH_BYTES);
        let resumed = line(
            seq + 1,
            r#""resumed","machine":"M","pid":2,"repaired_torn_line":true"#,
        );
        text.push_str(&format!("{resumed}\n{}\n", line(seq + 2, r#""paused""#)));
        let read = parse_str(&text).unwrap();
        assert_eq!(read.events.len() as u64, seq + 2);
        assert_eq!(read.repaired_lines, [torn_number]);
        assert!(read.torn_lines.is_empty());
        // Without the `resumed` that closed it, the same line is corruption, named by number.
        let plain = text.replace(&resumed, &line(seq + 1, r#""paused""#));
        assert_eq!(
            parse_str(&plain).unwrap_err(),
            format!(
                "j.jsonl:{torn_number}: corrupt journal: not a valid event (EOF while parsing a string at column {})",
                torn.len()
            )
        );
    }

    #[test]
    fn a_second_reading_finds_the_same_events_or_says_the_journal_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let text = format!("{START}\n{}\n{{\"seq\":3,", line(2, r#""paused""#));
        std::fs::write(&path, &text).unwrap();
        let mut first = Vec::new();
        let found = scan(&path, |e| first.push(e)).unwrap();
        assert_eq!((found.events, found.last_seq), (2, 2));
        assert_eq!(found.torn_lines, [3]);
        assert_eq!(found.bytes, text.len() as u64);
        // A process appends meanwhile: the second reading stops where the first did.
        let mut writer = JournalWriter::reopen(&path, &found, "bob").unwrap();
        writer.append(NewEvent::new(EventKind::Paused)).unwrap();
        let again: Vec<Event> = Events::again(&path, &found)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(again, first);
        // Rewritten meanwhile: said, not passed over.
        std::fs::write(
            &path,
            format!("{START}\n{{\"seq\":2,\"x\":\"{}\"", "y".repeat(60)),
        )
        .unwrap();
        let error = Events::again(&path, &found)
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: the journal changed while it was being read (it was rewritten); read it again",
                path.display()
            )
        );
    }

    #[test]
    fn an_event_cut_just_before_its_newline_is_kept_and_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, START).unwrap();
        let read = read(&path).unwrap();
        assert_eq!((read.events.len(), read.torn_lines.len()), (1, 0));
        let mut writer = JournalWriter::reopen(&path, &read, "bob").unwrap();
        writer.append(NewEvent::new(EventKind::Paused)).unwrap();
        let again = super::read(&path).unwrap();
        assert_eq!(again.events.len(), 2);
        assert!(again.torn_lines.is_empty() && again.repaired_lines.is_empty());
    }

    #[test]
    fn the_writer_appends_and_repairs_a_torn_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, format!("{START}\n{{\"seq\":2,\"ti")).unwrap();
        let read = read(&path).unwrap();
        let mut writer = JournalWriter::reopen(&path, &read, "bob").unwrap();
        let event = writer
            .append(NewEvent::new(EventKind::Resumed {
                machine: "M".into(),
                pid: 9,
                repaired_torn_line: true,
            }))
            .unwrap();
        assert_eq!(event.seq, 2);
        assert_eq!(event.operator, "bob");
        let again = super::read(&path).unwrap();
        assert_eq!(again.events.len(), 2);
        assert_eq!(again.repaired_lines, [2]);
        assert!(again.torn_lines.is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(&format!("{START}\n{{\"seq\":2,\"ti\n{{\"seq\":2,")),
            "{text}"
        );
    }
}
