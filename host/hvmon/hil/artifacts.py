"""Per-test files of what a board said: the serial line, the framed trace, the stub's log
channel and each guest console, under results/<test id>/."""

from __future__ import annotations

import re
import threading
from pathlib import Path

TAIL = 3000            # characters of each log shown in a failing test's report


def folder_for_test(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid)


class LogRouter:
    """A binary sink (for Expect's transcript and Session's trace) whose file can be
    switched: the board outlives a test, its traffic is split per test. The session's
    pump thread writes while the test's thread switches, hence the lock."""

    def __init__(self, path: Path):
        self.lock = threading.Lock()
        self.file = None
        self.path = None
        self.switch(path)

    def switch(self, path: Path, mode: str = "ab") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock:
            if self.file:
                self.file.close()
            self.path = path
            self.file = open(path, mode)

    def write(self, data: bytes) -> int:
        with self.lock:
            if self.file:
                self.file.write(data)
                self.file.flush()
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self.lock:
            if self.file:
                self.file.close()
                self.file = None


class TestCapture:
    """What one test adds to a board's logs: the target's channel logs (stamped text,
    written as the traffic arrives) and its framed trace are moved to the test's folder
    for the test, and back to the worker's folder after it."""

    __test__ = False          # not a test class, whatever its name says

    def __init__(self, folder: Path, target):
        self.folder = folder
        self.target = target
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.log"):               # an earlier run of this test
            stale.unlink()
        self.serial = folder / "serial.log"
        self.framed = folder / "framed-rx.bin"
        target.logs.switch(folder)                        # this run's traffic only
        target.framed_sink.switch(self.framed, "wb")

    def name_console(self, vm: int, name: str) -> None:
        self.target.logs.name_console(vm, name)

    def write(self) -> list[tuple[str, Path]]:
        """(label, path) for every file of the test."""
        files = [("serial line", self.serial), ("framed trace (binary)", self.framed)]
        for path in sorted(self.folder.glob("*.log")):
            if path.name == "serial.log":
                continue
            files.append((_label(path), path))
        return files

    def report_sections(self) -> list[tuple[str, str]]:
        """(title, text) pairs for a failing test's report: every path, and the tail of
        each text log."""
        files = self.write()
        sections = [("hvmon artifacts", "\n".join(f"{label}: {path}" for label, path in files))]
        for label, path in files:
            if path.suffix != ".log" or not path.exists():
                continue
            text = path.read_bytes()[-TAIL:].decode(errors="replace").replace("\r\n", "\n")
            if text.strip():
                sections.append((f"hvmon {label} (last {TAIL} bytes of {path.name})", text))
        return sections

    def finish(self, between: Path) -> None:
        self.target.logs.switch(between)
        self.target.framed_sink.switch(between / "framed-rx.bin")


def _label(path: Path) -> str:
    """console-0-linux.log -> "console of VM 0 linux"."""
    match = re.fullmatch(r"console-(\d+)(?:-(.+))?\.log", path.name)
    if match:
        return f"console of VM {match.group(1)} {match.group(2) or ''}".rstrip()
    return {"stub.log": "stub log channel", "events.log": "events"}.get(path.name, path.stem)
