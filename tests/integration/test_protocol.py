"""The framed protocol against the real stub in QEMU, entered from the text monitor
after a real U-Boot bring-up: every command, every refusal, and the mode switches.
`board` is the hvmon pytest plugin's fixture: one QEMU board for the module."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from hvmon.target import lzma2
from hvmon import protocol as P
from hvmon.target.blockcache import BlockCache
from hvmon.errors import ConfigError
from hvmon.target.board import StubError
from hvmon.target.monitor import TextMonitor
from tests.conftest import framed, start_stub

# The module's board (a bring-up) and at most 300 KB each way per test.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, line_bytes=700_000)]

SCRATCH = 0x48000000
STUB = 0x40200000


def test_info_describes_the_board(board, hvmon_target):
    info = board.info()
    assert (info.protocol_version, info.board, info.version) == (P.VERSION, hvmon_target.profile.name,
                                                                 "0.1.0")
    assert (info.max_payload, info.window, info.data_chunk) == (P.MAX_PAYLOAD, P.WINDOW, P.DATA_CHUNK)
    assert [(r.base, r.size) for r in info.ram] == [(0x40000000, 0x40000000)]
    names = {r.name: r for r in info.protected}
    assert names["stub"].base == STUB and names["stub"].size >= 0x10000
    assert "boot-dtb" in names
    assert P.Capability.DEFLATE in info.capabilities
    assert P.Capability.LZMA2 in info.capabilities


def test_write_read_and_crc_round_trip(board):
    data = os.urandom(150_000)
    stats = board.write(SCRATCH, data, skip_unchanged=False)
    assert stats.sent_raw == len(data)          # random data does not compress
    assert board.read(SCRATCH, len(data)) == data
    assert board.crc(SCRATCH, len(data)) == zlib.crc32(data)
    chunks = board.crc_list(SCRATCH, len(data), 65536)
    assert chunks == [zlib.crc32(data[o:o + 65536]) for o in range(0, len(data), 65536)]


def test_unchanged_data_is_not_sent_again(board):
    data = os.urandom(300_000)
    board.write(SCRATCH + 0x100000, data)
    before = board.session.stats["frames_out"]
    stats = board.write(SCRATCH + 0x100000, data)
    assert stats.skipped == len(data) and stats.sent_raw == stats.sent_deflated == 0
    assert board.session.stats["frames_out"] - before <= 3     # the CRC list and the verify
    changed = bytearray(data)
    changed[200_000] ^= 0xFF                                  # one byte in the fourth chunk
    stats = board.write(SCRATCH + 0x100000, bytes(changed))
    assert stats.skipped == len(data) - 65536
    assert board.read(SCRATCH + 0x100000 + 200_000, 1) == bytes([changed[200_000]])


def test_compressible_data_goes_compressed_and_lands_exactly(board):
    text = b"".join(b"line %06d of a compressible file\n" % i for i in range(20_000))
    stats = board.write(SCRATCH + 0x400000, text, skip_unchanged=False)
    assert stats.compressed_from == len(text) and stats.sent_raw == 0
    assert stats.sent_compressed < len(text) / 5
    assert board.read(SCRATCH + 0x400000, len(text)) == text


def test_fill(board):
    board.fill(SCRATCH + 0x800000, 0x2000, 0xA5A55A5A)
    assert board.read(SCRATCH + 0x800000, 0x2000) == struct.pack("<I", 0xA5A55A5A) * 0x800


def test_hypercalls_by_name(board):
    version = board.hvc("version")
    assert version.status == 0 and version.results == {"protocol_version": P.VERSION, "stub_version": 0x100}
    assert board.hvc("echo", 7, 8, 9).results == {"a": 7, "b": 8, "c": 9}
    now = board.hvc("time").results
    assert now["frequency"] > 0 and now["counter"] > 0
    assert board.hvc("mem_crc", STUB, 0x40).results["crc"] == zlib.crc32(board.read(STUB, 0x40))
    stats = board.hvc("link_stats").results
    assert stats["frames_in"] > 0


def test_hypercall_errors_are_smccc_and_hvmon_statuses(board):
    assert board.hvc(0xC600FFFF).status == -1                  # SMCCC NOT_SUPPORTED
    assert board.hvc("mem_crc", 0x1000, 16).status == -P.Status.REFUSED_RANGE
    with pytest.raises(ConfigError, match="unknown hypercall 'nope'"):
        board.hvc("nope")


@pytest.mark.parametrize("command, fields, data, status, reason", [
    (P.Command.MEM_WRITE, (STUB + 0x100,), b"x" * 16, P.Status.REFUSED_RANGE, "overlaps the stub"),
    (P.Command.MEM_WRITE, (0x1000,), b"x", P.Status.REFUSED_RANGE, "0x1000 is outside RAM"),
    (P.Command.MEM_WRITE, (0x7FFFFFFC,), b"x" * 8, P.Status.REFUSED_RANGE, "runs past the end of RAM"),
    (P.Command.MEM_WRITE, (SCRATCH,), b"x" * 4097, P.Status.TOO_LARGE, "data_chunk"),
    (P.Command.MEM_READ, (0x0, 16), b"", P.Status.REFUSED_RANGE, "outside RAM"),
    (P.Command.MEM_READ, (SCRATCH, 4097), b"", P.Status.TOO_LARGE, "data_chunk"),
    (P.Command.MEM_FILL, (SCRATCH + 2, 8, 0), b"", P.Status.BAD_ALIGNMENT, "multiples of 4"),
    (P.Command.MEM_FILL, (STUB, 0x1000, 0), b"", P.Status.REFUSED_RANGE, "overlaps the stub"),
    (P.Command.MEM_CRC, (0xFFFFFFFFFFFFF000, 0x2000, 0), b"", P.Status.REFUSED_RANGE, "wraps"),
    (P.Command.MEM_CRC, (0x40000000, 0x40000000, 1), b"", P.Status.TOO_LARGE, "too many chunks"),
    (P.Command.MEM_STAGE, (P.STAGING_SIZE - 8,), b"x" * 16, P.Status.TOO_LARGE, "staging"),
    (P.Command.MEM_INFLATE, (SCRATCH, 16, P.STAGING_SIZE + 1, 0, 0), b"", P.Status.TOO_LARGE, "staging"),
    (P.Command.MEM_INFLATE, (STUB, 16, 16, 0, 0), b"", P.Status.REFUSED_RANGE, "overlaps the stub"),
    (P.Command.MEM_INFLATE, (SCRATCH, 16, 16, 0, 32769), b"", P.Status.TOO_LARGE, "history beyond 32768"),
    (P.Command.MEM_INFLATE, (0x40000000, 16, 16, 0, 16), b"", P.Status.REFUSED_RANGE, "outside RAM"),
    (P.Command.MEM_UNLZMA, (SCRATCH, 16, P.STAGING_SIZE + 1, 0, 0), b"", P.Status.TOO_LARGE, "staging"),
    (P.Command.MEM_UNLZMA, (STUB, 16, 16, 0, 0), b"", P.Status.REFUSED_RANGE, "overlaps the stub"),
    (P.Command.MEM_UNLZMA, (SCRATCH, 16, 16, 0, P.UNLZMA_HISTORY + 1), b"", P.Status.TOO_LARGE,
     "history beyond"),
    (P.Command.MEM_UNLZMA, (0x40000000, 16, 16, 0, 16), b"", P.Status.REFUSED_RANGE, "outside RAM"),
    (P.Command.JUMP, (STUB, 0), b"", P.Status.REFUSED_RANGE, "overlaps the stub"),
    (P.Command.JUMP, (SCRATCH + 2, 0), b"", P.Status.BAD_ALIGNMENT, "multiple of 4"),
])
def test_the_stub_refuses_what_it_must(board, command, fields, data, status, reason):
    before = board.crc(STUB, 0x1000)
    with pytest.raises(StubError) as refused:
        board.call(command, *fields, data=data)
    assert refused.value.status == status
    assert reason in refused.value.reason
    assert board.crc(STUB, 0x1000) == before


def test_malformed_and_unknown_requests(board):
    future = board.session.submit(struct.pack("<BBH", 0x7E, 0, 1))
    assert future.result(10)[1] == P.Status.UNKNOWN_COMMAND
    future = board.session.submit(struct.pack("<BBHQ", P.Command.MEM_READ, 0, 2, SCRATCH))
    assert future.result(10)[1] == P.Status.BAD_REQUEST          # a field missing
    future = board.session.submit(b"\x01")
    assert future.result(10)[1] == P.Status.BAD_REQUEST          # shorter than the header


def test_inflate_rejects_bad_data_and_a_wrong_crc(board):
    board.call(P.Command.MEM_STAGE, 0, data=os.urandom(64))
    with pytest.raises(StubError) as bad:
        board.call(P.Command.MEM_INFLATE, SCRATCH, 1000, 64, 0, 0)
    assert bad.value.status in (P.Status.BAD_DATA,)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp = packer.compress(b"hello " * 100) + packer.flush()
    board.call(P.Command.MEM_STAGE, 0, data=comp)
    with pytest.raises(StubError) as wrong:
        board.call(P.Command.MEM_INFLATE, SCRATCH, 600, len(comp), 0xDEADBEEF, 0)
    assert wrong.value.status == P.Status.CRC_MISMATCH
    board.call(P.Command.MEM_INFLATE, SCRATCH, 600, len(comp), zlib.crc32(b"hello " * 100), 0)
    assert board.read(SCRATCH, 600) == b"hello " * 100


def test_inflate_refers_back_into_the_history_before_its_address(board):
    """A stream deflated with the bytes before its target as preset dictionary (what
    Board.write does for every block after the first) resolves against the stub's memory."""
    before, block = os.urandom(4096), None
    block = before[100:3000] + b"new" + before[:1000]
    board.write(SCRATCH, before, compress=False, skip_unchanged=False)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, before)
    comp = packer.compress(block) + packer.flush()
    assert len(comp) < 100                                       # all of it back-references
    board.call(P.Command.MEM_STAGE, 0, data=comp)
    with pytest.raises(StubError) as short:                      # too little history offered
        board.call(P.Command.MEM_INFLATE, SCRATCH + 4096, len(block), len(comp), zlib.crc32(block), 64)
    assert short.value.status == P.Status.BAD_DATA
    board.call(P.Command.MEM_INFLATE, SCRATCH + 4096, len(block), len(comp), zlib.crc32(block), 4096)
    assert board.read(SCRATCH + 4096, len(block)) == block


