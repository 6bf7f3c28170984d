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
    """What one test adds to a board's logs. The board object may be replaced by a
    recovery mid-test; its buffers then start again from zero."""

    __test__ = False          # not a test class, whatever its name says

    def __init__(self, folder: Path, target):
        self.folder = folder
        self.target = target
        self.names: dict[int, str] = {}
        folder.mkdir(parents=True, exist_ok=True)
        self.serial = folder / "serial.log"
        self.framed = folder / "framed-rx.bin"
        target.serial_sink.switch(self.serial, "wb")      # this run's traffic only
        target.framed_sink.switch(self.framed, "wb")
        self._mark()

    def _mark(self) -> None:
        board = self.target.board
        self.board = board
        self.log_start = len(board.log) if board else 0
        self.console_start = {vm: len(buf) for vm, buf in board.consoles.items()} if board else {}

    def name_console(self, vm: int, name: str) -> None:
        self.names[vm] = name

    def write(self) -> list[tuple[str, Path]]:
        """Write the stub log and console files; return (label, path) for every file."""
        board = self.target.board
        files = [("serial line", self.serial), ("framed trace (binary)", self.framed)]
        if board is None:
            return files
        same = board is self.board
        log = bytes(board.log[self.log_start if same else 0:])
        stub_log = self.folder / "stub.log"
        stub_log.write_bytes(log)
        files.append(("stub log channel", stub_log))
        for vm, buf in sorted(board.consoles.items()):
            start = self.console_start.get(vm, 0) if same else 0
            if len(buf) <= start:
                continue
            name = self.names.get(vm, "")
            path = self.folder / f"console-{vm}{'-' + name if name else ''}.log"
            path.write_bytes(bytes(buf[start:]))
            files.append((f"console of VM {vm} {name}".rstrip(), path))
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
        self.write()
        self.target.serial_sink.switch(between / "serial.log")
        self.target.framed_sink.switch(between / "framed-rx.bin")
