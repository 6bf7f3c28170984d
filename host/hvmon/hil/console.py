"""A guest's console in a test: wait for text with expect(), type with send()."""

from __future__ import annotations

import re
import time

TAIL = 1500          # characters of output a failed expect shows


class ConsoleTimeout(AssertionError):
    """expect() did not see its pattern: an assertion failure of the test, showing what
    the console said instead."""


class Console:
    """Reads the console buffer the Board fills from the link (Board.consoles), from a
    cursor that each successful expect() moves past its match, like pexpect."""

    def __init__(self, board, vm: int, name: str = ""):
        self.board = board
        self.vm = vm
        self.name = name or f"VM {vm}"
        # A VM id is reused once its VM is destroyed, and the board keeps one buffer per
        # id: this console starts at what is there now, not at an earlier guest's output.
        self.start = self.cursor = len(self.output)

    @property
    def output(self) -> bytes:
        """The console buffer of this VM id (see `text` for this guest's part)."""
        return bytes(self.board.consoles.get(self.vm, b""))

    @property
    def text(self) -> str:
        """Everything this guest has printed so far."""
        return self.output[self.start:].decode(errors="replace")

    def expect(self, pattern: str | bytes, timeout: float = 30.0) -> re.Match:
        """Wait for a regular expression in the output after the last match."""
        raw = pattern.encode() if isinstance(pattern, str) else pattern
        regex = re.compile(raw)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output, self.cursor)
            if match:
                self.cursor = match.end()
                return match
            if time.monotonic() > deadline:
                break
            failure = getattr(self.board.session, "failure", None)
            if failure is not None:
                raise ConsoleTimeout(f"console of {self.name}: link lost while waiting for "
                                     f"{pattern!r}: {failure}\n{self._tail()}")
            time.sleep(0.05)
        raise ConsoleTimeout(f"console of {self.name}: no {pattern!r} within {timeout:g} s\n"
                             f"{self._tail()}")

    def _tail(self) -> str:
        text = self.output[self.cursor:][-TAIL:].decode(errors="replace").replace("\r\n", "\n")
        return ("--- last output since the previous match ---\n" + text) if text.strip() \
            else "--- no output since the previous match ---"

    def send(self, line: str | bytes, newline: bool = True) -> None:
        """Type a line into the guest (a newline is added unless newline=False)."""
        data = line.encode() if isinstance(line, str) else bytes(line)
        self.board.console_write(self.vm, data + (b"\n" if newline else b""))
