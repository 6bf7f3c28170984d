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
        self.before = ""                      # text between the last two matches
        self.match: re.Match | None = None
        self.index: int | None = None         # which pattern of a list matched

    @property
    def output(self) -> bytes:
        """The console buffer of this VM id (see `text` for this guest's part)."""
        return bytes(self.board.consoles.get(self.vm, b""))

    @property
    def text(self) -> str:
        """Everything this guest has printed so far."""
        return self.output[self.start:].decode(errors="replace")

    def expect(self, pattern, timeout: float = 30.0, not_matching=()):
        """Wait for a regular expression in the output after the last match.

        One pattern: returns its re.Match. A list: waits for whichever appears first in
        the output (the earlier in the list on a tie) and returns (index, match).
        `not_matching`: patterns that fail the test at once when they show up before
        the match (a panic, an error message). Afterwards `before` is the text between
        the previous match and this one, `match` and `index` what matched."""
        return self._expect(pattern, timeout, not_matching, exact=False)

    def expect_exact(self, text, timeout: float = 30.0, not_matching=()):
        """expect() for literal text (one string, or a list of them): no regex escaping."""
        return self._expect(text, timeout, not_matching, exact=True)

    def _expect(self, pattern, timeout, not_matching, exact):
        several = isinstance(pattern, (list, tuple))
        patterns = list(pattern) if several else [pattern]
        if not patterns:
            raise ValueError("expect: an empty list of patterns")
        regexes = [_compile(p, exact) for p in patterns]
        forbidden = [(p, _compile(p, exact)) for p in
                     ([not_matching] if isinstance(not_matching, (str, bytes)) else not_matching)]
        wanted = repr(pattern if several else patterns[0])
        deadline = time.monotonic() + timeout
        while True:
            output = self.output
            found = None
            for index, regex in enumerate(regexes):
                match = regex.search(output, self.cursor)
                if match and (found is None or match.start() < found[1].start()):
                    found = (index, match)
            limit = found[1].start() if found else len(output)
            for shown, regex in forbidden:
                bad = regex.search(output, self.cursor, limit)
                if bad:
                    raise ConsoleTimeout(f"console of {self.name}: {shown!r} "
                                         f"showed up while waiting for {wanted}: "
                                         f"{bad.group().decode(errors='replace')!r}\n{self._tail()}")
            if found:
                index, match = found
                self.before = output[self.cursor:match.start()].decode(errors="replace")
                self.cursor = match.end()
                self.match, self.index = match, index
                return (index, match) if several else match
            if time.monotonic() > deadline:
                break
            failure = getattr(self.board.session, "failure", None)
            if failure is not None:
                raise ConsoleTimeout(f"console of {self.name}: link lost while waiting for "
                                     f"{wanted}: {failure}\n{self._tail()}")
            time.sleep(0.05)
        raise ConsoleTimeout(f"console of {self.name}: no {wanted} within {timeout:g} s\n"
                             f"{self._tail()}")

    def _tail(self) -> str:
        text = self.output[self.cursor:][-TAIL:].decode(errors="replace").replace("\r\n", "\n")
        return ("--- last output since the previous match ---\n" + text) if text.strip() \
            else "--- no output since the previous match ---"

    def send(self, line: str | bytes, newline: bool = True) -> None:
        """Type a line into the guest (a newline is added unless newline=False)."""
        data = line.encode() if isinstance(line, str) else bytes(line)
        self.board.console_write(self.vm, data + (b"\n" if newline else b""))


def _compile(pattern, exact: bool) -> re.Pattern:
    raw = pattern.encode() if isinstance(pattern, str) else bytes(pattern)
    return re.compile(re.escape(raw) if exact else raw)
