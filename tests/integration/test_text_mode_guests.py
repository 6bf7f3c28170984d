"""Guests keep running while the stub is at its text monitor (issue 13, hole 7): nobody
reads their consoles then, so what they print is counted as lost (the text monitor's
`info` shows the count) instead of stopping them, and the count reaches the host as an
EVENT LOST when it says HELLO again. Plugin fixtures: `board`, `vm`, `hvmon_target`."""

from __future__ import annotations

import re
import struct
import time

import pytest

from hvmon import protocol as P
from hvmon.hil.console import Console
from hvmon.target.board import Board
from hvmon.target.monitor import TextMonitor
from tests.budget import doing
from tests.conftest import REPO

LINUX = REPO / "boards" / "qemu-virt" / "linux.toml"
LINE = "flood-0123456789abcdef0123456789abcdef0123456789abcdef"

# One Linux boot; the flood fills the line in framed mode for a few seconds; the loss
# must show up at the text monitor within LOSS_WAIT.
LOSS_WAIT = 60
pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=1, boots=1, line_bytes=1_500_000, seconds=LOSS_WAIT)]


def console_lost(monitor: TextMonitor, name: str) -> int | None:
    """The text monitor's count of this VM's console bytes nobody read, or None."""
    found = re.search(rf"VM \d+ \({name}\) running, (\d+) bytes of console output lost",
                      monitor.check("info"))
    return int(found.group(1)) if found else None


def test_a_flooding_guest_keeps_running_at_the_text_monitor(board, vm, hvmon_target):
    guest = vm(LINUX)
    doing("booting the guest to its shell")
    guest.console.expect(r"/ # ", timeout=90)
    doing("starting a loop in the guest that prints without end")
    guest.console.send(f"while [ ! -e /stop ]; do echo {LINE}; done &")
    guest.console.expect(LINE, timeout=30)

    doing("BYE: back to the text monitor while the guest prints")
    board.bye()
    board.session.close()
    hvmon_target.port.timeout = 0.05
    hvmon_target.link.drain()
    monitor = TextMonitor(hvmon_target.link)
    doing("waiting for the text monitor to count the guest's output as lost")
    deadline = time.monotonic() + LOSS_WAIT
    first = console_lost(monitor, guest.name)
    while not first and time.monotonic() < deadline:
        time.sleep(0.5)
        first = console_lost(monitor, guest.name)
    assert first, "the text monitor reports no console output lost: is the guest stuck?"
    doing("checking the guest still prints: the count grows")
    deadline = time.monotonic() + LOSS_WAIT
    later = console_lost(monitor, guest.name)
    while later <= first and time.monotonic() < deadline:
        time.sleep(0.5)
        later = console_lost(monitor, guest.name)
    assert later > first, "the guest stopped printing at the text monitor"

    doing("HELLO again: the guest's console answers and the loss is reported")
    board = Board.attach(hvmon_target.port, trace=hvmon_target.framed_sink)
    hvmon_target.board = board             # the vm fixture cleans up through it
    console = Console(board, guest.id, guest.name)
    console.send("touch /stop")
    console.send("echo marker-$((6 * 7))")
    console.expect(r"marker-42", timeout=60)
    payload = board.wait_event(P.Event.LOST, timeout=10)
    channel, lost = struct.unpack_from(P.EVENT_FIELDS[P.Event.LOST].format, payload, P.PAYLOAD_HEADER)
    assert channel == P.Channel.CONSOLE_BASE + guest.id
    assert lost >= later
