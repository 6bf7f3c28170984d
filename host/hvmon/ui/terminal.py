"""Hand the user's terminal to the serial line (pyserial's miniterm), as picocom would."""

from __future__ import annotations

import sys

import serial
from serial.tools.miniterm import Miniterm

EXIT_KEY = "\x1d"   # Ctrl-]


def attach(port: serial.SerialBase, wake: bytes = b"") -> None:
    """Run until the user presses Ctrl-]. `wake` is sent once the terminal is live
    (a CR makes the monitor print a fresh prompt)."""
    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the terminal needs a TTY on standard input")
    term = Miniterm(port, echo=False, eol="cr", filters=["direct"])
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


def attach_console(board, vm_id: int, name: str) -> None:
    """Raw keys to the guest's console, its output to this terminal, until Ctrl-]."""
    import os
    import termios
    import tty

    if not sys.stdin.isatty():
        raise SystemExit("hvmon: the console needs a TTY on standard input")
    out = sys.stdout.buffer
    # The banner first: what the guest printed so far follows it, ending at its prompt.
    sys.stderr.write(f"--- console of {name} (VM {vm_id}) --- Ctrl-] detaches ---\r\n")
    sys.stderr.flush()
    for chunk in [bytes(board.consoles.get(vm_id, b""))]:
        out.write(chunk)
    out.flush()
    board.on_console = lambda vm, data: (out.write(data), out.flush()) if vm == vm_id else None
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
