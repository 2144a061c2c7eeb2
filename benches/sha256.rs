//! SHA-256 throughput of the implementation stepwise uses (the `sha2` crate, which picks the
//! CPU's SHA instructions at run time where the CPU has them), on 1 GiB hashed from memory in
//! 1 MiB pieces, as a copy hashes. Prints the wall and the CPU time of each of N rounds and the
//! best; the CPU time is the figure to read on a shared machine.
//!
//! Run with `cargo bench --bench sha256` (`STEPWISE_BENCH_RUNS` rounds, default 5). The target
//! is over 1.5 GB/s of CPU time: at that speed hashing both sides of a copy costs less than the
//! disk takes to write it. docs/performance.md ("Copies") records the figures.
#![allow(clippy::disallowed_macros)] // printing figures is what this does

use std::time::Instant;

use sha2::{Digest, Sha256};

/// The CPU time this thread has used, in seconds.
#[cfg(target_os = "linux")]
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

#[cfg(not(target_os = "linux"))]
fn cpu_seconds() -> f64 {
    f64::NAN
}

fn main() {
    let runs: usize = std::env::var("STEPWISE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let sha_ni = cfg!(any(target_arch = "x86", target_arch = "x86_64")) && {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            std::arch::is_x86_feature_detected!("sha")
                && std::arch::is_x86_feature_detected!("sse4.1")
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        {
            false
        }
    };
    println!("CPU has the SHA extensions (SHA-NI): {sha_ni}");
    let piece: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let total = 1u64 << 30;
    let mut best = (f64::MAX, f64::MAX);
    for round in 1..=runs {
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let mut hasher = Sha256::new();
        for _ in 0..(total >> 20) {
            hasher.update(&piece);
        }
        let digest = hasher.finalize();
        let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!(
            "round {round}: 1 GiB in {wall:.3} s wall ({:.0} MB/s), {cpu:.3} s CPU ({:.0} MB/s) [{:02x}]",
            total as f64 / 1e6 / wall,
            total as f64 / 1e6 / cpu,
            digest[0]
        );
        best = (best.0.min(wall), best.1.min(cpu));
    }
    println!(
        "best: {:.0} MB/s wall, {:.0} MB/s of CPU time",
        total as f64 / 1e6 / best.0,
        total as f64 / 1e6 / best.1
    );
}
