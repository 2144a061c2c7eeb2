//! The `when` condition language: parse, print, parse again, and evaluate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise::runbook::Value;
use stepwise::runbook::expr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(e) = expr::parse(text) else {
        return;
    };
    let shown = e.to_string();
    // Printing is a fixed point: what is printed parses, and prints the same.
    let again = expr::parse(&shown).expect("a printed condition parses");
    assert_eq!(again.to_string(), shown, "printing changed the condition");
    let _ = e.names();
    let _ = e.eval(&|name| match name.len() % 3 {
        0 => Some(Value::Bool(true)),
        1 => Some(Value::Text(name.to_string())),
        _ => None,
    });
});
