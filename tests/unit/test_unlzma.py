"""The stub's LZMA2 decoder (firmware/link/unlzma.c), compiled for the host with ASan and
UBSan, against Python's lzma (and liblzma through hvmon.lzma2 for preset dictionaries) as
the reference encoder."""

from __future__ import annotations

import lzma
import random
import subprocess
from pathlib import Path

import pytest

from hvmon.target import lzma2

ROOT = Path(__file__).resolve().parents[2]
OK, BAD_DATA, TRUNCATED, OUTPUT_FULL = 0, 1, 2, 3


@pytest.fixture(scope="module")
def unlzma(tmp_path_factory):
    out = tmp_path_factory.mktemp("unlzma")
    binary = out / "unlzma_main"
    subprocess.run(["cc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "firmware" / "link"),
                    "-DDECODER_H=\"unlzma.h\"", "-DDECODE=unlzma2_raw",
                    str(ROOT / "tests" / "native" / "decoder_main.c"),
                    str(ROOT / "firmware" / "link" / "unlzma.c"), "-o", str(binary)], check=True)

    def run(stream: bytes, capacity: int, history: bytes = b"") -> tuple[int, bytes, int]:
        """(status, output, polls); history sits just before the output buffer, which ASan
        bounds exactly: a read before it or a write past capacity fails the run."""
        src, dst, hist = out / "in.bin", out / "out.bin", out / "history.bin"
        src.write_bytes(stream)
        hist.write_bytes(history)
        result = subprocess.run([str(binary), str(src), str(capacity), str(dst)]
                                + ([str(hist)] if history else []), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        fields = dict(field.split("=") for field in result.stdout.split())
        return int(fields["status"]), dst.read_bytes(), int(fields["polls"])

    run.binary = binary
    run.folder = out
    return run


def pack(data: bytes, preset: int = 6, **options) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_RAW,
                         filters=[{"id": lzma.FILTER_LZMA2, "preset": preset, **options}])


