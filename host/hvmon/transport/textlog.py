"""Readable logs of what a board said: text, one line per line received, each line
stamped with the wall-clock time its first byte arrived and the seconds since the run
began (the same clock for every channel of a run, so their lines can be put side by
side). Used for files (--log-dir, the pytest artifacts) and, shorter, on screen
(--timestamps)."""

from __future__ import annotations

import codecs
import re
import threading
import time
from datetime import datetime
from pathlib import Path

# CSI and other ESC sequences, and control characters other than tab and newline: a
# shell's colours and cursor queries make a log unreadable in an editor.
ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])|[\x00-\x08\x0b-\x1f\x7f]")
LINES = re.compile(r"[^\n]*\n|[^\n]+")     # lines by \n alone: a lone \r stays inside


class Clock:
    """When a run began: every stamp says the wall-clock time and the seconds since."""

    def __init__(self):
        self.wall = time.time()
        self.mono = time.monotonic()

    def stamp(self, short: bool = False) -> str:
        now = time.monotonic()
        wall = datetime.fromtimestamp(self.wall + (now - self.mono))
        since = now - self.mono
        if short:
            return f"[{wall:%H:%M:%S}.{wall.microsecond // 1000:03d} +{since:.3f}] "
        return f"[{wall:%Y-%m-%d %H:%M:%S}.{wall.microsecond // 1000:03d} +{since:9.3f}] "


class LineStamper:
    """Puts a stamp in front of every line of a stream of text; keeps, between calls,
    whether the next character starts a line. `keep_cr`: for a terminal in raw mode,
    which needs its \\r\\n; a log file gets plain newlines."""

    def __init__(self, clock: Clock, short: bool = False, keep_cr: bool = False):
        self.clock = clock
        self.short = short
        self.keep_cr = keep_cr
        self.at_line_start = True

    def __call__(self, text: str) -> str:
        if not self.keep_cr:
            text = ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", ""))
        out = []
        for piece in LINES.findall(text):
            if self.at_line_start:
                out.append(self.clock.stamp(self.short))
            out.append(piece)
            self.at_line_start = piece.endswith("\n")
        return "".join(out)


class TextLog:
    """A binary sink (write/flush/close, like a file opened "ab") that stores what it
    is given as stamped text lines. UTF-8 split across writes is decoded whole."""

    def __init__(self, path: Path, clock: Clock, mode: str = "a"):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = open(path, mode, encoding="utf-8", newline="\n")
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.stamper = LineStamper(clock)
        self.lock = threading.Lock()

    def write(self, data: bytes | str) -> int:
        text = data if isinstance(data, str) else self.decoder.decode(data)
        with self.lock:
            if not self.file.closed:
                self.file.write(self.stamper(text))
                self.file.flush()
        return len(data)

    def note(self, line: str) -> None:
        """A line of the host's own (what it did), on a line of its own."""
        with self.lock:
            if self.file.closed:
                return
            if not self.stamper.at_line_start:
                self.file.write("\n")
                self.stamper.at_line_start = True
            self.file.write(self.stamper(f"--- {line}\n"))
            self.file.flush()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self.lock:
            if not self.file.closed:
                self.file.close()


class Tee:
    """One binary sink writing to several (a raw --log file and a text log)."""

    def __init__(self, *sinks):
        self.sinks = [s for s in sinks if s is not None]

    def write(self, data: bytes) -> int:
        for sink in self.sinks:
            sink.write(data)
        return len(data)

    def flush(self) -> None:
        for sink in self.sinks:
            sink.flush()


def tee(*sinks):
    """None, the one sink given, or a Tee of them."""
    present = [s for s in sinks if s is not None]
    return None if not present else present[0] if len(present) == 1 else Tee(*present)
