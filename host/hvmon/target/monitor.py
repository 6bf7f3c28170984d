"""The stub's text monitor, driven the way a person at picocom would drive it."""

from __future__ import annotations

import re

from ..errors import BoardRefused
from ..transport.expect import Expect

PROMPT = b"hvmon> "
BANNER = re.compile(rb"hvmon (\S+) on (\S+) at EL(\d)\r?\n")


class TextMonitor:
    def __init__(self, link: Expect):
        self.link = link

    def wait_banner(self, timeout: float = 10.0) -> dict:
        """Wait for the start-up banner and the first prompt; return what it says."""
        match = self.link.expect(rb"hvmon (\S+) on (\S+) at EL(\d)\r?\n|hvmon: [^\r\n]+\r?\n",
                                 timeout, "wait for the stub banner", "the hvmon banner")
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