def kernel_piece(length: int, at: int = 1 << 20) -> bytes:
    image = ROOT / "cache" / "guest" / "Image"
    if image.exists():
        return image.read_bytes()[at:at + length]
    rng = random.Random(at)
    return b"".join(rng.randbytes(64) * rng.randint(1, 6) for _ in range(length // 64))[:length]


SAMPLES = {
    "empty": b"",
    "one byte": b"a",
    "text": b"".join(b"line %d of some text\n" % i for i in range(3000)),
    "random (uncompressed chunks)": random.Random(3).randbytes(150_000),
    "zeros (long rep0 runs)": bytes(300_000),
    "kernel code": kernel_piece(400_000),
}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("preset", [0, 6, 9 | lzma.PRESET_EXTREME])
def test_matches_python_lzma(unlzma, name, preset):
    data = SAMPLES[name]
    status, out, _ = unlzma(pack(data, preset), len(data))
    assert status == OK and out == data


@pytest.mark.parametrize("lc, lp, pb", [(0, 0, 0), (3, 0, 2), (4, 0, 4), (0, 4, 0), (1, 3, 1),
                                        (2, 2, 3)])
@pytest.mark.parametrize("dict_size", [4096, 65536, 1 << 22])
def test_every_property_and_dictionary_size(unlzma, lc, lp, pb, dict_size):
    data = SAMPLES["kernel code"]
    status, out, _ = unlzma(pack(data, 6, lc=lc, lp=lp, pb=pb, dict_size=dict_size), len(data))
    assert status == OK and out == data


def test_many_chunks_of_a_kernel(unlzma):
    """liblzma cuts chunks at 2 MiB of output or 64 KiB of input: a 5 MiB kernel piece
    takes dozens of LZMA chunks that continue the state (control 0x80)."""
    data = kernel_piece(5 << 20, 0)
    stream = pack(data, 6)
    status, out, _ = unlzma(stream, len(data))
    assert status == OK and out == data


@pytest.mark.parametrize("history_len", [5, 1001, 32768, 1 << 20])
@pytest.mark.parametrize("lc, lp, pb", [(3, 0, 2), (0, 4, 4), (1, 2, 3)])
def test_a_preset_dictionary_just_before_the_output(unlzma, history_len, lc, lp, pb):
    """Board.write compresses a block with the bytes before it as liblzma's preset_dict;
    the position contexts (lp, pb) then count from the first history byte. The stream may
    refer back into the history given, and no further."""
    rng = random.Random(history_len)
    before = kernel_piece(history_len, 2 << 20)[:-64] + rng.randbytes(64)
    data = before[-64:] * 3 + kernel_piece(100_000, 3 << 20) + before[: history_len // 2]
    stream = lzma2.compress(data, before, preset=6, lc=lc, lp=lp, pb=pb)
    assert stream[0] & 0xe0 == 0xc0    # new properties and state, no dictionary reset
    assert len(stream) < len(lzma2.compress(data, preset=6, lc=lc, lp=lp, pb=pb))
    status, out, _ = unlzma(stream, len(data), before)
    assert status == OK and out == data
    assert unlzma(stream, len(data), before[-4:])[0] == BAD_DATA   # history too short
    assert unlzma(stream, len(data))[0] == BAD_DATA                 # none: no dict reset


def test_exact_capacity_and_one_short(unlzma):
    data = SAMPLES["text"]
    assert unlzma(pack(data), len(data))[0] == OK
    status, out, _ = unlzma(pack(data), len(data) - 1)
    assert status == OUTPUT_FULL and data.startswith(out)


def test_an_oversized_stream_writes_nothing_past_raw_len(unlzma):
    """Chunks are checked against the room left before they are decoded."""
    data = kernel_piece(5 << 20, 0)
    status, out, _ = unlzma(pack(data, 0), 3 << 20)
    assert status == OUTPUT_FULL and len(out) <= 3 << 20 and data.startswith(out)


def test_truncated_streams_never_claim_success(unlzma):
    data = SAMPLES["text"] + SAMPLES["random (uncompressed chunks)"]
    stream = pack(data)
    for cut in list(range(0, 12)) + list(range(12, len(stream), max(1, len(stream) // 60))):
        status, out, _ = unlzma(stream[:cut], len(data))
        assert status in (TRUNCATED, BAD_DATA), cut
        assert data.startswith(out)
    assert unlzma(stream[:-1], len(data))[0] == TRUNCATED       # only the end marker missing


def uncompressed(control: int, data: bytes) -> bytes:
    return bytes([control]) + (len(data) - 1).to_bytes(2, "big") + data


def test_hand_made_uncompressed_chunks(unlzma):
    stream = uncompressed(0x01, b"abc") + uncompressed(0x02, b"defg" * 5000) + b"\0"
    assert unlzma(stream, 20003)[:2] == (OK, b"abc" + b"defg" * 5000)
    assert unlzma(b"\0", 0)[:2] == (OK, b"")
    assert unlzma(uncompressed(0x02, b"abc") + b"\0", 3)[0] == BAD_DATA   # no dictionary yet
    assert unlzma(uncompressed(0x02, b"abc") + b"\0", 3, b"h")[:2] == (OK, b"abc")


def test_corrupt_control_and_property_bytes(unlzma):
    data = SAMPLES["text"]
    good = pack(data)
    assert good[0] & 0xe0 == 0xe0 and good[5] == (2 * 5 + 0) * 9 + 3     # lc 3 lp 0 pb 2

    def patched(at: int, value: int) -> int:
        return unlzma(good[:at] + bytes([value]) + good[at + 1:], len(data))[0]

    for control in (0x03, 0x40, 0x7f):
        assert patched(0, control) == BAD_DATA                    # no such chunk type
    for control in (0x80, 0xa0, 0xc0):
        assert patched(0, control | good[0] & 0x1f) == BAD_DATA  # first chunk, no dict reset
    assert patched(5, (2 * 5 + 1) * 9 + 4) == BAD_DATA            # lc + lp = 5
    assert patched(5, 9 * 5 * 5) == BAD_DATA                      # pb = 5
    assert patched(6, 1) == BAD_DATA                              # range coder's first byte
    assert unlzma(good + b"\0", len(data))[0] == BAD_DATA         # bytes after the end marker
    # An LZMA chunk right after a dictionary reset by 0x01 must bring properties.
    no_props = uncompressed(0x01, b"x") + bytes([0x80 | good[0] & 0x1f]) + good[1:]
    assert unlzma(no_props, len(data) + 1)[0] == BAD_DATA


def test_a_distance_before_the_dictionary_is_bad_data(unlzma):
    """A dictionary reset makes the bytes before it unreachable, history or not."""
    before = random.Random(1).randbytes(4096)
    data = before * 4
    stream = lzma2.compress(data, before, preset=6)
    assert unlzma(stream, len(data), before)[:2] == (OK, data)
    reset = bytes([stream[0] | 0xe0]) + stream[1:]       # the same chunk, dictionary reset first
    assert unlzma(reset, len(data), before)[0] == BAD_DATA


def test_a_match_past_the_chunk_end_is_bad_data(unlzma):
    stream = pack(b"ab" * 100)          # two literals, then one long match at distance 2
    assert unlzma(stream, 200)[0] == OK
    cut = bytearray(stream)
    cut[1:3] = (2).to_bytes(2, "big")   # the chunk says 3 bytes: the match would cross its end
    assert unlzma(bytes(cut), 200)[0] == BAD_DATA


def test_mutated_streams_never_crash(unlzma):
    stream = unlzma.folder / "valid.bin"
    stream.write_bytes(pack(SAMPLES["text"] + SAMPLES["kernel code"][:50_000]))
    result = subprocess.run([str(unlzma.binary), "--mutate", "7", "3000", str(stream), "200000"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mutations=3000 ")


def test_the_stub_gets_to_drain_its_uart_every_4_kib(unlzma):
    """Once per 4 KiB of output, at most one match late, in LZMA and uncompressed chunks."""
    for data in (b"".join(b"record %06d of a compressible payload\n" % i for i in range(6000)),
                 random.Random(9).randbytes(100_000)):
        status, out, polls = unlzma(pack(data), len(data))
        assert status == OK and out == data
        assert len(data) // 4096 - 1 <= polls <= len(data) // 4096
