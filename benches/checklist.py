#!/usr/bin/env python3
"""Whole-process benchmark of `stepwise checklist`: load, validate, plan and render.

Runs the release binary on every bundled runbook and on a generated runbook of 5,000 steps on
50 hosts, and prints the median wall time over N runs and the peak resident memory of each,
measured side by side in one run. Usage: python3 benches/checklist.py [N]
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "stepwise")


def generated_runbook(steps=5000, hosts=50, per_phase=50):
    lines = [
        "id: generated",
        "title: Generated runbook of %d steps on %d hosts" % (steps, hosts),
        "article: KB0",
        "product: Benchmark",
        "parameters:",
        "  - { name: flag, type: bool, prompt: Flag?, default: false }",
        "  - { name: package_dir, type: path, prompt: Package, default: 'C:\\pkg' }",
        "roles:",
        "  - id: web",
        "    title: Web servers",
        "    hosts: [%s]" % ", ".join("WEB%02d" % i for i in range(1, hosts + 1)),
        "phases:",
    ]
    for s in range(steps):
        if s % per_phase == 0:
            lines += ["  - id: phase-%d" % (s // per_phase), "    title: Phase %d" % (s // per_phase), "    steps:"]
        lines += [
            "      - id: step-%d" % s,
            "        title: Step %d in {{ package_dir }}" % s,
            "        on: web",
            "        when: not flag" if s % 7 == 0 else "        notes: [Plain step]",
            "        instructions: |",
            "          Do the thing number %d on the server, then check the log." % s,
        ]
        if s % 10 == 0:
            lines += ["        items: [First item, Second item, Third item]"]
    return "\n".join(lines) + "\n"


def measure(args, runs):
    times = []
    peak = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run([BIN] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit("stepwise %s failed: %s" % (" ".join(args), proc.stderr.decode()))
        # ru_maxrss of children is the maximum over all children so far (KiB on Linux).
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return statistics.median(times), peak


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    ids = [line.split()[0] for line in subprocess.run([BIN, "list"], capture_output=True, text=True).stdout.splitlines()[1:]]
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "generated.yaml")
        with open(big, "w") as f:
            f.write(generated_runbook())
        cases = [(i, fmt, [ "checklist", i, "--format", fmt]) for i in ids for fmt in ("text", "html")]
        cases.append(("generated 5000 steps x 50 hosts", "text", ["checklist", big, "--format", "text"]))
        cases.append(("generated 5000 steps x 50 hosts", "html", ["checklist", big, "--format", "html"]))
        print("%-34s %-5s %12s %12s" % ("runbook", "fmt", "median ms", "runs"))
        baseline, _ = measure(["--version"], runs)
        for name, fmt, args in cases:
            n = runs if "generated" not in name else max(5, runs // 4)
            median, _ = measure(args, n)
            print("%-34s %-5s %12.2f %12d" % (name, fmt, median * 1000, n))
        print("%-34s %-5s %12.2f %12d" % ("(process start: --version)", "", baseline * 1000, runs))
        # Peak memory, one child at a time so that the maximum belongs to that command.
        for fmt in ("text", "html"):
            out = subprocess.run(
                [sys.executable, "-c",
                 "import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                 BIN, "checklist", big, "--format", fmt],
                capture_output=True, text=True, check=True)
            print("peak memory, generated runbook, %s: %.1f MB" % (fmt, int(out.stdout) / 1024))


if __name__ == "__main__":
    main()
