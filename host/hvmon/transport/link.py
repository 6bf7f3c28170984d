"""Open the serial line: any pyserial URL (/dev/ttyUSB0, socket://127.0.0.1:PORT,
rfc2217://HOST:PORT, loop://)."""

from __future__ import annotations

import serial

from ..errors import LinkError


def open_link(url: str, baud: int = 115200, timeout: float = 0.05) -> serial.SerialBase:
    options = {"write_timeout": 10}
    if url.startswith("rfc2217://"):
        # pyserial's RFC 2217 client refuses a write timeout (NotImplementedError at
        # open), and waits for the server to confirm the flow-control setting, which
        # ser2net does not do for a line without flow control (a pty, many USB UARTs).
        # hvmon uses none, so that answer is not waited for (`ign_set_control`).
        options = {}
        if "ign_set_control" not in url:
            url += ("&" if "?" in url else "?") + "ign_set_control"
    elif "://" not in url:
        # A device: opened exclusively (POSIX; Windows opens COM ports so anyway), so
        # that not even a program without hvmon's lock (picocom) shares it unnoticed.
        options["exclusive"] = True
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=timeout, **options)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise LinkError(f"cannot open {url}: {exc}") from None