def test_unlzma_rejects_bad_data_and_a_wrong_crc(board):
    board.call(P.Command.MEM_STAGE, 0, data=os.urandom(64))
    with pytest.raises(StubError) as bad:
        board.call(P.Command.MEM_UNLZMA, SCRATCH, 1000, 64, 0, 0)
    assert bad.value.status == P.Status.BAD_DATA and "unlzma" in bad.value.reason
    comp = lzma2.compress(b"hello " * 100)
    board.call(P.Command.MEM_STAGE, 0, data=comp)
    with pytest.raises(StubError) as truncated:
        board.call(P.Command.MEM_UNLZMA, SCRATCH, 600, len(comp) - 1, zlib.crc32(b"hello " * 100), 0)
    assert truncated.value.status == P.Status.BAD_DATA and "truncated" in truncated.value.reason
    with pytest.raises(StubError) as oversized:
        board.call(P.Command.MEM_UNLZMA, SCRATCH, 599, len(comp), 0, 0)
    assert oversized.value.status == P.Status.BAD_DATA and "beyond raw_len" in oversized.value.reason
    with pytest.raises(StubError) as wrong:
        board.call(P.Command.MEM_UNLZMA, SCRATCH, 600, len(comp), 0xDEADBEEF, 0)
    assert wrong.value.status == P.Status.CRC_MISMATCH
    board.call(P.Command.MEM_UNLZMA, SCRATCH, 600, len(comp), zlib.crc32(b"hello " * 100), 0)
    assert board.read(SCRATCH, 600) == b"hello " * 100


