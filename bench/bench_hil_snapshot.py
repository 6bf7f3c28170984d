#!/usr/bin/env python3
"""A hardware-in-the-loop suite of 20 tests that each need a clean booted guest: its
wall time with restore-per-test (the plugin's `snapshot` fixture, one boot for the
module) against boot-per-test (the `console` fixture: for each test the board is reset,
the stub brought up again so QEMU's loader restores the guest's images, and the guest
booted).

Both suites run as a user runs them, `pytest` in a process of its own on the QEMU board
the plugin starts (boards/qemu-virt/linux.toml: Debian's kernel, a busybox initramfs,
256 MiB, one vCPU); the wall time is that process's, start to exit. The tests are the
same but for the fixture: each checks the shell is as booted, changes it, and checks the
change. Three runs of each, alternating; min / median / max. Prints a table and writes
bench/results/hil-snapshot-*.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_table import keep

ROOT = Path(__file__).resolve().parents[1]
TESTS = 20
RUNS = 3
SUITE_TIMEOUT_S = 1800          # a boot-per-test suite on a loaded machine, with margin

BODY = '''

def test_{n:02d}({fixture}):
    console = {console}
{wait}    console.send("echo clean-${{MARK:-unset}}-$((40 + {n}))")
    console.expect(r"clean-unset-{answer}")
    console.send("MARK={n}; busybox rm -rf /tmp/*; echo > /tmp/f{n}; echo set-$MARK-$(ls /tmp)")
    console.expect(r"set-{n}-f{n}")
'''

RESTORE_HEAD = '''import pytest

pytestmark = pytest.mark.hvmon_snapshot(pattern=r"/ # ", tag="bench")
'''


def suite(restore: bool) -> str:
    parts = [RESTORE_HEAD if restore else ""]
    for n in range(TESTS):
        parts.append(BODY.format(
            n=n, answer=40 + n,
            fixture="snapshot" if restore else "console",
            console="snapshot.console" if restore else "console",
            wait="" if restore else '    console.expect(r"/ # ", timeout=120)\n'))
    return "".join(parts)


def run_suite(folder: Path, restore: bool) -> float:
    name = "test_restore_per_test.py" if restore else "test_boot_per_test.py"
    (folder / name).write_text(suite(restore))
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "-q", "--rootdir", str(folder), name,
                          "--hvmon-results", str(folder / "results")],
                         cwd=folder, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    seconds = time.monotonic() - started
    if run.returncode != 0 or not re.search(rf"\b{TESTS} passed\b", run.stdout):
        raise RuntimeError(f"{name} did not pass:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return seconds


def main() -> int:
    global TESTS, RUNS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=TESTS, help=f"tests per suite ({TESTS})")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs of each suite ({RUNS})")
    args = parser.parse_args()
    TESTS, RUNS = args.tests, args.runs
    if not (ROOT / "cache" / "guest" / "Image").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-guest.sh")], check=True)
    times: dict[str, list[float]] = {"restore": [], "boot": []}
    with tempfile.TemporaryDirectory(prefix="bench-hil-snapshot-") as tmp:
        for n in range(RUNS):
            # Alternating which goes first spreads a change in the machine's load over both.
            for kind in (("restore", "boot") if n % 2 == 0 else ("boot", "restore")):
                seconds = run_suite(Path(tmp), restore=(kind == "restore"))
                times[kind].append(seconds)
                print(f"run {n + 1}/{RUNS}: {kind}-per-test suite of {TESTS}: {seconds:.1f} s",
                      flush=True)

    def row(label: str, values: list[float], digits: int = 1) -> str:
        return (f"| {label} | {min(values):.{digits}f} | {statistics.median(values):.{digits}f} | "
                f"{max(values):.{digits}f} | {', '.join(f'{v:.{digits}f}' for v in values)} |")
    ratios = [r / b for r, b in zip(times["restore"], times["boot"])]
    per_test = {k: [v / TESTS for v in vs] for k, vs in times.items()}
    table = [f"A suite of {TESTS} tests, each needing a clean booted guest "
             f"(boards/qemu-virt/linux.toml, 256 MiB, one vCPU), run as `pytest` on the QEMU "
             f"board the plugin starts; wall time of the pytest process, {RUNS} runs of each.", "",
             "| suite | min (s) | median (s) | max (s) | all runs (s) |",
             "| --- | --- | --- | --- | --- |",
             row("restore-per-test (`snapshot` fixture, one boot)", times["restore"]),
             row("boot-per-test (`console` fixture)", times["boot"]),
             row("  restore-per-test, per test", per_test["restore"], 2),
             row("  boot-per-test, per test", per_test["boot"], 2),
             row("restore-per-test / boot-per-test", ratios, 3)]
    keep("hil-snapshot", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
