"""What a real cable does to a session: the host dies mid-transfer, the board resets
under it, the host stays away while the stub keeps talking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from hvmon import protocol as P
from hvmon.target.board import Board
from hvmon.transport.session import LinkLost
from tests.conftest import framed, start_stub

pytestmark = [pytest.mark.qemu]

SCRATCH = 0x48000000


@pytest.mark.budget(bringups=1, processes=1, seconds=3, line_bytes=600_000)
def test_host_killed_mid_transfer_then_the_next_hello_is_answered(request, tmp_path):
    stub = start_stub(request)
    stub.link.port.close()                           # the CLI below opens its own connection
    image = tmp_path / "big.bin"
    image.write_bytes(os.urandom(2 << 20))
    loader = subprocess.Popen([sys.executable, "-m", "hvmon.ui.cli", "-p", stub.qemu.stub_url, "load",
                               str(image), hex(SCRATCH)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    time.sleep(3.0)                                  # well into the transfer
    assert loader.poll() is None, loader.stderr.read()
    os.kill(loader.pid, signal.SIGKILL)
    loader.wait(10)
    with Board.open(stub.qemu.stub_url) as board:    # a new host process, a new HELLO
        assert board.info().board == stub.profile.name
        data = os.urandom(100_000)
        board.write(SCRATCH, data)
        assert board.read(SCRATCH, len(data)) == data


@pytest.mark.budget(bringups=2, line_bytes=300_000, seconds=32)
def test_a_board_reset_mid_transfer_is_reported_within_seconds(board, hvmon_target):
    """On the plugin's board: the next test that asks for `board` gets it recovered."""
    errors, finished = [], threading.Event()

    def transfer():
        try:
            board.write(SCRATCH, os.urandom(4 << 20), skip_unchanged=False)
        except Exception as exc:                     # what the user of the API would see
            errors.append(exc)
        finished.set()

    threading.Thread(target=transfer, daemon=True).start()
    time.sleep(2.0)
    hvmon_target.qemu.qmp("system_reset")            # the reset button, under the transfer
    reset_at = time.monotonic()
    assert finished.wait(30), "the transfer never noticed the reset"
    noticed = time.monotonic() - reset_at
    assert errors and isinstance(errors[0], LinkLost), errors
    assert "reset" in str(errors[0]) or "stopped acknowledging" in str(errors[0])
    print(f"reset noticed after {noticed:.2f} s: {errors[0]}")


def lost_bytes(events) -> int:
    return sum(int.from_bytes(p[8:12], "little") for e, p in events if e == P.Event.LOST)


@pytest.mark.budget(bringups=1, line_bytes=400_000, seconds=31)
def test_output_the_host_missed_is_resent_or_counted_never_silently_dropped(request):
    stub = start_stub(request)
    board = framed(request, stub)
    text = b"".join(b"log line %06d: the stub keeps talking\n" % i for i in range(3000))
    board.write(SCRATCH, text)
    before = len(board.log)
    # Ask the stub to print ~120 KB, then vanish without acknowledging anything.
    future = board._request(P.Command.HVC, 0xC6000005, SCRATCH, len(text), 0, 0, 0, 0)
    future.result(10)
    board.session.close()                            # the host is away: nobody acks
    received_first = bytes(board.log[before:])
    # The loss notice may have reached the first session before it closed (the stub
    # sends it as soon as the window has room): it counts wherever it arrived.
    lost_first = lost_bytes(board.events)
    time.sleep(1.0)
    board.close()
    with Board.open(stub.qemu.stub_url) as again:    # HELLO: pending output comes again
        deadline = time.monotonic() + 30
        lost = lost_first
        while time.monotonic() < deadline:
            lost = lost_first + lost_bytes(again.events)
            if len(received_first) + len(again.log) + lost >= len(text) and lost:
                break
            again.hvc("echo", 0, 0, 0)               # keep the session busy while it drains
            time.sleep(0.1)
        assert lost > 0, "a full buffer must be reported as lost bytes"
        delivered = len(received_first) + len(again.log)
        # Every byte is accounted for: delivered once (possibly in both sessions, since
        # frames not acknowledged are sent again after HELLO) or counted as lost.
        assert delivered + lost >= len(text)
        assert text.startswith(bytes(again.log[:64])) or bytes(again.log[:64]) in text
