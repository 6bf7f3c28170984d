"""MEM_READ_DEFLATE against the real stub in QEMU: the stub compresses what it reads, the
host inflates it with zlib and checks the CRC-32 the stub took; bad ranges are refused
with the reason naming the address, as MEM_READ refuses them."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from hvmon import protocol as P
from hvmon.target.board import StubError
from hvmon.target.deflated_read import read_into
from tests.integration.test_snapshots import BoardContext, cli

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = 0x48000000
KERNEL_PIECE = 1 << 20

# The module's board, a 1 MiB piece of the kernel pushed once and read back three ways,
# and some smaller transfers.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, line_bytes=4_000_000)]


@pytest.fixture
def kernel_on_board(board):
    """Pushed once: the second test's write finds every chunk unchanged (MEM_CRC)."""
    data = (ROOT / "cache" / "guest" / "Image").read_bytes()[KERNEL_PIECE:2 * KERNEL_PIECE]
    board.write(SCRATCH, data)
    return data


def test_the_stub_says_it_can(board):
    assert P.Capability.READ_DEFLATE in board.info().capabilities


def test_a_kernel_image_range_comes_back_compressed_and_bit_exact(board, kernel_on_board):
    data = kernel_on_board
    assert board.read(SCRATCH, len(data), compress=True) == data
    stats = board.last_read
    assert stats.raw == len(data) and stats.reread == 0
    assert stats.wire < 0.7 * len(data)          # fixed codes on arm64 code: ~0.57 (test_deflate.py)
    # An odd start and length: the last piece is short, every history ends mid-page.
    assert board.read(SCRATCH + 123, 50_001, compress=True) == data[123:50_124]
    assert board.read(SCRATCH + 123, 50_001) == data[123:50_124] and board.last_read is None


def test_hvmon_read_compress_writes_the_same_bytes_and_says_what_crossed(board, kernel_on_board,
                                                                        tmp_path, capsys):
    out = tmp_path / "piece.bin"
    said = cli(BoardContext(board, tmp_path), capsys, "read", hex(SCRATCH),
               hex(len(kernel_on_board)), "--compress", "-o", str(out))
    assert out.read_bytes() == kernel_on_board
    assert said["output"] == str(out) and 0 < said["wire_bytes"] < len(kernel_on_board)


def test_one_request_answers_crc_and_a_stream_zlib_inflates(board, kernel_on_board):
    at, history = 0x9000, 0x8000
    (raw_crc,), stream = board.call(P.Command.MEM_READ_DEFLATE, SCRATCH + at, 4096, history)
    piece = kernel_on_board[at:at + 4096]
    assert raw_crc == zlib.crc32(piece)
    unpacker = zlib.decompressobj(-15, zdict=kernel_on_board[at - history:at])
    assert unpacker.decompress(stream) == piece and unpacker.eof and not unpacker.unused_data


def test_random_bytes_come_back_as_stored_blocks(board):
    data = random.Random(1).randbytes(3 * 4096 + 100)
    board.write(SCRATCH + 0x200000, data, compress=False, skip_unchanged=False)
    assert board.read(SCRATCH + 0x200000, len(data), compress=True) == data
    assert board.last_read.wire == len(data) + 4 * (P.PAYLOAD_HEADER + 4 + 5)   # 4 stored blocks


def test_a_history_the_board_no_longer_holds_is_read_again_without_it(board):
    text = b"".join(b"record %05d, the same words each time\n" % i for i in range(220))[:8192]
    board.write(SCRATCH + 0x300000, text, compress=False, skip_unchanged=False)
    image = bytearray(8192)
    image[:4096] = bytes(4096)                    # what the host wrongly thinks is there
    stats = read_into(board, image, SCRATCH + 0x300000, [4096], 4096)
    assert stats.reread == 1 and bytes(image[4096:]) == text[4096:]


@pytest.mark.parametrize("addr, length, history, status, named", [
    (0x1000, 4096, 0, P.Status.REFUSED_RANGE, "0x1000"),                       # below RAM
    (0x80000000 - 0x800, 4096, 0, P.Status.REFUSED_RANGE, "0x7ffff800"),       # runs past RAM's end
    (0x40000000, 4096, 4096, P.Status.REFUSED_RANGE, "0x3ffff000"),            # history before RAM
    (SCRATCH, 4097, 0, P.Status.TOO_LARGE, "data_chunk"),                       # as MEM_READ
    (SCRATCH, 4096, 32769, P.Status.TOO_LARGE, "32768"),                        # beyond the window
])
def test_bad_ranges_are_refused_naming_the_address(board, addr, length, history, status, named):
    with pytest.raises(StubError) as refused:
        board.call(P.Command.MEM_READ_DEFLATE, addr, length, history)
    assert refused.value.status == status and named in str(refused.value)
    if history == 0 and length <= 4096:           # MEM_READ gives the very same reason
        with pytest.raises(StubError) as plain:
            board.call(P.Command.MEM_READ, addr, length)
        assert plain.value.reason == refused.value.reason
