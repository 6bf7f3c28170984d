"""`vm console`'s raw terminal, attached through a pty as a person's terminal would be:
keys typed before it went raw reach the guest (tty.setraw's default, TCSAFLUSH, throws
pending input away), and of a long-running guest's earlier output only the last lines
are shown."""

from __future__ import annotations

import io
import os
import sys
import time

from hvmon.ui import terminal

KEYS_LIMIT_S = 5.0   # only a failing run waits this out: the keys are there at once


class Recorder:
    """The board side attach_console talks to: what reached the guest's console."""

    def __init__(self, output: bytes):
        self.consoles = {0: bytearray(output)}
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


def attach(monkeypatch, typed: bytes, output: bytes = b"/ # "):
    """attach_console with `typed` waiting in the terminal's input before it starts; the
    board, what the terminal showed and what went to stderr."""
    master, slave = os.openpty()
    try:
        os.write(master, typed + terminal.EXIT_KEY.encode())
        time.sleep(0.1)                      # in the slave's input queue before setraw
        monkeypatch.setattr(sys, "stdin", Stdin(slave))
        monkeypatch.setattr(sys, "stdout", Stdout())
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        board = Recorder(output)
        deadline = time.monotonic() + KEYS_LIMIT_S
        reason = terminal.attach_console(
            board, 0, "linux",
            lost=lambda: "keys lost" if time.monotonic() > deadline else None)
        assert reason is None, f"the typed-ahead keys never came: {reason}"
        return board, sys.stdout.buffer.getvalue(), sys.stderr.getvalue()
    finally:
        os.close(master)
        os.close(slave)


def test_keys_typed_before_the_console_attaches_reach_the_guest(monkeypatch):
    board, shown, _ = attach(monkeypatch, b"echo typed-ahead")
    assert board.written == b"echo typed-ahead"
    assert shown == b"/ # "


def test_an_attach_shows_the_last_whole_lines_of_a_long_output(monkeypatch):
    lines = b"".join(b"line %06d of the guest's long boot\r\n" % n for n in range(5000))
    output = lines + b"/ # "
    _, shown, said = attach(monkeypatch, b"")
    assert said.count("not shown") == 0 and shown == b"/ # "
    _, shown, said = attach(monkeypatch, b"", output)
    assert len(shown) <= terminal.REPLAY_BYTES and output.endswith(shown)
    assert shown.startswith(b"line ") and shown.endswith(b"line 004999 of the guest's long "
                                                         b"boot\r\n/ # ")
    skipped = len(output) - len(shown)
    assert f"--- {skipped} bytes of its earlier output not shown ---" in said


def test_replay_starts_at_a_line_or_cuts_one_too_long():
    assert terminal.replay_start(b"short", limit=16) == 0
    assert terminal.replay_start(b"aaaa\nbbbb\ncccc\n", limit=8) == 10
    assert terminal.replay_start(b"x" * 40, limit=16) == 24
