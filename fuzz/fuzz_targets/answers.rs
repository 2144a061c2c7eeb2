//! Answers files against a bundled runbook (HMC 4.5 UR6: parameters of every type, roles,
//! known issues).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stepwise::runbook::{self, Runbook, bundled};
use stepwise::ui::scripted::Answers;

fn runbook() -> &'static Runbook {
    static RB: OnceLock<Runbook> = OnceLock::new();
    RB.get_or_init(|| {
        runbook::load(&bundled::get("hmc45-ur6").expect("bundled"))
            .runbook
            .expect("valid")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = stepwise::fsutil::decode_text(data.to_vec()) else {
        return;
    };
    let _ = Answers::parse("answers.yaml", &text, runbook());
});
