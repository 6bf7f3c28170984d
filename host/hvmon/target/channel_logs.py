"""One readable log per channel of a board, in one folder:

    serial.log              the serial line as text (U-Boot, the text monitor, `term`)
    events.log              framed mode: the stub's events, and what the host did
    stub.log                the stub's log channel
    console-<vm>-<name>.log each guest's console

Every line is stamped (hvmon.transport.textlog). The CLI's --log-dir writes a folder per
run; the pytest plugin a folder per test, switched between tests (the board outlives a
test, its traffic is split per test)."""

from __future__ import annotations

import threading
from pathlib import Path

from .. import protocol as P
from ..transport.textlog import Clock, TextLog
from .events import describe_event
from .symbols import Symbolizer


class SerialLog:
    """The serial.log sink Expect writes to: it stays the same object while ChannelLogs
    moves it from folder to folder."""

    def __init__(self, logs: "ChannelLogs"):
        self.logs = logs

    def write(self, data: bytes) -> int:
        return self.logs._write("serial.log", data)

    def flush(self) -> None:
        pass


class ChannelLogs:
    def __init__(self, folder: Path, clock: Clock | None = None,
                 symbols: Symbolizer | None = None):
        self.clock = clock or Clock()
        self.symbols = symbols or Symbolizer()
        self.names: dict[int, str] = {}
        self.folder = folder
        self._fresh = False
        self.files: dict[str, TextLog] = {}
        self.lock = threading.Lock()
        self.serial = SerialLog(self)

    def switch(self, folder: Path) -> None:
        """Later lines go to files in `folder`, each started afresh."""
        with self.lock:
            self._close_files()
            self.folder = folder
            self._fresh = True

    def name_console(self, vm: int, name: str) -> None:
        """The guest's name in its console log's file name (set before it prints)."""
        with self.lock:
            self.names[vm] = name

    def record(self, channel: int, data: bytes) -> None:
        """A Board recorder: called on the session's pump thread as each frame arrives."""
        if channel == P.Channel.LOG:
            self._write("stub.log", data)
        elif channel == P.Channel.EVENT:
            event = data[0] if data else 0
            self.note(describe_event(event, data, self.symbols, self.names) or f"event {event}")
        elif channel >= P.Channel.CONSOLE_BASE:
            vm = channel - P.Channel.CONSOLE_BASE
            name = self.names.get(vm)
            self._write(f"console-{vm}{'-' + name if name else ''}.log", data)

    def note(self, line: str) -> None:
        """A line in events.log: an event, or a step of the host (mode switches)."""
        with self.lock:
            self._file("events.log").note(line)

    def paths(self) -> list[Path]:
        with self.lock:
            return [log.path for log in self.files.values()]

    def close(self) -> None:
        with self.lock:
            self._close_files()

    def _write(self, name: str, data: bytes) -> int:
        with self.lock:
            return self._file(name).write(data)

    def _file(self, name: str) -> TextLog:
        log = self.files.get(name)
        if log is None:
            # A folder written to for the first time since switch() starts empty: a test
            # folder from an earlier run must not keep that run's lines.
            mode = "w" if self._fresh else "a"
            log = self.files[name] = TextLog(self.folder / name, self.clock, mode)
        return log

    def _close_files(self) -> None:
        for log in self.files.values():
            log.close()
        self.files.clear()
