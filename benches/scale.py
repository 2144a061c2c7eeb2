#!/usr/bin/env python3
"""Growth and memory of every command over the size of the runbook.

Generates runbooks of 500, 5,000 and (with --large) 50,000 steps on 50 hosts (25,000 to 2.5 million
step instances), and times the whole process of validate, checklist (text, md, html), check (text,
JSON), run start (an answers file that pauses at the first step) and status (text, JSON) on each,
with its peak resident memory. Prints, per command, the median CPU time (user + system) and wall time at
each size, the growth factor of the CPU time per tenfold step (target: at most 11), and the peak
memory per step instance at the largest size (target: at most 400 bytes).

Usage: python3 benches/scale.py [--large] [--only-large] [--journal] [--runs N] [--bin PATH]
The 50,000-step size runs each command once; it needs a few GB of memory before the memory work
and takes about a minute or two on an idle 2-core machine.
"""
import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checklist  # noqa: E402
from checklist import ROOT, generated_runbook  # noqa: E402

HOSTS = 50
BIN = checklist.BIN
JOURNAL_EVENTS = 1_000_000
JOURNAL_STEPS = 5000


def run_once(args, cwd, ok_codes, out=None):
    """CPU time (user + system, s), wall time (s) and peak RSS (bytes) of one child process.
    Its standard output goes to the file `out`, if given."""
    start = time.perf_counter()
    stdout = open(out, "wb") if out else subprocess.DEVNULL
    proc = subprocess.Popen([BIN] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.PIPE)
    if out:
        stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        sys.exit("stepwise %s exited %d: %s" % (" ".join(args), proc.returncode, err[-2000:]))
    return usage.ru_utime + usage.ru_stime, elapsed, usage.ru_maxrss * 1024


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true", help="include 50,000 steps (each command once)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command at 500 steps (5,000: half)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--bin", help="the stepwise binary to measure (implies --no-build)")
    ap.add_argument("--journal", action="store_true",
                    help="also open a journal of 1 million events (status, log)")
    ap.add_argument("--journal-also", metavar="BIN",
                    help="measure the journal with this other binary too (made with --bin's)")
    ap.add_argument("--journal-only", action="store_true",
                    help="only the journal of 1 million events")
    ap.add_argument("--only-large", action="store_true",
                    help="measure 50,000 steps only (memory per instance; no growth factors)")
    opts = ap.parse_args()
    global BIN
    if opts.bin:
        BIN = os.path.abspath(opts.bin)
    elif not opts.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--locked"], cwd=ROOT, check=True)
    sizes = [500, 5000] + ([50000] if opts.large or opts.only_large else [])
    if opts.only_large:
        sizes = [50000]
    if opts.journal_only:
        sizes, opts.journal = [], True
    print("load average before: %s (%d cores)" % (loadavg(), os.cpu_count()))
    results = {}  # (command, size) -> (median s, peak bytes)
    commands = []
    tmp = tempfile.mkdtemp(prefix="stepwise-scale-", dir=os.path.join(ROOT, "target"))
    try:
        for steps in sizes:
            d = os.path.join(tmp, str(steps))
            os.makedirs(d)
            rb = os.path.join(d, "generated.yaml")
            with open(rb, "w") as f:
                f.write(generated_runbook(steps=steps, hosts=HOSTS))
            answers = os.path.join(d, "answers.yaml")
            with open(answers, "w") as f:
                f.write("operator: bench\nprerequisites: true\nconfirm: true\ndefault: pause\n")
            state = os.path.join(d, "runs")
            cases = [
                ("validate", ["validate", rb], (0,)),
                ("checklist text", ["checklist", rb, "--format", "text"], (0,)),
                ("checklist md", ["checklist", rb, "--format", "md"], (0,)),
                ("checklist html", ["checklist", rb, "--format", "html"], (0,)),
                ("check text", ["check", rb], (0,)),
                ("check json", ["check", rb, "--json"], (0,)),
                ("run start (pauses)", ["run", rb, "--answers", answers, "--state-dir", state], (3,)),
            ]
            runs = opts.runs if steps == 500 else max(1, opts.runs // 2) if steps == 5000 else 1
            for name, args, ok in cases:
                samples = []
                for _ in range(runs):
                    if name.startswith("run start"):
                        shutil.rmtree(state, ignore_errors=True)
                    samples.append(run_once(args, d, ok))
                record(results, commands, name, steps, samples, runs, "")
            run_dir = os.path.join(state, [n for n in os.listdir(state) if not n.startswith(".")][0])
            journal = os.path.getsize(os.path.join(run_dir, "journal.jsonl")) \
                if os.path.exists(os.path.join(run_dir, "journal.jsonl")) else 0
            for name, args in (("status text", ["status", run_dir]),
                               ("status json", ["status", run_dir, "--json"])):
                samples = [run_once(args, d, (0,)) for _ in range(runs)]
                record(results, commands, name, steps, samples, runs, "; journal %d bytes" % journal)
            shutil.rmtree(d, ignore_errors=True)
        if opts.journal:
            d = os.path.join(tmp, "journal")
            os.makedirs(d)
            rb = os.path.join(d, "generated.yaml")
            with open(rb, "w") as f:
                f.write(generated_runbook(steps=JOURNAL_STEPS, hosts=HOSTS))
            answers = os.path.join(d, "answers.yaml")
            with open(answers, "w") as f:
                f.write("operator: bench\nprerequisites: true\nconfirm: true\ndefault: pause\n")
            state = os.path.join(d, "runs")
            run_once(["run", rb, "--answers", answers, "--state-dir", state], d, (3,))
            run_dir = os.path.join(state, [n for n in os.listdir(state) if not n.startswith(".")][0])
            journal_open(run_dir, rb, d, [BIN] + ([opts.journal_also] if opts.journal_also else []))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("load average after: %s" % loadavg())
    if not sizes:
        return
    print()
    n = lambda v: format(v, ",")
    head = "| command | " + " | ".join("CPU ms at %s" % n(s) for s in sizes) + " | " + \
        " | ".join("×%s→%s" % (n(a), n(b)) for a, b in zip(sizes, sizes[1:])) + \
        " | wall ms at %s | peak MB at %s | bytes per instance | marginal bytes per instance |" % (
            n(sizes[-1]), n(sizes[-1]))
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    big, small = sizes[-1], sizes[-2] if len(sizes) > 1 else None
    for name in commands:
        cpu = [results[(name, s)][0] for s in sizes]
        factors = ["%.1f" % (b / a) for a, b in zip(cpu, cpu[1:])]
        peak = results[(name, big)][2]
        marginal = (peak - results[(name, small)][2]) / ((big - small) * HOSTS) if small else 0
        print("| %s | %s | %s | %.0f | %.0f | %.0f | %.0f |" % (
            name, " | ".join("%.0f" % (t * 1000) for t in cpu), " | ".join(factors),
            results[(name, big)][1] * 1000, peak / 1e6, peak / (big * HOSTS), marginal))
    print()
    print("CPU = user + system time of the process (median), which the load of a shared machine")
    print("moves far less than the wall time; bytes per instance = peak RSS / (%s steps x %d hosts);"
          % (n(big), HOSTS))
    if small:
        print("marginal = the growth of the peak RSS from %s to %s steps, per instance added."
              % (n(small), n(big)))


def journal_open(run_dir, rb, cwd, binaries):
    """Grows the paused run's journal to JOURNAL_EVENTS events, linked as stepwise links them
    (each line ends with the SHA-256 of the line before), and measures `status` (text, JSON) and
    `log` on it: the peak resident memory against the journal's size. With two binaries, their
    outputs are compared byte for byte (by SHA-256)."""
    path = os.path.join(run_dir, "journal.jsonl")
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    last = hashlib.sha256(lines[-1]).hexdigest()
    seq = len(lines)
    # The instances of the plan in order: the generator's steps on its hosts.
    steps = sum(1 for line in open(rb) if line.startswith("      - id: step-"))
    hosts = ["WEB%02d" % i for i in range(1, HOSTS + 1)]
    millis = 0
    out = open(path, "ab")

    def emit(body):
        nonlocal seq, last, millis
        seq += 1
        millis += 7
        t = "2026-12-01T%02d:%02d:%02d.%03dZ" % (millis // 3600000 % 24, millis // 60000 % 60,
                                                 millis // 1000 % 60, millis % 1000)
        line = ('{"seq":%d,"time":"%s","operator":"bench",%s,"prev_sha256":"%s"}'
                % (seq, t, body, last)).encode()
        out.write(line + b"\n")
        last = hashlib.sha256(line).hexdigest()

    emit('"kind":"resumed","machine":"vm","pid":1')
    n = 0
    while seq < JOURNAL_EVENTS:
        for s in range(steps):
            for h in hosts:
                key = "step-%d@%s" % (s, h)
                emit('"kind":"instance_started","key":"%s","host":"%s"' % (key, h))
                if s % 10 == 0:
                    for item in ("first-item", "second-item", "third-item"):
                        emit('"kind":"item_done","key":"%s","item":"%s","host":"%s"' % (key, item, h))
                if n % 7 == 0:
                    emit('"kind":"note_added","key":"%s","host":"%s","note":"Checked the log of %s"'
                         % (key, h, h))
                emit('"kind":"instance_done","key":"%s","how":"confirmed","host":"%s"' % (key, h))
                n += 1
                if seq >= JOURNAL_EVENTS:
                    break
            if seq >= JOURNAL_EVENTS:
                break
    out.close()
    size = os.path.getsize(path)
    print("  journal of %d events, %.1f MB, over a plan of %d steps x %d hosts" % (
        seq, size / 1e6, steps, HOSTS), flush=True)
    global BIN
    measured = BIN
    outputs = {}
    output = os.path.join(cwd, "output")
    for binary in binaries:
        BIN = os.path.abspath(binary)
        for name, args in (("status text", ["status", run_dir]),
                           ("status json", ["status", run_dir, "--json"]),
                           ("log text", ["log", run_dir]),
                           ("log json", ["log", run_dir, "--json"])):
            cpu, wall, peak = run_once(args, cwd, (0,), out=output)
            digest = hashlib.sha256()
            with open(output, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            outputs.setdefault(name, []).append((os.path.getsize(output), digest.hexdigest()))
            os.remove(output)
            print("  journal  %-12s CPU %9.1f ms  wall %9.1f ms  %8.1f MB  peak / journal %.2f  (%s)"
                  % (name, cpu * 1000, wall * 1000, peak / 1e6, peak / size,
                     os.path.basename(BIN)), flush=True)
    BIN = measured
    if len(binaries) > 1:
        for name, seen in outputs.items():
            same = all(s == seen[0] for s in seen)
            print("  journal  %-12s output %s (%d bytes, sha256 %s)" % (
                name, "identical" if same else "DIFFERS: " + ", ".join(h for _, h in seen),
                seen[0][0], seen[0][1][:16]), flush=True)


def record(results, commands, name, steps, samples, runs, extra):
    cpu = statistics.median(c for c, _, _ in samples)
    wall = statistics.median(w for _, w, _ in samples)
    peak = max(p for _, _, p in samples)
    results[(name, steps)] = (cpu, wall, peak)
    if name not in commands:
        commands.append(name)
    print("  %6d steps  %-20s CPU %9.1f ms  wall %9.1f ms  %8.1f MB  (%d runs%s)" % (
        steps, name, cpu * 1000, wall * 1000, peak / 1e6, runs, extra), flush=True)


if __name__ == "__main__":
    main()
