#!/usr/bin/env python3
"""The Windows build under Wine beside the Linux build: whole-process times, side by side.

Times `stepwise --version` (process start), `stepwise checklist hmc45-ur6` (text and HTML) and
`stepwise check hmc45-ur6` against a package, for the Linux release binary and for stepwise.exe
run by the Wine wrapper that scripts/windows.sh writes, alternating one run of each so that both
see the same machine. The package is one folder seen by both: under the Wine prefix's drive_c, as
C:\\... for Windows and by its Unix path for Linux. Prints the median of N runs of each and the
ratio. The wine server is kept running (scripts/windows.sh starts it so), so the figures are those
of a warm Wine, as in the test suite.

Usage: python3 benches/windows.py [N]     (after `cargo build --release` and scripts/windows.sh)
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINUX = os.path.join(ROOT, "target", "release", "stepwise")
WRAPPER = os.environ.get("STEPWISE_WINDOWS_BIN") or os.path.join(ROOT, "target", "windows", "wine", "stepwise")


def prefix():
    for line in open(WRAPPER):
        if line.startswith("export WINEPREFIX='"):
            return line.split("'")[1]
    sys.exit("no WINEPREFIX in " + WRAPPER)


def package(drive_c):
    """The hmc45-ur6 package (every manifest file at its size) and an empty share."""
    import json
    base = os.path.join(drive_c, "stepwise-bench")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "pkg"))
    os.makedirs(os.path.join(base, "share"))
    for d in ("dotnet", "agent"):
        os.makedirs(os.path.join(base, d))
    # The manifest, read through the Linux build's JSON check output would be circular; the
    # runbook's file table is read from the YAML with a minimal parser of its `files:` lines.
    text = open(os.path.join(ROOT, "runbooks", "hmc45-ur6.yaml")).read()
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("- { name:") and "size:" in s:
            name = s.split("name:")[1].split(",")[0].strip().strip("'\"")
            size = int(s.split("size:")[1].split(",")[0].split("}")[0].strip())
            with open(os.path.join(base, "pkg", name), "wb") as f:
                f.truncate(size)
    return base


def timed(cmd):
    start = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
    return took * 1000


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    for p in (LINUX, WRAPPER):
        if not os.path.exists(p):
            sys.exit("missing %s: run `cargo build --release` and scripts/windows.sh first" % p)
    base = package(os.path.join(prefix(), "drive_c"))
    unix_sets, win_sets = [], []
    for param, folder in (("package_dir", "pkg"), ("msi_share", "share"),
                          ("dotnet_framework_dir", "dotnet"), ("categorizer_agent_dir", "agent")):
        unix_sets += ["--set", "%s=%s" % (param, os.path.join(base, folder))]
        win_sets += ["--set", "%s=C:\\stepwise-bench\\%s" % (param, folder)]
    flags = ["--set", "ur5_installed=false", "--set", "upgraded_from_hmc40=true"]
    cases = [
        ("process start (`--version`)", ["--version"], ["--version"]),
        ("checklist hmc45-ur6, text", ["checklist", "hmc45-ur6"], ["checklist", "hmc45-ur6"]),
        ("checklist hmc45-ur6, HTML", ["checklist", "hmc45-ur6", "--format", "html"],
         ["checklist", "hmc45-ur6", "--format", "html"]),
        ("check hmc45-ur6 against the package", ["check", "hmc45-ur6"] + unix_sets + flags,
         ["check", "hmc45-ur6"] + win_sets + flags),
    ]
    print("| what | Linux, median ms | Windows under Wine, median ms | ratio |")
    print("| --- | --- | --- | --- |")
    for name, linux_args, win_args in cases:
        timed([LINUX] + linux_args)
        timed([WRAPPER] + win_args)
        linux, wine = [], []
        for _ in range(runs):
            linux.append(timed([LINUX] + linux_args))
            wine.append(timed([WRAPPER] + win_args))
        a, b = statistics.median(linux), statistics.median(wine)
        print("| %s | %.1f | %.0f | %.0f× |" % (name, a, b, b / a))
    shutil.rmtree(base, ignore_errors=True)
    print("\n%d runs of each, alternating." % runs)


if __name__ == "__main__":
    main()
