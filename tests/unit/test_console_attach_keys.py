"""`vm console`'s raw terminal keeps what was typed before it went raw: a person who types
right after the command (or a script that writes the keys with it) must not lose them.
tty.setraw's default, TCSAFLUSH, throws pending input away."""

from __future__ import annotations

import io
import os
import sys
import time

import pytest

from hvmon.ui import terminal

TYPE_AHEAD_LIMIT_S = 5.0   # only a failing run waits this out: the keys come at once


class Recorder:
    """The board side attach_console talks to: what reached the guest's console."""

    def __init__(self):
        self.consoles = {0: b"/ # "}
        self.written = b""
        self.on_console = None

    def console_write(self, vm: int, data: bytes) -> None:
        self.written += data


class Stdin:
    def __init__(self, fd: int):
        self._fd = fd

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd


class Stdout:
    def __init__(self):
        self.buffer = io.BytesIO()


def test_keys_typed_before_the_console_attaches_reach_the_guest(monkeypatch):
    master, slave = os.openpty()
    try:
        os.write(master, b"echo typed-ahead" + terminal.EXIT_KEY.encode())
        time.sleep(0.1)                      # in the slave's input queue before setraw
        monkeypatch.setattr(sys, "stdin", Stdin(slave))
        monkeypatch.setattr(sys, "stdout", Stdout())
        board = Recorder()
        deadline = time.monotonic() + TYPE_AHEAD_LIMIT_S
        reason = terminal.attach_console(
            board, 0, "linux",
            lost=lambda: "keys lost" if time.monotonic() > deadline else None)
        assert reason is None, f"the typed-ahead keys never came: {reason}"
        assert board.written == b"echo typed-ahead"
        assert sys.stdout.buffer.getvalue() == b"/ # "
    finally:
        os.close(master)
        os.close(slave)
