#!/usr/bin/env python3
"""Copy throughput, side by side in one run: stepwise's copy (copy + verify on disk + journal)
against cp, cp followed by sync, cp followed by sha256sum of both sides, and rsync --checksum.

Two data sets: the 23 MSI files of the hmc45-ur6 runbook's two copy steps, at the sizes its file
table gives (random bytes), and one file of 1 GiB. stepwise is the release binary running a
one-step runbook that copies the set, driven by an answers file: the whole process is timed
(start, the dry-run check of the step, the copy with its read-back, every journal event synced).

Each round runs every tool once, in turn, so that all see the same machine; before each timed
command the destination is emptied and `sync` run (untimed), and the sources stay in the page
cache (the first round warms them and is not counted). Two more rows say what bounds stepwise's
figure: the same run copying one file of one byte (the run's fixed cost: process start, the
step's check, the journal's synced events), and `dd` writing each file with direct I/O and
reading it back with direct I/O (the device's cost of a write and a read-back from the disk, with
no hashing and no comparing). Prints, per data set and tool, the median
wall time, the throughput and the ratio to `cp` + `sync`, the median CPU time of the processes
(user + system; the kernel's writeback threads are not in it, so it flatters `sync`), and the
load average before and after.

The work folder is on the project's disk (target/bench-copy, or STEPWISE_BENCH_DIR), not in
memory; STEPWISE_BENCH_KEEP=1 keeps it. Needs rsync (Debian package `rsync`; installed here if
missing, as root). Usage: python3 benches/copy.py [ROUNDS] [GIB_ROUNDS]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "stepwise")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
GIB_ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def sh(args, **kw):
    subprocess.run(args, check=True, **kw)


def msi_files():
    """The 23 MSI names of hmc45-ur6's copy steps, with their file-table sizes."""
    import yaml

    with open(os.path.join(ROOT, "runbooks", "hmc45-ur6.yaml")) as f:
        rb = yaml.safe_load(f)
    sizes = {}
    for m in rb.get("manifests", []):
        for row in m["files"]:
            sizes[row["name"].lower()] = row.get("size")
    names = []
    for phase in rb["phases"]:
        for step in phase["steps"]:
            action = step.get("action") or {}
            if action.get("type") == "copy":
                names += action["files"]
    out = []
    for n in names:
        size = sizes.get(n.lower())
        if size is None:  # a row whose name the table cuts short
            size = next(s for k, s in sizes.items() if n.lower().startswith(k.rstrip(".")[:20]))
        out.append((n, size))
    return out


def fill(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 64 << 20)
            f.write(os.urandom(n))
            left -= n


def runbook(path, names):
    with open(path, "w") as f:
        f.write(
            "id: copybench\ntitle: Copy benchmark\narticle: KB0\nproduct: Benchmark\n"
            "parameters:\n  - { name: from, type: path, prompt: From }\n"
            "  - { name: to, type: path, prompt: To }\n"
            "phases:\n  - id: main\n    title: Main\n    steps:\n"
            "      - id: copy\n        title: Copy\n        action:\n          type: copy\n"
            "          from: '{{ from }}'\n          to: '{{ to }}'\n          files:\n"
        )
        for n in names:
            f.write("            - %s\n" % n)


