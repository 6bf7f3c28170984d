"""Waiting for text on the serial line, with a transcript of everything received."""

from __future__ import annotations

import re
import time
from typing import BinaryIO

import serial

from ..errors import LinkError, StepTimeout


class Expect:
    """Reads the line into a buffer and finds patterns in it, in order.

    Everything received is also appended to `log` (a binary file) when one is given,
    so a failed step can be read back in full.
    """

    def __init__(self, port: serial.SerialBase, log: BinaryIO | None = None):
        self.port = port
        self.log = log
        self.buffer = b""
        self.transcript = bytearray()

    def _feed(self, data: bytes) -> None:
        self.buffer += data
        self.transcript += data
        if self.log is not None:
            self.log.write(data)
            self.log.flush()

    def read_some(self, max_bytes: int = 4096) -> bytes:
        try:
            data = self.port.read(max(1, min(max_bytes, self.port.in_waiting or 1)))
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"serial link broke: {exc}") from None
        if data:
            self._feed(data)
        return data

    def read_byte(self, timeout: float) -> int | None:
        """One byte taken straight off the buffer (for YMODEM), or None on timeout."""
        deadline = time.monotonic() + timeout
        while not self.buffer:
            if time.monotonic() > deadline:
                return None
            self.read_some(1)
        byte, self.buffer = self.buffer[0], self.buffer[1:]
        return byte

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"serial link broke: {exc}") from None

    def expect(self, pattern: str | bytes | re.Pattern, timeout: float, step: str,
               what: str | None = None) -> re.Match:
        """Wait until pattern matches the buffer; consume up to the end of the match."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer)
            if match:
                self.before = self.buffer[: match.start()]
                self.buffer = self.buffer[match.end():]
                return match
            if time.monotonic() > deadline:
                raise StepTimeout(step, what or repr(regex.pattern.decode(errors="replace")),
                                  timeout, self.buffer[-400:].decode(errors="replace"))
            self.read_some()

    def read_waiting(self) -> None:
        """Take in what is waiting on the line (into the buffer and the transcript)."""
        while self.port.in_waiting:
            self.read_some()

    def drain(self) -> None:
        """Read what is waiting on the line and forget it with the unmatched buffer."""
        self.read_waiting()
        self.buffer = b""

    def discard(self) -> None:
        """Forget what has been received but not matched yet."""
        self.buffer = b""
