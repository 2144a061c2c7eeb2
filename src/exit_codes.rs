//! The exit codes of the command-line contract (see the README).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for was done.
    Success = 0,
    /// A runbook is invalid, a check failed, or a step failed and the operator aborted.
    Failure = 1,
    /// Wrong usage: bad arguments or a value that does not fit.
    Usage = 2,
    /// The run was paused (or stopped for a missing answer) and can be resumed.
    Paused = 3,
    /// Ended by a hang-up (SIGHUP: the terminal closed); progress is saved.
    HungUp = 129,
    /// Interrupted by Ctrl-C; progress is saved.
    Interrupted = 130,
    /// Ended by SIGTERM (on Windows: the console closed, a logoff, a shutdown); progress is
    /// saved.
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}
