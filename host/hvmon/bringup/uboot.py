"""Talking to U-Boot's console: catch the prompt, run commands, loady, crc32, boot."""

from __future__ import annotations

import random
import re
import time

from ..errors import BoardRefused, StepTimeout
from ..transport.expect import Expect
from . import ymodem
from .board_profile import UBootProfile


class UBoot:
    def __init__(self, link: Expect, profile: UBootProfile):
        self.link = link
        self.profile = profile
        self.prompt = profile.prompt.encode()

    def catch_prompt(self, timeout: float = 60.0) -> None:
        """Keep sending the interrupt key until U-Boot sits at its prompt.

        Boards whose U-Boot has no autoboot delay (Rockchip's, BOOTDELAY=0) only stop if
        the key is already arriving when the countdown would run, so it is sent from the
        start, every 100 ms, and the prompt is then confirmed with an echo round trip.
        """
        deadline = time.monotonic() + timeout
        key = self.profile.interrupt.encode()
        while True:
            self.link.write(key)
            end = time.monotonic() + 0.1
            while time.monotonic() < end:
                self.link.read_some()
            if self.link.buffer.endswith(self.prompt):
                break
            if time.monotonic() > deadline:
                raise StepTimeout("wait for the U-Boot prompt", f"prompt {self.profile.prompt!r}",
                                  timeout, self.link.transcript[-400:].decode(errors="replace"))
        self.sync(timeout=5.0)

    def sync(self, timeout: float = 5.0) -> None:
        """Make sure U-Boot is at the prompt and nothing stale is left in the buffer."""
        token = f"hvmon-ready-{random.randrange(1 << 30)}"
        self.link.drain()
        self.link.write(f"echo {token}\n")
        self.link.expect(rb"[\r\n]" + token.encode() + rb"\r?\n" + re.escape(self.prompt),
                         timeout, "U-Boot echo round trip", f"{token!r} then the prompt")

    def run(self, command: str, timeout: float = 10.0, step: str | None = None) -> str:
        """Run one command; return what it printed (without the echoed command line)."""
        self.link.drain()
        self.link.write(command + "\n")
        self.link.expect(re.escape(command.encode()) + rb"\r?\n", timeout,
                         step or f"U-Boot echo of {command!r}", "the echoed command")
        self.link.expect(rb"(?:^|\n)" + re.escape(self.prompt), timeout,
                         step or f"U-Boot {command!r}", f"prompt {self.profile.prompt!r}")
        return self.link.before.decode(errors="replace")

    def check(self, command: str, timeout: float = 10.0, step: str | None = None) -> str:
        """Run one command and make sure it succeeded: its exit status (hush's $?) must be
        0, or BoardRefused names the command and what U-Boot printed."""
        output = self.run(command, timeout, step)
        status = self.run("echo status=$?", timeout, step).strip()
        if status != "status=0":
            said = " / ".join(line.strip() for line in output.splitlines() if line.strip())
            raise BoardRefused(f"U-Boot: {command!r} failed ({status}): {said or 'no output'}")
        return output

    def loady(self, address: int, data: bytes, timeout: float = 30.0, progress=None) -> None:
        command = f"loady {address:#x}"
        self.link.drain()
        self.link.write(command + "\n")
        self.link.expect(rb"Ready for binary \(ymodem\) download", timeout,
                         f"U-Boot {command}", "'Ready for binary (ymodem) download'")
        ymodem.send(self.link, data, timeout=timeout, progress=progress)
        match = self.link.expect(rb"Total Size\s*=\s*0x([0-9a-fA-F]+)\s", timeout,
                                 "loady result", "'## Total Size'")
        self.link.expect(rb"\n" + re.escape(self.prompt), timeout, "loady result", "the prompt")
        received = int(match.group(1), 16)
        if received != len(data):
            raise BoardRefused(f"loady: U-Boot received {received} bytes, sent {len(data)}")

    def crc32(self, address: int, length: int) -> int:
        output = self.run(f"crc32 {address:x} {length:x}", step="U-Boot crc32")
        match = re.search(r"==>\s*([0-9a-fA-F]{8})", output)
        if not match:
            raise BoardRefused(f"U-Boot crc32: unexpected answer {output.strip()!r}")
        return int(match.group(1), 16)
