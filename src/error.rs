//! The errors a command can end with, each with the exit code it maps to.
//!
//! Plumbing errors carry the context of what was being done (`cannot write <path>`); runbook
//! problems are rendered as diagnostics before they get here.

use std::fmt;
use std::io;

use crate::exit_codes::ExitCode;

#[derive(Debug)]
pub enum Error {
    /// Wrong usage: a bad argument, an unknown runbook, a value that does not fit.
    Usage(String),
    /// A runbook is invalid; the diagnostics were already printed.
    InvalidRunbook,
    /// Anything else that stops a command (I/O, a corrupt journal, a refused lock).
    Failed(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::InvalidRunbook | Error::Failed(_) => ExitCode::Failure,
        }
    }

    pub fn io(what: impl fmt::Display, e: &io::Error) -> Error {
        Error::Failed(format!("{what}: {}", describe_io(e)))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Failed(m) => write!(f, "{m}"),
            Error::InvalidRunbook => write!(f, "the runbook is invalid"),
        }
    }
}

/// An I/O error in words an operator can act on, without the OS error number.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::AlreadyExists => "it already exists".into(),
        io::ErrorKind::StorageFull => "the disk is full".into(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        io::ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        io::ErrorKind::NotADirectory => "a part of the path is not a folder".into(),
        io::ErrorKind::InvalidData => "it is not valid UTF-8 text".into(),
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => &text[..i],
                None => &text,
            };
            // Windows' system messages end with a full stop; the sentence this goes into has
            // its own.
            text.trim_end().trim_end_matches('.').to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe_io;
    use std::io;

    #[test]
    fn a_system_message_loses_its_os_error_number_and_its_full_stop() {
        for (raw, said) in [
            (
                "No connection could be made because the target machine actively refused it. (os error 10061)",
                "No connection could be made because the target machine actively refused it",
            ),
            ("Connection refused (os error 111)", "Connection refused"),
            ("Connection refused.", "Connection refused"),
        ] {
            assert_eq!(describe_io(&io::Error::other(raw)), said);
        }
    }
}
