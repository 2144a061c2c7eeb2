//! Standard output and standard error, where a reader that went away is not an error.
//!
//! `stepwise status | head -1` closes the pipe after one line. The standard library's `println!`
//! panics on that (exit 101), and a panic unwinds through whatever was half done. Here, as in
//! ripgrep, a broken pipe on standard output is success: the write is dropped, every later write
//! to standard output is skipped, and the command carries on to its own exit code. A run keeps
//! going too: the journal is its record, not its standard output. Standard error is written the
//! same way, and a failure to write it is ignored (there is nowhere left to report it).
//!
//! Every write to the process's standard streams goes through here (`clippy.toml` disallows
//! `println!`, `print!`, `eprintln!` and `eprint!`): use [`out`] for a command's output,
//! [`show`] for what a run shows as it goes, and [`errln!`](crate::errln) for messages.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;

/// Set once standard output's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set once a run has said that standard output fails.
static STDOUT_FAILURE_SAID: AtomicBool = AtomicBool::new(false);

/// Whether standard output's reader went away (a closed pipe).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Writes `text` to standard output and flushes it. A closed pipe is success (and later writes
/// are skipped); any other failure is returned.
fn write_stdout(text: &str) -> io::Result<()> {
    write_stdout_bytes(text.as_bytes())
}

fn write_stdout_bytes(bytes: &[u8]) -> io::Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::SeqCst);
            Ok(())
        }
        other => other,
    }
}

/// Standard output as a writer, for a command that writes its output as it goes (through a
/// [`io::BufWriter`]) rather than building it whole: a closed pipe is success, as with [`out`].
pub struct Out;

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_stdout_bytes(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A command's output on standard output: a closed pipe is success; another failure (a full
/// disk behind a redirection) is an error of the command.
pub fn out(text: &str) -> Result<(), Error> {
    write_stdout(text).map_err(|e| Error::io("cannot write to standard output", &e))
}

/// A line a run shows as it goes (without a terminal, on standard output). The run never stops
/// for its standard output: a closed pipe is dropped silently, another failure is said once on
/// standard error, and the walk goes on (its journal is the record).
pub fn show(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    if let Err(e) = write_stdout(&text)
        && !STDOUT_FAILURE_SAID.swap(true, Ordering::SeqCst)
    {
        err(&format!(
            "stepwise: warning: cannot write to standard output ({}); the run goes on and its journal keeps the record\n",
            crate::error::describe_io(&e)
        ));
    }
}

/// Writes `text` to standard error; a failure is ignored.
pub fn err(text: &str) {
    let mut e = io::stderr().lock();
    let _ = e.write_all(text.as_bytes()).and_then(|()| e.flush());
}

/// `eprintln!` that never panics: formats a line and writes it with [`err`].
#[macro_export]
macro_rules! errln {
    () => {
        $crate::stdio::err("\n")
    };
    ($($arg:tt)*) => {
        $crate::stdio::err(&format!("{}\n", format_args!($($arg)*)))
    };
}
