"""A push through a noisy simulated cable into the real stub in QEMU ends bit-exact: bit
errors, dropped and duplicated bytes and bursts of garbage, both directions, seeded.

One MiB keeps the whole path covered (QEMU's PL011, the stub's decoder, NAKs and resends
both ways). The long soak, 16 MiB through the same kind of line, runs against the stub's
engine built for the host (tests/test_hoststub_link.py), where the receiver keeps up with
the line as a real UART does: on the QEMU board 16 MiB costs minutes to a quarter of an
hour, by how fast the machine turns QEMU's main loop (QEMU 7.2's PL011 takes one byte per
turn), and a test must not pass or fail by that."""

from __future__ import annotations

import random
import time
import zlib

import pytest

from hvmon.target.board import Board
from hvmon.transport.linksim import LinkSimulator
from tests.budget import doing
from tests.conftest import start_stub, stub_line_address

SIZE = 1 << 20
pytestmark = [pytest.mark.qemu,
              # the push, its resends and the CRC read-backs: the host shortens its
              # frames on this line (host/hvmon/target/frame_size.py), so about one frame
              # in five is resent instead of one 4 KiB frame in two, again and again
              pytest.mark.budget(bringups=1, line_bytes=1.2 * SIZE, sim_bytes=1.2 * SIZE)]

LOAD = 0x48000000


@pytest.mark.parametrize("seed", [1])
def test_a_mib_through_a_noisy_line_into_qemu_arrives_bit_exact(request, seed):
    doing("bringing the stub up through U-Boot")
    stub = start_stub(request)
    stub.link.port.close()
    # Rates above a real cable's so that one MiB meets every kind of fault.
    sim = LinkSimulator(stub_line_address(stub), baud=1_500_000, latency=0.002,
                        ber=2e-5, drop_rate=5e-6, dup_rate=5e-6, garbage_rate=2e-6,
                        garbage_len=(16, 200), faults="both", seed=seed).start()
    request.addfinalizer(sim.stop)
    data = random.Random(seed).randbytes(SIZE)
    started = time.monotonic()
    with Board.open(sim.url) as board:
        doing(f"pushing {SIZE} bytes through the noisy line")
        stats = board.write(LOAD, data, compress=False, skip_unchanged=False)   # verifies the CRC
        doing("reading the CRC back")
        assert board.crc(LOAD, len(data)) == zlib.crc32(data)
        link = board.hvc("link_stats").results
        host = dict(board.session.stats)
    seconds = time.monotonic() - started
    to_board, to_host = sim.stats["to_board"], sim.stats["to_host"]
    assert to_board.bits_flipped > 50
    assert to_board.bytes_dropped + to_board.bytes_duplicated + to_board.garbage_bytes > 0
    assert link["frames_rejected"] > 0 and host.get("retransmits", 0) > 0
    print(f"1 MiB with {to_board.bits_flipped} flipped bits, {to_board.bytes_dropped} dropped, "
          f"{to_board.bytes_duplicated} duplicated, {to_board.garbage_bytes} garbage bytes "
          f"towards the board ({to_host.bits_flipped} bits flipped back): {seconds:.1f} s, "
          f"{stats.sent_raw} bytes sent, stub rejected {link['frames_rejected']} frames, "
          f"host retransmitted {host.get('retransmits', 0)}")
