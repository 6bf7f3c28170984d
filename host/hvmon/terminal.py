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
