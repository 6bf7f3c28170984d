"""The selftest's report: one line per check, as Markdown for people and JSON for tools.

Every line carries what was measured (`values`), a one-line summary, its status and the
seconds the check took. A status is one of:
    pass          measured, and what was measured is right
    fail          measured, and wrong (`summary` says why), or the check could not run
    info          measured; nothing to be right or wrong about (a map, a rate)
    not reported  this stub does not report the value (`summary` says which)
    skipped       not run (`summary` says why, e.g. no guest config for this board)
Only `fail` makes the selftest fail.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("pass", "fail", "info", "not reported", "skipped")


@dataclass
class Line:
    name: str
    status: str
    summary: str
    values: dict = field(default_factory=dict)
    seconds: float = 0.0
    details: str = ""             # a block of text shown under the line (U-Boot output, a map)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"selftest line {self.name!r}: status {self.status!r} not in {STATUSES}")


@dataclass
class Report:
    board: str
    url: str
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S %z"))
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, line: Line) -> Line:
        self.lines.append(line)
        return line

    @property
    def failed(self) -> list[Line]:
        return [line for line in self.lines if line.status == "fail"]

    @property
    def passed(self) -> bool:
        return bool(self.lines) and not self.failed

    def as_dict(self) -> dict:
        return {"board": self.board, "url": self.url, "started": self.started,
                "seconds": round(self.seconds, 3), "passed": self.passed,
                "failed": [line.name for line in self.failed],
                "lines": [asdict(line) for line in self.lines]}

    def markdown(self) -> str:
        verdict = ("PASS: every check passed" if self.passed else
                   "FAIL: " + ", ".join(line.name for line in self.failed) if self.lines else
                   "FAIL: nothing was checked")
        out = [f"# hvmon selftest: {self.board}", "",
               f"- line: `{self.url}`", f"- started: {self.started}",
               f"- took: {self.seconds:.1f} s", f"- result: **{verdict}**", "",
               "| check | status | result | s |", "|---|---|---|---|"]
        for line in self.lines:
            summary = line.summary.replace("|", "\\|")
            out.append(f"| {line.name} | {line.status} | {summary} | {line.seconds:.2f} |")
        for line in self.lines:
            if line.details:
                out += ["", f"## {line.name}", "", "```", line.details.rstrip(), "```"]
        return "\n".join(out) + "\n"

    def save(self, folder: Path) -> tuple[Path, Path]:
        """results/selftest/<board>-<time>.md and .json; returns both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self.board}-{time.strftime('%Y%m%d-%H%M%S')}"
        md, js = folder / f"{stem}.md", folder / f"{stem}.json"
        md.write_text(self.markdown())
        js.write_text(json.dumps(self.as_dict(), indent=1) + "\n")
        return md, js
