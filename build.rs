//! Embeds every runbook under `runbooks/` into the binary, so `stepwise run hmc45-ur6` works on a
//! machine that has only the executable; and compiles the Windows suite (`tests/windows/`) in when
//! `STEPWISE_WINDOWS_BIN` names a Windows build to run.
// Cargo reads a build script's instructions from its standard output.
#![allow(clippy::disallowed_macros)]

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The Windows suite (tests/windows/) is compiled when a Windows build is given to it.
    println!("cargo::rustc-check-cfg=cfg(stepwise_windows_suite)");
    println!("cargo:rerun-if-env-changed=STEPWISE_WINDOWS_BIN");
    if std::env::var_os("STEPWISE_WINDOWS_BIN").is_some_and(|v| !v.is_empty()) {
        println!("cargo:rustc-cfg=stepwise_windows_suite");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    entries.sort();
    let mut out = String::from("&[\n");
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let id = path.file_stem().unwrap().to_string_lossy();
        writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("bundled.rs");
    std::fs::write(target, out).unwrap();
}
