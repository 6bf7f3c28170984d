"""A 16 MiB push through a noisy simulated cable ends bit-exact, every time: bit errors at
1e-5, dropped and duplicated bytes and bursts of garbage, both directions, seeded."""

from __future__ import annotations

import random
import time
import zlib

import pytest

from hvmon.target.board import Board
from hvmon.transport.linksim import LinkSimulator
from tests.conftest import start_stub

pytestmark = pytest.mark.qemu

LOAD = 0x48000000


@pytest.mark.parametrize("seed", [1])
def test_sixteen_mib_through_a_noisy_line_arrive_bit_exact(request, seed):
    stub = start_stub(request)
    stub.link.port.close()
    sim = LinkSimulator(("127.0.0.1", stub.qemu.port), baud=1_500_000, latency=0.002,
                        ber=1e-5, drop_rate=1e-6, dup_rate=1e-6, garbage_rate=2e-7,
                        garbage_len=(16, 200), faults="both", seed=seed).start()
    request.addfinalizer(sim.stop)
    data = random.Random(seed).randbytes(16 << 20)
    started = time.monotonic()
    with Board.open(sim.url) as board:
        stats = board.write(LOAD, data, compress=False, skip_unchanged=False)   # verifies the CRC
        assert board.crc(LOAD, len(data)) == zlib.crc32(data)
        link = board.hvc("link_stats").results
        host = dict(board.session.stats)
    seconds = time.monotonic() - started
    to_board, to_host = sim.stats["to_board"], sim.stats["to_host"]
    faults = (to_board.bits_flipped + to_board.bytes_dropped + to_board.bytes_duplicated
              + to_board.garbage_bytes)
    assert faults > 0 and to_board.bits_flipped > 100
    assert link["frames_rejected"] > 0 and host.get("retransmits", 0) > 0
    print(f"16 MiB with {to_board.bits_flipped} flipped bits, {to_board.bytes_dropped} dropped, "
          f"{to_board.bytes_duplicated} duplicated, {to_board.garbage_bytes} garbage bytes "
          f"towards the board ({to_host.bits_flipped} bits flipped back): {seconds:.1f} s, "
          f"{stats.sent_raw} bytes sent, stub rejected {link['frames_rejected']} frames, "
          f"host retransmitted {host.get('retransmits', 0)}")
