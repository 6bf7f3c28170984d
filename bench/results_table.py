"""A benchmark's table, printed and kept: bench/results/<name>-<date>-<time>.md ends with
the machine's load when the runs were done (these machines are shared: a figure without
its load is half a figure), with a .json of the figures beside it when there are some."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def keep(name: str, table: list[str], figures: dict | None = None) -> Path:
    text = "\n".join([*table, "",
                      f"load average when done: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{datetime.datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text(text + "\n")
    if figures is not None:
        path.with_suffix(".json").write_text(json.dumps(figures, indent=1))
    print(f"written to {path}")
    return path