def test_an_lzma2_block_refers_back_into_the_history_before_its_address(board):
    """Board.write's LZMA2 blocks use up to 1 MiB before them as liblzma's preset_dict."""
    before = os.urandom(65536)
    block = before[100:30000] + b"new" + before[40000:]
    board.write(SCRATCH, before, compress=False, skip_unchanged=False)
    comp = lzma2.compress(block, before)
    assert len(comp) < 200                                       # all of it matches
    board.call(P.Command.MEM_STAGE, 0, data=comp)
    with pytest.raises(StubError) as short:                      # too little history offered
        board.call(P.Command.MEM_UNLZMA, SCRATCH + 65536, len(block), len(comp), zlib.crc32(block), 4096)
    assert short.value.status == P.Status.BAD_DATA
    board.call(P.Command.MEM_UNLZMA, SCRATCH + 65536, len(block), len(comp), zlib.crc32(block), 65536)
    assert board.read(SCRATCH + 65536, len(block)) == block


# 3 MiB of kernel as about 0.8 MB of LZMA2 on the line, compressed on this host first.
@pytest.mark.budget(line_bytes=1_000_000, seconds=60)
def test_board_write_sends_kernel_blocks_as_lzma2(board, tmp_path):
    """A piece of the Debian kernel: LZMA2 beats deflate on every block, and a second push
    finds every stream in the block cache."""
    image = Path(__file__).resolve().parents[2] / "cache" / "guest" / "Image"
    data = image.read_bytes()[:3 << 20] if image.exists() else os.urandom(1 << 20) * 3
    board.block_cache = BlockCache(tmp_path / "blocks")
    first = board.write(SCRATCH + 0x1000000, data, skip_unchanged=False)
    assert first.lzma2_from > len(data) // 2 and first.cache_hits == 0
    again = board.write(SCRATCH + 0x1000000, data, skip_unchanged=False)
    assert again.cache_misses == 0 and again.cache_hits == first.cache_misses
    assert again.sent_lzma2 == first.sent_lzma2
    assert board.crc(SCRATCH + 0x1000000, len(data)) == zlib.crc32(data)