def main():
    if shutil.which("rsync") is None:
        sh(["apt-get", "install", "-y", "-q", "rsync"], stdout=subprocess.DEVNULL)
    sh(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT)
    work = os.environ.get("STEPWISE_BENCH_DIR") or os.path.join(ROOT, "target", "bench-copy")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    sets = []
    msis = msi_files()
    assert len(msis) == 23, msis
    src = os.path.join(work, "msi-src")
    os.makedirs(src)
    for n, size in msis:
        fill(os.path.join(src, n), size)
    sets.append(("23 MSIs of hmc45-ur6", src, [n for n, _ in msis], sum(s for _, s in msis), ROUNDS))
    src = os.path.join(work, "gib-src")
    os.makedirs(src)
    fill(os.path.join(src, "big.bin"), 1 << 30)
    sets.append(("1 GiB, one file", src, ["big.bin"], 1 << 30, GIB_ROUNDS))
    tiny = os.path.join(work, "tiny-src")
    os.makedirs(tiny)
    fill(os.path.join(tiny, "one.msi"), 1)
    runbook(os.path.join(work, "rb-tiny.yaml"), ["one.msi"])
    load_before = os.getloadavg()
    results = []
    for label, src, names, total, rounds in sets:
        rb = os.path.join(work, "rb.yaml")
        runbook(rb, names)
        dst = os.path.join(work, "dst")
        answers = os.path.join(work, "a.yaml")
        with open(answers, "w") as f:
            f.write("params: { from: '%s', to: '%s' }\nconfirm: true\ndefault: done\n" % (src, dst))
        srcs = [os.path.join(src, n) for n in names]
        dsts = [os.path.join(dst, n) for n in names]
        tiny_answers = os.path.join(work, "a-tiny.yaml")
        with open(tiny_answers, "w") as f:
            f.write("params: { from: '%s', to: '%s' }\nconfirm: true\ndefault: done\n" % (tiny, dst))
        dd = []
        for s_, d_ in zip(srcs, dsts):
            dd.append(["dd", "if=" + s_, "of=" + d_, "bs=8M", "oflag=direct", "conv=fdatasync", "status=none"])
        for d_ in dsts:
            dd.append(["dd", "if=" + d_, "of=/dev/null", "bs=8M", "iflag=direct", "status=none"])
        tools = [
            ("stepwise (copy + verify + journal)",
             [[BIN, "run", rb, "--answers", answers, "--operator", "bench",
               "--state-dir", os.path.join(work, "runs")]]),
            ("cp", [["cp"] + srcs + [dst]]),
            ("cp + sync", [["cp"] + srcs + [dst], ["sync"]]),
            ("cp + sha256sum of both sides", [["cp"] + srcs + [dst], ["sha256sum"] + srcs, ["sha256sum"] + dsts]),
            ("rsync --checksum", [["rsync", "-a", "--checksum", src + "/", dst + "/"]]),
            ("bound: stepwise copying 1 byte", [[BIN, "run", os.path.join(work, "rb-tiny.yaml"), "--answers",
                                                  tiny_answers, "--operator", "bench", "--state-dir",
                                                  os.path.join(work, "runs")]]),
            ("bound: dd direct write + direct read-back", dd),
        ]
        times = {name: [] for name, _ in tools}
        cpus = {name: [] for name, _ in tools}
        for r in range(rounds + 1):
            for name, cmds in tools:
                shutil.rmtree(dst, ignore_errors=True)
                shutil.rmtree(os.path.join(work, "runs"), ignore_errors=True)
                os.makedirs(dst)
                sh(["sync"])
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                for c in cmds:
                    sh(c, stdout=subprocess.DEVNULL)
                took = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if r > 0:
                    times[name].append(took)
                    cpus[name].append(cpu)
            print("  %s: round %d of %d" % (label, r, rounds), file=sys.stderr)
        results.append((label, total, rounds, times, cpus))
    load_after = os.getloadavg()
    print("load average before: %.2f %.2f %.2f; after: %.2f %.2f %.2f (2 cores)" % (load_before + load_after))
    for label, total, rounds, times, cpus in results:
        base = statistics.median(times["cp + sync"])
        print()
        print("%s: %.1f MB, median of %d rounds" % (label, total / 1e6, rounds))
        print("| tool | median s | MB/s | throughput vs cp + sync | CPU s |")
        print("| --- | --- | --- | --- | --- |")
        for name, ts in times.items():
            m = statistics.median(ts)
            c = statistics.median(cpus[name])
            print("| %s | %.3f | %.0f | %.0f %% | %.3f |" % (name, m, total / 1e6 / m, 100 * base / m, c))
    if not os.environ.get("STEPWISE_BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
