"""UART_STATS and the text monitor's `uart` on the real stub in QEMU: the link UART's
driver and FIFO depth as the board profile builds it, and byte counters that follow what
crossed the line, with no overrun and no line error on a paced, clean line.

Runs on the PL011 board in `make test` and on qemu-virt-16550 in `make test-16550` (the
same module with --hvmon-board)."""

from __future__ import annotations

import random
import re

import pytest

from hvmon.target.board import Board
from hvmon.transport.linksim import LinkSimulator
from tests.budget import doing
from tests.conftest import start_stub, stub_line_address

SIZE = 64 << 10
LOAD = 0x48000000
# The depth each driver uses on the QEMU boards, and where it says it comes from:
# the PL011 driver's constant (DDI 0183 r1p4), the 16550 board's profile (QEMU's 16550
# has no DW CPR to read).
DEPTH = {"pl011": (16, "the driver's datasheet value"), "16550": (16, "the board profile")}

pytestmark = [pytest.mark.qemu,
              # the push and the read back through QEMU and the simulator, with the frames'
              # overhead and the repeats a slow receiver draws (up to 1.8x the push on the PL011)
              pytest.mark.budget(bringups=1, line_bytes=3 * SIZE, sim_bytes=3 * SIZE)]


def test_counters_follow_a_paced_push_and_read_with_no_overrun(request):
    doing("bringing the stub up through U-Boot")
    stub = start_stub(request)
    driver = stub.profile.firmware["uart"]
    depth, source = DEPTH[driver]
    screen = stub.monitor.check("uart")
    assert re.search(rf"UART  {driver}, FIFO depth {depth} \({source}\)", screen), screen
    received = int(re.search(r"(\d+) bytes received", screen).group(1))
    assert received >= len("uart\r")                 # at least the command just typed
    assert "0 overruns, 0 framing errors, 0 parity errors, 0 breaks" in screen, screen

    stub.link.port.close()
    # Paced at the real board's 1.5 Mbaud with a little latency, and clean: whatever the
    # counters show beyond bytes is the stub's doing, not the line's.
    sim = LinkSimulator(stub_line_address(stub), baud=1_500_000, latency=0.002, seed=1).start()
    request.addfinalizer(sim.stop)
    data = random.Random(1).randbytes(SIZE)
    with Board.open(sim.url) as board:
        before = board.uart_stats()
        doing(f"pushing {SIZE} bytes through the paced line")
        board.write(LOAD, data, compress=False, skip_unchanged=False)
        pushed = board.uart_stats()
        doing(f"reading {SIZE} bytes back")
        assert board.read(LOAD, SIZE) == data
        after = board.uart_stats()
        host = dict(board.session.stats)
    to_board, to_host = sim.stats["to_board"], sim.stats["to_host"]

    assert (before.driver, before.fifo_depth, before.depth_source) == (driver, depth, source)
    assert before.rx_bytes >= received and before.tx_bytes > 0
    # Every byte pushed crossed the UART, and no byte was counted that the line did not carry.
    assert pushed.rx_bytes - before.rx_bytes >= SIZE
    assert after.rx_bytes - before.rx_bytes <= to_board.bytes_out
    assert after.tx_bytes - pushed.tx_bytes >= SIZE
    assert after.tx_bytes - before.tx_bytes <= to_host.bytes_in + 4096   # + the last answer in flight
    assert (after.overruns, after.rx_ring_overruns) == (0, 0), after
    assert (after.framing_errors, after.parity_errors, after.breaks) == (0, 0, 0), after
    print(f"{driver}: {after.rx_bytes - before.rx_bytes} bytes in, "
          f"{after.tx_bytes - before.tx_bytes} out; line carried {to_board.bytes_out} to the "
          f"board, {to_host.bytes_in} from it; host session {host}; {after}")
