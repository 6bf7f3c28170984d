"""The stub's DEFLATE encoder (firmware/link/deflate.c), compiled for the host with ASan
and UBSan and driven as MEM_READ_DEFLATE drives it (pieces of one data chunk, each with up
to 32 KiB of history before it), against Python's zlib as the reference decoder."""

from __future__ import annotations

import random
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIECE, HISTORY = 4096, 32768


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    out = tmp_path_factory.mktemp("deflate")
    binary = out / "encoder_main"
    subprocess.run(["cc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "firmware" / "link"),
                    str(ROOT / "tests" / "native" / "encoder_main.c"),
                    str(ROOT / "firmware" / "link" / "deflate.c"), "-o", str(binary)], check=True)

    def run(data: bytes, piece: int = PIECE, history: int = HISTORY):
        """[(raw length, history used, stream)] per piece, and the poll count."""
        src, dst = out / "in.bin", out / "out.bin"
        src.write_bytes(data)
        result = subprocess.run([str(binary), str(src), str(piece), str(history), str(dst)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        fields = dict(field.split("=") for field in result.stdout.split())
        blob, at, pieces = dst.read_bytes(), 0, []
        while at < len(blob):
            n, used, size = struct.unpack_from("<III", blob, at)
            pieces.append((n, used, blob[at + 12:at + 12 + size]))
            at += 12 + size
        assert len(pieces) == int(fields["pieces"])
        return pieces, int(fields["polls"])

    return run


def inflate_pieces(pieces) -> bytes:
    """What the host does with MEM_READ_DEFLATE's answers: each stream inflated with the
    bytes before it as zdict, ending exactly, giving exactly its length."""
    out = b""
    for n, used, stream in pieces:
        unpacker = zlib.decompressobj(-15, zdict=out[len(out) - used:] if used else b"")
        raw = unpacker.decompress(stream)
        assert unpacker.eof and not unpacker.unused_data and len(raw) == n
        out += raw
    return out


def block_type(stream: bytes) -> int:
    return stream[0] >> 1 & 3            # RFC 1951 3.2.3: BTYPE after BFINAL


def kernel(length: int, at: int = 1 << 20) -> bytes:
    image = ROOT / "cache" / "guest" / "Image"
    assert image.exists(), "make guest fetches Debian's kernel Image into cache/guest"
    return image.read_bytes()[at:at + length]


SAMPLES = {
    "empty": b"",
    "one byte": b"a",
    "zeros": bytes(100_000),
    "text": b"".join(b"line %d of some text, the same words again\n" % i for i in range(3000)),
    "random": random.Random(3).randbytes(70_000),
    "period 32768 (matches at the window's far end)": random.Random(4).randbytes(32768) * 3,
    "kernel Image": kernel(1 << 20),
}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("history", [0, 4096, HISTORY])
def test_round_trips_through_zlib(encoder, name, history):
    data = SAMPLES[name]
    pieces, _ = encoder(data, history=history)
    assert inflate_pieces(pieces) == data
    for n, _, stream in pieces:
        assert len(stream) <= n + 5                       # never more than a stored block


def test_compressible_data_shrinks_and_history_pays(encoder):
    text = SAMPLES["text"]
    alone = sum(len(s) for *_, s in encoder(text, history=0)[0])
    with_history = sum(len(s) for *_, s in encoder(text, history=HISTORY)[0])
    assert with_history < alone < len(text) // 2
    zeros = sum(len(s) for *_, s in encoder(SAMPLES["zeros"])[0])
    assert zeros < len(SAMPLES["zeros"]) // 100


def test_kernel_code_compresses_within_fixed_codes_reach(encoder):
    """Fixed Huffman codes against zlib's best on the same pieces and history: the price of
    skipping dynamic codes stays within a fifth."""
    data = kernel(1 << 20)
    ours = sum(len(s) for *_, s in encoder(data)[0])
    best = 0
    for at in range(0, len(data), PIECE):
        history = data[max(0, at - HISTORY):at]
        packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, *([history] if history else []))
        best += len(packer.compress(data[at:at + PIECE]) + packer.flush())
    assert best < ours < len(data) * 0.7 and ours < best * 1.2


def test_incompressible_pieces_fall_back_to_stored_blocks(encoder):
    data = random.Random(5).randbytes(5 * PIECE + 123)
    pieces, _ = encoder(data)
    assert inflate_pieces(pieces) == data
    assert all(block_type(s) == 0 and len(s) == n + 5 for n, _, s in pieces)
    # Text keeps fixed codes; a piece of random bytes among text is stored on its own.
    mixed = SAMPLES["text"][:2 * PIECE] + data[:PIECE] + SAMPLES["text"][:PIECE]
    pieces, _ = encoder(mixed)
    assert [block_type(s) for *_, s in pieces] == [1, 1, 0, 1] and inflate_pieces(pieces) == mixed


def test_the_largest_input_in_one_call_and_one_byte_more(encoder, tmp_path):
    """deflate.h's limit: up to 32767 bytes after up to 32768 of history (16-bit positions
    reach the end); one byte more is refused, not coded."""
    data = random.Random(6).randbytes(32767) + SAMPLES["text"][:32767]
    pieces, _ = encoder(data, piece=32767, history=HISTORY)
    assert [(n, used) for n, used, _ in pieces] == [(32767, 0), (32767, 32767)]
    assert inflate_pieces(pieces) == data
    with pytest.raises(AssertionError, match="deflate_raw returned 0"):
        encoder(data, piece=32768)


def test_the_stub_gets_to_drain_its_uart_every_4_kib(encoder):
    """History indexed and input coded both count: a request with 32 KiB of history polls
    nine times, the one without it once."""
    data = SAMPLES["text"][:9 * PIECE]
    pieces, polls = encoder(data)
    processed = sum(used + n for n, used, _ in pieces)
    assert sum(processed_piece // PIECE for processed_piece in (used + n for n, used, _ in pieces)) == polls
    assert polls >= processed // PIECE - len(pieces)
