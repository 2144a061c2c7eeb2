//! Inventory files against a bundled runbook, read from a file as `--inventory` reads them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stepwise::runbook::{self, Runbook, bundled};

fn runbook() -> &'static Runbook {
    static RB: OnceLock<Runbook> = OnceLock::new();
    RB.get_or_init(|| {
        runbook::load(&bundled::get("hmc45-ur6").expect("bundled"))
            .runbook
            .expect("valid")
    })
}

fn folder() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
}

fuzz_target!(|data: &[u8]| {
    let path = folder().path().join("inventory.yaml");
    std::fs::write(&path, data).expect("write the input");
    let _ = stepwise::input::read_inventory(runbook(), &path);
});
