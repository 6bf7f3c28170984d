#!/usr/bin/env python3
"""`make test`'s wall time from a fresh clone, as a new user meets it (issue: under 10
minutes on 2 cores).

Clones this checkout's HEAD into a new temporary folder, runs `make test` there (the
set-up included: a new .venv with its pip install, the firmware build, `make guest`
fetching Debian's packages into the clone's own cache) and times it. Each run is a new
clone. Prints a table and writes bench/results/fresh-clone-*.{md,json}.

    python bench/fresh_clone.py [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def one_run(run: int, keep: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="hvmon-fresh-clone-"))
    clone = folder / "hvmon"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    load = os.getloadavg()[0]
    log = folder / "make-test.log"
    started = time.monotonic()
    with log.open("wb") as out:
        rc = subprocess.run(["make", "test"], cwd=clone, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - started
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    print(f"  run {run}: {head} make test rc={rc} in {seconds:.0f} s (load {load:.2f} at the "
          f"start); {tail[0]}", flush=True)
    if not keep and rc == 0:
        shutil.rmtree(folder, ignore_errors=True)
    elif rc != 0:
        print(f"  the clone and its log are kept: {log}", flush=True)
    return {"commit": head, "rc": rc, "seconds": round(seconds, 1), "load_at_start": round(load, 2),
            "summary": tail[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep each clone and its log")
    args = parser.parse_args()
    runs = [one_run(i + 1, args.keep) for i in range(args.runs)]
    seconds = [r["seconds"] for r in runs]

    def cell(r):
        return f"{r['seconds']:.0f}" + ("" if r["rc"] == 0 else f" (failed, rc {r['rc']})")
    table = ["| fresh clone | runs | min s | median s | max s | all runs (s) | target |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| make test wall time | {len(runs)} | {min(seconds):.0f} | "
             f"{statistics.median(seconds):.0f} | {max(seconds):.0f} | "
             f"{', '.join(cell(r) for r in runs)}"
             f" | < 600 |", "",
             f"commit {runs[0]['commit']}; {os.cpu_count()} CPUs; load average at each start: "
             f"{', '.join(str(r['load_at_start']) for r in runs)}"]
    print("\n".join(table))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"fresh-clone-{stamp}.md").write_text("\n".join(table) + "\n")
    (RESULTS / f"fresh-clone-{stamp}.json").write_text(json.dumps(runs, indent=1))
    print(f"written to {RESULTS / f'fresh-clone-{stamp}.md'}")
    return 0 if all(r["rc"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
