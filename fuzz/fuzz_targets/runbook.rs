//! The runbook loader on any bytes: load, validate, draw every diagnostic, and for a valid
//! runbook build its plan and render its checklists. Nothing may panic, overflow the stack or
//! run out of memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise::plan::{Bindings, Plan};
use stepwise::runbook::{self, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = stepwise::fsutil::decode_text(data.to_vec()) else {
        return;
    };
    let source = Source {
        name: "fuzz.yaml".into(),
        text,
    };
    let loaded = runbook::load(&source);
    let _ = runbook::render_diagnostics(&source, &loaded.diagnostics);
    if let Some(rb) = &loaded.runbook {
        let plan = Plan::new(rb, &Bindings::default());
        let record = stepwise::checklist::Record::default();
        let _ = stepwise::checklist::text(&plan, None, &record);
        let _ = stepwise::checklist::markdown(&plan, None, &record);
        let _ = stepwise::checklist::html(&plan, None, &record);
    }
});