def test_host_checks_ranges_before_sending_anything(board):
    before = board.session.stats["frames_out"]
    with pytest.raises(ConfigError, match=r"overlaps the protected range stub"):
        board.write(STUB + 0x1000, b"x" * 100)
    with pytest.raises(ConfigError, match=r"is not inside RAM"):
        board.write(0x7FFFFF00, b"x" * 0x200)
    assert board.session.stats["frames_out"] == before


def test_garbage_on_the_line_is_survived(board):
    rejected = board.hvc("link_stats").results["frames_rejected"]
    with board.session.lock:
        board.session.port.write(os.urandom(3000).replace(b"\x03\x03\x03", b"xyz") + b"\x00")
    assert board.hvc("echo", 1, 2, 3).results == {"a": 1, "b": 2, "c": 3}
    assert board.hvc("link_stats").results["frames_rejected"] > rejected


def test_bye_and_hello_switch_modes_on_one_connection(request):
    stub = start_stub(request)
    board = framed(request, stub)
    board.bye()
    board.session.close()
    stub.link.port.timeout = 0.05
    stub.link.drain()
    monitor = TextMonitor(stub.link)
    assert "at EL2" in monitor.check("info")
    board = framed(request, stub)                       # HELLO from the text monitor again
    assert board.hvc("echo", 4, 5, 6).results["c"] == 6
    # A person at picocom: Ctrl-C three times leaves framed mode.
    board.session.close()
    stub.link.port.timeout = 0.05
    stub.link.drain()
    stub.link.write(b"\x00\x03\x03\x03")
    stub.link.expect(rb"back to the text monitor", 5, "leave framed mode with Ctrl-C")
    assert "at EL2" in TextMonitor(stub.link).check("info")
