"""The stub's text monitor, driven the way a person at picocom would drive it."""

from __future__ import annotations

import re
import time

from ..errors import BoardRefused, StepTimeout
from ..transport.expect import Expect

PROMPT = b"hvmon> "
BANNER = re.compile(rb"hvmon (\S+) on (\S+) at EL(\d)\r?\n")
# A start-up error ("hvmon: entered at EL1 ...") refuses the bring-up; what a running stub
# says when a poke takes it out of framed mode, or of a guest it stopped, does not.
BANNER_OR_ERROR = re.compile(rb"hvmon (\S+) on (\S+) at EL(\d)\r?\n"
                             rb"|hvmon: (?!back to the text monitor|VM \d)[^\r\n]+\r?\n")
# A delimiter, Ctrl-C three times, a delimiter: leaves framed mode (firmware/link/session.c,
# person_wants_monitor); at the monitor it is one dropped line.
LEAVE_FRAMED_MODE = b"\x00\x03\x03\x03\x00"
# The monitor takes a NUL as the start of a frame and listens until the line is quiet for
# 200 ms (session.c, ENTER_SILENCE_MS): `info` goes after a longer pause, or it is eaten.
SESSION_ENTRY_SILENCE = 0.4
POKE_INTERVAL = 2.0


class TextMonitor:
    def __init__(self, link: Expect):
        self.link = link

    def wait_banner(self, timeout: float = 10.0, poke_after: float | None = None) -> dict:
        """Wait for the start-up banner and the first prompt; return what it says.

        With poke_after (a stub on a line of its own, where nothing else listens), a
        banner not seen by then is asked for again: the banner can be gone before the
        host's end of the line was there to hear it (a QEMU socket still held by a
        closed earlier client drops what the stub prints; a USB adapter opened late).
        The poke leaves framed mode if stale bytes put the stub there (Ctrl-C three
        times at a frame boundary), then types `info`, whose first line is the banner."""
        if poke_after is None:
            return self._banner(self.link.expect(BANNER_OR_ERROR, timeout,
                                                 "wait for the stub banner", "the hvmon banner"),
                                timeout)
        deadline = time.monotonic() + timeout
        wait = min(poke_after, timeout)
        while True:
            try:
                match = self.link.expect(BANNER_OR_ERROR, wait, "wait for the stub banner",
                                         "the hvmon banner, nor an answer to `info`")
                return self._banner(match, max(deadline - time.monotonic(), 2.0))
            except StepTimeout as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StepTimeout(exc.step, exc.waited_for, timeout, exc.tail) from None
            self.link.write(LEAVE_FRAMED_MODE)
            settle = time.monotonic() + SESSION_ENTRY_SILENCE
            while time.monotonic() < settle:
                self.link.read_some()
            self.link.write(b"\rinfo\r")
            wait = min(POKE_INTERVAL, max(deadline - time.monotonic(), 0.1))

    def _banner(self, match: re.Match, timeout: float) -> dict:
        if match.group(1) is None:
            raise BoardRefused(match.group(0).decode(errors="replace").strip())
        self.link.expect(rb"\n" + re.escape(PROMPT), timeout, "wait for the stub prompt",
                         "the 'hvmon> ' prompt")
        text = (match.group(0) + self.link.before).decode(errors="replace").rstrip() + "\n"
        return {"version": match.group(1).decode(), "board": match.group(2).decode(),
                "el": int(match.group(3)), "banner": text}

    def command(self, line: str, timeout: float = 10.0) -> str:
        """Send one command line; return its output up to the next prompt."""
        self.link.drain()
        self.link.write(line + "\r")
        self.link.expect(re.escape(line.encode()) + rb"\r\n", timeout,
                         f"monitor echo of {line!r}", "the echoed line")
        self.link.expect(rb"(?:^|\n)" + re.escape(PROMPT), timeout,
                         f"monitor command {line!r}", "the 'hvmon> ' prompt")
        return self.link.before.decode(errors="replace").replace("\r\n", "\n")

    def check(self, line: str, timeout: float = 10.0) -> str:
        """Like command(), but an 'error: ...' answer raises BoardRefused."""
        output = self.command(line, timeout)
        for text in output.splitlines():
            if text.startswith("error: "):
                raise BoardRefused(f"stub refused {line!r}: {text[7:]}")
        return output
