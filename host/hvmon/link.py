"""Open the serial line: any pyserial URL (/dev/ttyUSB0, socket://127.0.0.1:PORT,
rfc2217://HOST:PORT, loop://)."""

from __future__ import annotations

import serial

from .errors import LinkError


def open_link(url: str, baud: int = 115200, timeout: float = 0.05) -> serial.SerialBase:
    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=timeout, write_timeout=10)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise LinkError(f"cannot open {url}: {exc}") from None
