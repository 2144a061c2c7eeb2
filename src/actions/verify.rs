//! What every copy proves before a file is renamed into place, wherever its destination is
//! (this machine, or a host over SSH): what was read back from the destination is what was
//! read from the source (the bytes, or their SHA-256 over SSH), and has the SHA-256 the file
//! table gives where it gives one. Here are the words a failed proof is told in, shared by
//! both kinds of copy, and the one test hook that proves the proof catches a bad write.
//!
//! Never here: a decision to keep a file that failed; the callers remove it.

use super::{Failure, FailureKind};

/// The test-only environment variable that simulates a destination that corrupts a write: a
/// file name as the runbook spells it; when a copy (to this machine or to a host over SSH)
/// writes that file, the start of its temporary file is replaced with
/// [`super::transfer::ALTERED`] through another handle once it is written, before it is read
/// back. The copy must then fail and leave the destination as it was.
pub const ALTER_HOOK: &str = "STEPWISE_TEST_ALTER_COPY";

/// Whether the test hook names this file.
pub fn altered_for_test(name: &str) -> bool {
    std::env::var_os(ALTER_HOOK).is_some_and(|v| v == name)
}

/// The end of every failed proof: what became of the copy.
const REMOVED: &str = "the copy was removed and the destination left as it was";

/// What was read back from `from` (`the disk`, a host's name) is not what the source gave.
pub fn differs(what: &str, from: &str, on_disk: &str, source: &str) -> Failure {
    Failure::new(
        FailureKind::Verify,
        format!(
            "{what}: the copy read back from {from} has SHA-256 {on_disk}, the source has SHA-256 {source}; {REMOVED}"
        ),
    )
}

/// The copy does not have the SHA-256 the file table gives.
pub fn not_the_tables(what: &str, found: &str, expected: &str, manifest: &str) -> Failure {
    Failure::new(
        FailureKind::Verify,
        format!("{what}: the copy has SHA-256 {found}, {manifest} says {expected}; {REMOVED}"),
    )
}

/// The copy does not have the size it should (`whose`: the source's, or the file table's).
pub fn wrong_size(what: &str, found: u64, expected: u64, whose: &str) -> Failure {
    Failure::new(
        FailureKind::Verify,
        format!("{what}: the copy has {found} bytes, expected {expected} ({whose}); {REMOVED}"),
    )
}
