"""Finding a board's line again after it went away: a USB adapter that re-enumerated (a
power cycle that also powered it, a hub reset, a cable pulled and pushed back), a serial
server (ser2net, QEMU's socket) that closed and listens again.

A port named `id:SERIAL` is looked for by its USB serial number, whatever /dev name it
comes back under; a device path by that path; a URL by connecting to it again. Nothing
here knows what runs on the board: whether the stub is still there is the caller's
question, asked over the reopened line."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ..errors import LinkError, StepTimeout
from .link import open_link
from .serial_ports import BY_SERIAL, by_serial_number

POLL = 0.5                  # seconds between looks: a person replugging does not notice it


def waiting_for(spec: str, url: str) -> str:
    """What is waited for, in words: "serial number X" or "it to come back"."""
    if spec.startswith(BY_SERIAL):
        return f"serial number {spec[len(BY_SERIAL):]}"
    return "it to come back"


def find(spec: str) -> str | None:
    """Where the port named `spec` is now, or None while it is not there."""
    if spec.startswith(BY_SERIAL):
        return by_serial_number(spec)
    if "://" not in spec and not os.path.exists(spec):
        return None
    return spec


def reopen(spec: str, baud: int, timeout: float | None = None,
           stop: Callable[[], bool] | None = None) -> tuple[object, str]:
    """Wait until the port `spec` can be opened again (for at most `timeout` seconds,
    None: as long as it takes; `stop()` true: give up at once) and open it. Returns the
    open port and the URL or device it was found at. A port that appears but cannot
    be opened yet (udev still setting its permissions, a server not accepting yet) is
    tried again at the next look."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last = "not there"
    while True:
        where = find(spec)
        if where is not None:
            try:
                return open_link(where, baud), where
            except LinkError as exc:
                last = str(exc)
        if stop is not None and stop():
            raise LinkError(f"gave up waiting for {spec}: {last}")
        if deadline is not None and time.monotonic() >= deadline:
            raise StepTimeout(f"wait for the port {spec}", "port to open", timeout, last)
        time.sleep(POLL)
