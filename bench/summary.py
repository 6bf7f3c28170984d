#!/usr/bin/env python3
"""One table of the speed figures the project tracks, from what the benches last wrote
to bench/results/ (`make bench` runs this last):

  goodput / line rate at 2 and 16 ms for both QEMU boards and the stub engine built for
  the host (bench_transfer.py, qemu_line.py), the kernel Image push with deflate and with LZMA2, the unchanged re-push
  (bench_transfer.py); the boot ratio (bench_boot.py); `make test`'s wall time from a
  fresh clone (fresh_clone.py).

Each figure comes from the newest results file that has it, named in the last column, so
a partial bench run (--host-engine-only, say) updates only its own rows. Writes
bench/results/summary-*.md.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


def newest_first(pattern: str) -> list[Path]:
    return sorted(RESULTS.glob(pattern), key=lambda p: p.stem.split("-", 1)[-1], reverse=True)


def transfer_rows() -> list[list[str]]:
    seen: dict[tuple[str, float | None], list[str]] = {}
    for path in newest_first("transfer-*.json"):
        for r in json.loads(path.read_text()):
            key = (r["what"], r["latency_ms"])
            if key in seen:
                continue
            ratios = r.get("ratios")
            value = f"{r['ratio']}" + (f" ({ratios[0]} / {ratios[-1]}, {len(ratios)} runs)"
                                       if ratios and len(ratios) > 1 else "")
            latency = "unpaced" if r["latency_ms"] is None else f"{r['latency_ms']:.0f} ms"
            seen[key] = [r["what"], latency, value, r.get("target") or "", path.name]
    return list(seen.values())


def qemu_line_rows() -> list[list[str]]:
    """bench/qemu_line.py: each QEMU board's goodput against the paced line, with spread."""
    seen: dict[str, list[str]] = {}
    for path in newest_first("qemu-line-*.json"):
        for key, runs in json.loads(path.read_text()).items():
            if key in seen or not runs:
                continue
            board, latency = key.split()
            ratios = sorted(r["ratio"] for r in runs)
            value = (f"{ratios[len(ratios) // 2]:.3f}"
                     + (f" ({ratios[0]:.3f} / {ratios[-1]:.3f}, {len(ratios)} runs)" if len(ratios) > 1 else ""))
            seen[key] = [f"goodput / line rate, {board} (bench/qemu_line.py)",
                         "unpaced" if latency == "u" else f"{latency} ms", value, ">= 0.90", path.name]
    return list(seen.values())


def boot_row() -> list[list[str]]:
    for path in newest_first("boot-*.json"):
        b = json.loads(path.read_text())
        return [["boot to the busybox shell, under the stub / QEMU -kernel", "",
                 f"{b['ratio_median']} (best runs {b['ratio_best']})", b["target"], path.name]]
    return [["boot ratio", "", "not measured yet (bench/bench_boot.py)", "<= 1.3", ""]]


def fresh_clone_row() -> list[list[str]]:
    for path in newest_first("fresh-clone-*.json"):
        runs = json.loads(path.read_text())
        cells = ", ".join(f"{r['seconds']:.0f} s" + ("" if r["rc"] == 0 else " (failed)")
                          for r in runs)
        return [[f"make test from a fresh clone, wall time ({runs[0]['commit']})", "", cells,
                 "< 600 s", path.name]]
    return [["make test from a fresh clone", "", "not measured yet (bench/fresh_clone.py)",
             "< 600 s", ""]]


def main() -> int:
    rows = transfer_rows() + qemu_line_rows() + boot_row() + fresh_clone_row()
    table = ["| what | latency | figure (median; min / max) | target | from |",
             "| --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(cells) + " |" for cells in rows]
    print("\n".join(table))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"summary-{datetime.datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text("\n".join(table) + "\n")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
