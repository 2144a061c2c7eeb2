//! Whole-process time of `stepwise check hmc45-ur6` with its package present: the release
//! binary, run N times against a package built from the runbook's manifest; prints the median.
//!
//! Run with `cargo bench --bench check` (N defaults to 50; `STEPWISE_BENCH_RUNS` changes it).
//! The target is under 20 ms; docs/performance.md ("Dry-run check") records the figures.
#![allow(clippy::disallowed_macros)] // printing figures and progress is what this does

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stepwise::runbook::{self, bundled};

fn main() {
    let runs: usize = std::env::var("STEPWISE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let rb = runbook::load(&bundled::get("hmc45-ur6").expect("bundled"))
        .runbook
        .expect("valid");
    let (pkg, share) = (dir.path().join("pkg"), dir.path().join("share"));
    let (dotnet, agent) = (dir.path().join("dotnet"), dir.path().join("agent"));
    for d in [&pkg, &share, &dotnet, &agent] {
        fs::create_dir_all(d).unwrap();
    }
    for m in &rb.manifests {
        for f in &m.files {
            sized(&pkg.join(&f.name), f.size.unwrap_or(0));
        }
    }
    let args = [
        "check".to_string(),
        "hmc45-ur6".into(),
        "--set".into(),
        "ur5_installed=false".into(),
        "--set".into(),
        "upgraded_from_hmc40=true".into(),
        "--set".into(),
        format!("package_dir={}", pkg.display()),
        "--set".into(),
        format!("msi_share={}", share.display()),
        "--set".into(),
        format!("dotnet_framework_dir={}", dotnet.display()),
        "--set".into(),
        format!("categorizer_agent_dir={}", agent.display()),
    ];
    let exe = env!("CARGO_BIN_EXE_stepwise");
    let once = || {
        let started = Instant::now();
        let status = Command::new(exe)
            .args(&args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .status()
            .expect("stepwise runs");
        assert!(status.success(), "the check must pass: {status}");
        started.elapsed()
    };
    for _ in 0..3 {
        once();
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| once()).collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "stepwise check hmc45-ur6 (package present, {runs} runs): median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[runs / 2]),
        ms(times[0]),
        ms(times[runs - 1])
    );
}

fn sized(path: &Path, size: u64) {
    fs::File::create(path).unwrap().set_len(size).unwrap();
}
