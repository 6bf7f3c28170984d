"""Hand the user's terminal to the serial line (pyserial's miniterm), as picocom would."""

from __future__ import annotations

import codecs
import sys

import serial
from serial.tools.miniterm import Miniterm, Transform

EXIT_KEY = "\x1d"   # Ctrl-]
LOOK_S = 0.25       # how often an idle console looks whether the session is lost
REPLAY_BYTES = 16 * 1024   # of a console's earlier output, an attach shows the last (whole lines)


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


class ResetNotice(Transform):
    """A miniterm receive filter that says, once per banner, when the board starts
    afresh under the terminal (its banners: transport/session.RESET_BANNERS)."""

    def __init__(self, say):
        self.say = say
        self.tail = b""

    def rx(self, text: str) -> str:
        from ..transport.session import RESET_BANNERS
        self.tail = (self.tail + text.encode(errors="replace"))[-400:]
        for banner, what in RESET_BANNERS:
            if banner.search(self.tail):
                self.tail = b""
                self.say(f"board reset: {what} seen on the line")
                break
        return text


class LineTerm(Miniterm):
    """miniterm whose reader, when the port breaks (an adapter unplugged, a serial server
    gone), keeps the reason and stops the terminal instead of dying with a traceback."""

    lost: Exception | None = None
    on_lost = None

    def reader(self):
        try:
            super().reader()
        except (serial.SerialException, OSError) as exc:
            self.lost = exc
            self.alive = False
            if self.on_lost is not None:
                self.on_lost(exc)


def attach(port: serial.SerialBase, wake: bytes = b"", log=None, stamper=None, on_lost=None,
           say=None):
    """Run until the user presses Ctrl-] (returns None) or the port breaks (returns the
    exception; `on_lost(exc)` is called at once, on the reader's thread, to say so: the
    terminal itself ends at the next key). `wake` is sent once the terminal is live
    (a CR makes the monitor print a fresh prompt). `log`: a binary sink for what the
    line says; `stamper`: a LineStamper for the screen (--timestamps); `say(text)`: how
    to tell the user the board reset."""
    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the terminal needs a TTY on standard input")
    term = LineTerm(port, echo=False, eol="cr", filters=["direct"])
    term.on_lost = on_lost
    if log is not None or stamper is not None:
        term.rx_transformations.append(LogAndStamp(log, stamper))
    if say is not None:
        term.rx_transformations.append(ResetNotice(say))
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
    if term.lost is None:
        sys.stderr.write("\n--- left the terminal ---\n")
    return term.lost


def attach_console(board, vm_id: int, name: str, stamper=None, lost=None):
    """Raw keys to the guest's console, its output to this terminal, until Ctrl-]
    (returns None) or until `lost()` gives a reason the session is gone (returned: the
    line broke, the board reset), which is looked at every LOOK_S seconds while no key
    is pressed. (Its log, under --log-dir, is written by the board's recorder, attached
    or not.)"""
    import os
    import select
    import termios
    import tty

    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the console needs a TTY on standard input")
    out = sys.stdout.buffer
    # The banner first: what the guest printed so far follows it, ending at its prompt;
    # of a long-running guest's output only the last lines (its log has the rest).
    sys.stderr.write(f"--- console of {name} (VM {vm_id}) --- Ctrl-] detaches ---\r\n")
    start = replay_start(board.consoles.get(vm_id, b""))
    if start:
        sys.stderr.write(f"--- {start} bytes of its earlier output not shown ---\r\n")
    sys.stderr.flush()
    echo = console_echo(board, vm_id, out, stamper, start=start)
    echo(vm_id, b"")
    board.on_console = echo
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    reason = None
    try:
        # TCSANOW: keys typed before the terminal went raw go to the guest too
        # (setraw's default, TCSAFLUSH, would throw them away).
        tty.setraw(fd, termios.TCSANOW)
        while True:
            if lost is not None:
                reason = lost()
                if reason is not None:
                    break
            if not select.select([fd], [], [], LOOK_S)[0]:
                continue
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
    if reason is None:
        sys.stderr.write("\r\n--- detached ---\r\n")
    else:
        sys.stderr.write("\r\n")
    sys.stderr.flush()
    return reason


def replay_start(output: bytes, limit: int = REPLAY_BYTES) -> int:
    """Where an attach starts showing a console's earlier output: at most `limit` bytes
    from its end, from the start of a line when one begins in them."""
    if len(output) <= limit:
        return 0
    cut = len(output) - limit
    newline = output.find(b"\n", cut)
    return newline + 1 if newline >= 0 else cut


def console_echo(board, vm_id: int, out, stamper=None, start: int = 0):
    """on_console for an attached terminal: writes what board.consoles[vm_id] holds beyond
    `start` and what it wrote before. The buffer is filled as frames arrive and the
    callback runs later on the session's dispatcher, so each byte is shown once: none twice
    when it was in the buffer before the callback was set, none missing when the
    dispatcher dropped a delivery because this terminal did not keep up."""
    shown = start
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
