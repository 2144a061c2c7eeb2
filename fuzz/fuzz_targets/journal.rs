//! The journal reader and its replay: any bytes as `journal.jsonl`, then replay into progress.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stepwise::journal::{Progress, parse_journal};

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = parse_journal(Path::new("journal.jsonl"), data) {
        let progress = Progress::replay(&read.events);
        let _ = progress.in_doubt();
        let _ = read.warnings(Path::new("journal.jsonl"));
    }
});
