"""Waiting for a board's line to come back (transport/reconnect.py), with real ports: a
loopback server that listens again later, and a pseudo-terminal standing in for a USB
adapter that comes back under another name with the same USB serial number."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from hvmon.errors import LinkError, StepTimeout
from hvmon.transport import reconnect
from hvmon.transport.reconnect import reopen


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(reconnect, "POLL", 0.02)


def test_a_url_is_connected_to_again_once_its_server_listens():
    with socket.socket() as probe:                 # a loopback port nobody listens on now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"socket://127.0.0.1:{port}"
    tries = []
    listener = socket.socket()

    def stop() -> bool:                            # called after each refused look
        tries.append(1)
        if len(tries) == 3:                        # the server comes back
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(1)
        return False
    line, where = reopen(url, 115200, stop=stop)
    try:
        assert where == url and line.is_open and len(tries) == 3
        conn, _ = listener.accept()
        line.write(b"hello")
        assert conn.recv(5) == b"hello"
        conn.close()
    finally:
        line.close()
        listener.close()


def test_giving_up_is_one_clear_line():
    with pytest.raises(StepTimeout, match=r"^wait for the port /dev/hvmon-no-such-port: no port to "
                                          r"open within 0\.1 s \(last output: 'not there'\)$"):
        reopen("/dev/hvmon-no-such-port", 115200, timeout=0.1)
    with pytest.raises(LinkError, match=r"^gave up waiting for id:A10K: not there$"):
        reopen("id:A10K", 115200, stop=lambda: True)


def test_id_serial_finds_the_adapter_again_under_its_new_name(monkeypatch):
    controller, device = os.openpty()              # a real tty, as a USB adapter's would be
    name = os.ttyname(device)
    plugged = threading.Event()

    def comports():
        if not plugged.is_set():
            return []                              # unplugged: no adapter at all
        info = ListPortInfo(name, skip_link_detection=True)
        info.vid, info.pid, info.serial_number = 0x10C4, 0xEA60, "A10K"
        return [info]
    monkeypatch.setattr(list_ports, "comports", comports)
    looks = []

    def stop() -> bool:
        looks.append(1)
        if len(looks) == 2:
            plugged.set()                          # replugged, under the pty's name
        return False
    try:
        line, where = reopen("id:A10K", 115200, stop=stop)
        try:
            assert where == name and len(looks) == 2
            line.write(b"x")
            assert os.read(controller, 1) == b"x"
        finally:
            line.close()
    finally:
        os.close(controller)
        os.close(device)
