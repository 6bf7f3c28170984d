"""A bring-up on a board whose stub has a line of its own survives a banner it never heard.

On qemu-virt-16550 the host opens the stub's line before booti and waits there for the
banner. QEMU serves one client per socket and keeps an earlier client, even a closed one,
until it next reads or writes to it: the banner can go to that client, not to the host
(CI saw this once: `make test-16550`, test_plan, "no the stub's banner on its own line
within 10 s"). Here the earlier client is made real and deterministic: it is connected
before booti, hears the banner, puts the stub into framed mode with a HELLO as a closed
`hvmon` probe leaves it, and only then makes room for the host's line. The bring-up must
still end with the stub's version and a working framed session."""

from __future__ import annotations

import re
import struct
import time

import pytest
from cobs import cobs

from hvmon import protocol as P
from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.bring_up import bring_up
from hvmon.bringup.qemu import QemuBoard
from hvmon.target.board import Board
from hvmon.target.monitor import BANNER
from hvmon.transport import framing
from hvmon.transport.expect import Expect
from hvmon.transport.framing import Frame
from hvmon.transport.link import open_link
from tests.budget import doing
from tests.conftest import qemu_lifetime, results_dir

pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, seconds=40)]
pytestmark.append(pytest.mark.board_specific(
    "starts qemu-virt-16550 itself: make test runs it, on this same board"))

HELLO = b"\x00" + framing.encode(Frame(P.FrameType.HELLO,
                                       payload=struct.pack("<IH", P.MAGIC, P.VERSION)))


class LineTakenBefore:
    """The host's end of the stub's line, while an earlier client holds it.

    The earlier client connects at once; the host's connection is made on the first read
    after booti, which QEMU only accepts once the earlier client has gone. That client
    goes once it has heard the banner and has had a HELLO answered."""

    def __init__(self, url: str, limit: float):
        self.url = url
        self.limit = limit
        self.earlier = open_link(url)
        self.heard = b""
        self.port = None
        self.timeout = 0.05

    def _take_over(self) -> None:
        doing("an earlier client on the stub's line waits for the banner")
        deadline = time.monotonic() + self.limit
        while not BANNER.search(self.heard):
            assert time.monotonic() < deadline, \
                f"the earlier client heard no banner in {self.limit:g} s: {self.heard[-200:]!r}"
            self.heard += self.earlier.read(4096)
        doing("the earlier client sends HELLO and waits for the stub's reply")
        self.earlier.write(HELLO)
        before_reply = len(self.heard)
        while bytes([P.FrameType.HELLO_REPLY]) not in self._frames_after(before_reply):
            assert time.monotonic() < deadline, \
                f"no HELLO_REPLY to the earlier client: {self.heard[before_reply:][-200:]!r}"
            self.heard += self.earlier.read(4096)
        self.earlier.close()
        doing("the host's own line connects to a stub in framed mode, its banner gone")
        self.port = open_link(self.url)

    def _frames_after(self, offset: int) -> bytes:
        """The type of each whole frame heard since offset."""
        types = b""
        for encoded in self.heard[offset:].split(b"\x00"):
            try:
                frame = framing.decode(cobs.decode(encoded)) if encoded else None
            except cobs.DecodeError:
                continue
            if frame is not None:
                types += bytes([frame.type])
        return types

    @property
    def in_waiting(self) -> int:
        return self.port.in_waiting if self.port else 0

    def read(self, size: int = 1) -> bytes:
        if self.port is None:
            self._take_over()
        return self.port.read(size)

    def write(self, data: bytes) -> int:
        if self.port is None:
            self._take_over()
        return self.port.write(data)

    def flush(self) -> None:
        if self.port is not None:
            self.port.flush()

    def close(self) -> None:
        for port in (self.earlier, self.port):
            if port is not None:
                port.close()


def test_a_banner_heard_by_an_earlier_client_is_asked_for_again(request):
    profile = load_profile("qemu-virt-16550")
    board = QemuBoard(profile, lifetime=qemu_lifetime(request),
                      log_path=results_dir(request) / "qemu.log")
    board.start()
    request.addfinalizer(board.stop)
    uboot = open_link(board.url)
    request.addfinalizer(uboot.close)
    line = LineTakenBefore(board.stub_url, limit=60)
    request.addfinalizer(line.close)

    doing("bringing the stub up through U-Boot; its banner goes to the earlier client")
    with (results_dir(request) / "serial.log").open("wb") as log:
        result = bring_up(Expect(uboot, log), profile, stub_link=Expect(line, log))
    assert BANNER.search(line.heard), "the earlier client should have heard the banner"
    assert (result.board, result.el) == ("qemu-virt-16550", 2)
    # The answer came from `info` (the start-up banner ends with the help hint).
    assert "RAM " in result.banner and "type 'help'" not in result.banner
    assert re.fullmatch(r"\S+", result.version)

    doing("a framed session on the host's line after the poke")
    line.port.timeout = 0.002
    attached = Board.attach(line.port)
    try:
        assert attached.info().board == "qemu-virt-16550"
        assert attached.hvc("echo", 7, 8, 9).results["a"] == 7
    finally:
        attached.close()
    print(f"banner heard by the earlier client; bring-up {result.seconds['total']:.1f} s, "
          f"of which waiting on the host's line {result.seconds['boot']:.1f} s")
