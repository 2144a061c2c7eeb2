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

/// The events of a journal, and what the reader had to step over.
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
        match self.torn_lines.as_slice() {
            [] => Vec::new(),
            [line] => vec![format!(
                "{}:{line}: the last line is torn (an unfinished write, probably from a crash); it is ignored",
                path.display()
            )],
            [first, .., last] => vec![format!(
                "{}:{first}-{last}: the last {} lines are torn (unfinished writes, probably from crashes); they are ignored",
                path.display(),
                self.torn_lines.len()
            )],
        }
    }
}

/// Reads a journal file; see the module docs for what is tolerated.
pub fn read(path: &Path) -> Result<JournalRead, Error> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    parse(path, &bytes)
}

/// Parses journal bytes; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JournalRead, Error> {
    let corrupt = |line: usize, message: String| Error::Corrupt {
        path: path.to_path_buf(),
        line: Some(line),
        message,
    };
    // Valid UTF-8 as a whole (the usual case) lets each line be parsed as text, which spares
    // serde_json from checking every string again; otherwise each line is parsed as bytes, so
    // that an error names its line.
    let text = std::str::from_utf8(bytes).ok();
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push(start..i);
            start = i + 1;
        }
    }
    // Whatever follows the last newline is a line too (a torn one, as a rule).
    if start < bytes.len() {
        lines.push(start..bytes.len());
    }
    if lines.is_empty() {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            message: "the journal is empty; a run's journal starts with a run_started event".into(),
        });
    }
    let mut events: Vec<Event> = Vec::with_capacity(lines.len());
    let mut chain = Chain::Unlinked;
    // The line number and hash of the last event, for the next one's link.
    let mut previous: Option<(usize, String)> = None;
    let mut repaired_lines = Vec::new();
    // Consecutive lines that did not parse, waiting to see what follows them.
    let mut unparsed: Vec<(usize, String)> = Vec::new();
    for (index, (parsed, hash)) in parse_lines(text, bytes, &lines).into_iter().enumerate() {
        let number = index + 1;
        match parsed {
            Ok(event) => {
                if let Some((first_bad, why)) = unparsed.first() {
                    if !matches!(
                        event.kind,
                        EventKind::Resumed {
                            repaired_torn_line: true,
                            ..
                        }
                    ) {
                        return Err(corrupt(*first_bad, why.clone()));
                    }
                    repaired_lines.extend(unparsed.drain(..).map(|(n, _)| n));
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
                let expected = events
                    .last()
                    .map_or(Some(1), |e: &Event| e.seq.checked_add(1));
                if Some(event.seq) != expected {
                    let message = match events.last() {
                        Some(previous) => format!(
                            "corrupt journal: event {} follows event {}",
                            event.seq, previous.seq
                        ),
                        None => format!(
                            "corrupt journal: the first event is number {}, not 1",
                            event.seq
                        ),
                    };
                    return Err(corrupt(number, message));
                }
                let link = link_of(&bytes[lines[index].clone()]);
                match (&mut chain, &previous, link) {
                    (Chain::Unlinked, None, Some(first)) => {
                        chain = Chain::Linked {
                            first: first.to_string(),
                            last: String::new(),
                        };
                    }
                    (Chain::Unlinked, _, _) => {}
                    (Chain::Linked { .. }, Some((_, expected)), Some(link)) if link == expected => {
                    }
                    (Chain::Linked { .. }, Some((line, _)), Some(_)) => {
                        return Err(corrupt(
                            number,
                            format!(
                                "the journal's chain is broken here: this event does not follow the one on line {line} (its {LINK_FIELD} differs); an event was changed, removed or inserted"
                            ),
                        ));
                    }
                    (Chain::Linked { .. }, _, _) => {
                        return Err(corrupt(
                            number,
                            format!(
                                "the journal's chain is broken here: this event carries no {LINK_FIELD}; it was added or rewritten by something other than stepwise"
                            ),
                        ));
                    }
                }
                if let Chain::Linked { last, .. } = &mut chain {
                    last.clone_from(&hash);
                }
                previous = Some((number, hash));
                events.push(event);
            }
            Err(e) if number == 1 => {
                return Err(corrupt(
                    1,
                    format!(
                        "not a stepwise journal: the first line is not a run_started event ({})",
                        describe_json_error(&e)
                    ),
                ));
            }
            Err(e) if let Some(kind) = newer_kind(&e, &bytes[lines[index].clone()]) => {
                return Err(corrupt(
                    number,
                    format!(
                        "event kind `{kind}` is not known to this stepwise ({}): the journal was written by a newer version; use that version to read or resume it",
                        env!("CARGO_PKG_VERSION")
                    ),
                ));
            }
            Err(e) => unparsed.push((
                number,
                format!(
                    "corrupt journal: not a valid event ({})",
                    describe_json_error(&e)
                ),
            )),
        }
    }
    Ok(JournalRead {
        events,
        chain,
        torn_lines: unparsed.into_iter().map(|(n, _)| n).collect(),
        repaired_lines,
    })
}

/// Parses every line, on several threads for a long journal: the lines are independent, and
/// parsing is most of the time it takes to open a run. What the lines mean together (order,
/// torn lines) is checked afterwards, in one pass.
fn parse_lines(
    text: Option<&str>,
    bytes: &[u8],
    lines: &[std::ops::Range<usize>],
) -> Vec<(Result<Event, serde_json::Error>, String)> {
    let parse = |range: &std::ops::Range<usize>| {
        let event = match text {
            // Cut next to ASCII newlines, so on character boundaries.
            Some(text) => serde_json::from_str::<Event>(&text[range.clone()]),
            None => serde_json::from_slice::<Event>(&bytes[range.clone()]),
        };
        // Hashed here, on several threads for a long journal, for the next line's link.
        let hash = match &event {
            Ok(_) => sha256_hex(&bytes[range.clone()]),
            Err(_) => String::new(),
        };
        (event, hash)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || lines.len() < 20_000 {
        return lines.iter().map(parse).collect();
    }
    let chunk = lines.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = lines
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(parse).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
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
    pub fn reopen(path: &Path, read: &JournalRead, operator: &str) -> Result<JournalWriter, Error> {
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
            next_seq: read.events.last().map_or(1, |e| e.seq.saturating_add(1)),
            operator: operator.to_string(),
            link: read.chain.last().map(str::to_string),
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
