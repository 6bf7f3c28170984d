"""Hand the user's terminal to the serial line (pyserial's miniterm), as picocom would."""

from __future__ import annotations

import codecs
import sys

import serial
from serial.tools.miniterm import Miniterm, Transform

EXIT_KEY = "\x1d"   # Ctrl-]


class LogAndStamp(Transform):
    """A miniterm receive filter: what arrives goes to the log (text, stamped per line
    by the log itself) and, with --timestamps, to the screen with a stamp per line."""

    def __init__(self, log=None, stamper=None):
        self.log = log
        self.stamper = stamper

    def rx(self, text: str) -> str:
        if self.log is not None:
            self.log.write(text.encode())
        return self.stamper(text) if self.stamper else text


def attach(port: serial.SerialBase, wake: bytes = b"", log=None, stamper=None) -> None:
    """Run until the user presses Ctrl-]. `wake` is sent once the terminal is live
    (a CR makes the monitor print a fresh prompt). `log`: a binary sink for what the
    line says; `stamper`: a LineStamper for the screen (--timestamps)."""
    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the terminal needs a TTY on standard input")
    term = Miniterm(port, echo=False, eol="cr", filters=["direct"])
    if log is not None or stamper is not None:
        term.rx_transformations.append(LogAndStamp(log, stamper))
    term.exit_character = EXIT_KEY
    term.menu_character = "\x14"     # Ctrl-T, miniterm's menu
    term.raw = True
    term.set_rx_encoding("utf-8", errors="replace")
    term.set_tx_encoding("utf-8")
    sys.stderr.write("--- hvmon terminal on {} --- Ctrl-] leaves ---\n".format(port.portstr))
    term.start()
    if wake:
        port.write(wake)
    try:
        term.join(True)
    except KeyboardInterrupt:
        pass
    term.join()
    sys.stderr.write("\n--- left the terminal ---\n")


def attach_console(board, vm_id: int, name: str, stamper=None) -> None:
    """Raw keys to the guest's console, its output to this terminal, until Ctrl-].
    (Its log, under --log-dir, is written by the board's recorder, attached or not.)"""
    import os
    import termios
    import tty

    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the console needs a TTY on standard input")
    out = sys.stdout.buffer
    # The banner first: what the guest printed so far follows it, ending at its prompt.
    sys.stderr.write(f"--- console of {name} (VM {vm_id}) --- Ctrl-] detaches ---\r\n")
    sys.stderr.flush()
    echo = console_echo(board, vm_id, out, stamper)
    echo(vm_id, b"")
    board.on_console = echo
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        while True:
            data = os.read(fd, 1024)
            if not data or EXIT_KEY.encode() in data:
                data = data.split(EXIT_KEY.encode())[0]
                if data:
                    board.console_write(vm_id, data)
                break
            board.console_write(vm_id, data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        board.on_console = None
    sys.stderr.write("\r\n--- detached ---\r\n")


def console_echo(board, vm_id: int, out, stamper=None):
    """on_console for an attached terminal: writes what board.consoles[vm_id] holds beyond
    what it wrote before. The buffer is filled as frames arrive and the callback runs later
    on the session's dispatcher, so each byte is shown once: none twice when it was in the
    buffer before the callback was set, none missing when the dispatcher dropped a
    delivery because this terminal did not keep up."""
    shown = 0
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def echo(vm: int, data: bytes) -> None:
        nonlocal shown
        if vm != vm_id:
            return
        chunk = bytes(board.consoles.get(vm_id, b"")[shown:])
        shown += len(chunk)
        if chunk and stamper is not None:
            chunk = stamper(decoder.decode(chunk)).encode()
        if chunk:
            out.write(chunk)
            out.flush()
    return echo
