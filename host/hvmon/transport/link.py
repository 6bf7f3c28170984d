"""Open the serial line: any pyserial URL (/dev/ttyUSB0, socket://127.0.0.1:PORT,
rfc2217://HOST:PORT, loop://)."""

from __future__ import annotations

import socket

import serial
from serial.urlhandler.protocol_socket import Serial as _PyserialSocket

from ..errors import LinkError


class SocketLine(_PyserialSocket):
    """pyserial's socket:// port, without Nagle's algorithm, and whose close() may skip
    pyserial's 0.3 s pause."""

    def open(self) -> None:
        super().open()
        # A UART sends each byte as it is written. With Nagle, a small write (an ACK, a
        # request) waits while an earlier one is unacknowledged by the peer's TCP, which
        # may hold its acknowledgement for 40 ms: each wait stalls the round trip it is in.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self, settle: bool = True) -> None:
        # pyserial pauses after closing a socket "in case of quick reconnects": a server
        # that has not yet noticed the old connection gone may refuse the next one. A
        # process that is about to exit reconnects to nothing, so it need not pay it.
        if settle or not self.is_open:
            super().close()
            return
        if self._socket:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._socket.close()
            self._socket = None
        self.is_open = False


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
        if url.startswith("socket://"):
            port = SocketLine(None, baudrate=baud, timeout=timeout, **options)
            port.port = url
            port.open()
            return port
        return serial.serial_for_url(url, baudrate=baud, timeout=timeout, **options)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise LinkError(f"cannot open {url}: {exc}") from None


def close_link(port, exiting: bool = False) -> None:
    """Close a port; `exiting`: the process ends next, no reconnect follows."""
    if exiting and isinstance(port, SocketLine):
        port.close(settle=False)
    else:
        port.close()
