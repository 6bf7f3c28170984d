"""The stub's DEFLATE decoder (firmware/link/inflate.c), compiled for the host with
ASan and UBSan, against Python's zlib as the reference encoder."""

from __future__ import annotations

import os
import random
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OK, BAD_DATA, TRUNCATED, OUTPUT_FULL = 0, 1, 2, 3


@pytest.fixture(scope="module")
def inflate(tmp_path_factory):
    out = tmp_path_factory.mktemp("inflate")
    binary = out / "inflate_main"
    subprocess.run(["cc", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "firmware" / "link"),
                    "-DDECODER_H=\"inflate.h\"", "-DDECODE=inflate_raw",
                    str(ROOT / "tests" / "native" / "decoder_main.c"),
                    str(ROOT / "firmware" / "link" / "inflate.c"), "-o", str(binary)], check=True)

    def run(stream: bytes, capacity: int) -> tuple[int, bytes]:
        src, dst = out / "in.bin", out / "out.bin"
        src.write_bytes(stream)
        result = subprocess.run([str(binary), str(src), str(capacity), str(dst)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split()[0].split("=")[1]), dst.read_bytes()

    run.binary = binary
    run.folder = out
    return run


def deflate(data: bytes, level: int = 9, strategy: int = zlib.Z_DEFAULT_STRATEGY) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    return packer.compress(data) + packer.flush()


SAMPLES = {
    "empty": b"",
    "one byte": b"a",
    "text": b"".join(b"line %d of some text\n" % i for i in range(3000)),
    "random": random.Random(3).randbytes(70_000),
    "zeros (distance 1, length 258)": bytes(200_000),
    "period 32768": random.Random(4).randbytes(32768) * 3,
}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("level, strategy", [(0, 0), (1, 0), (6, 0), (9, 0), (9, zlib.Z_FIXED),
                                             (6, zlib.Z_HUFFMAN_ONLY)])
def test_matches_zlib(inflate, name, level, strategy):
    data = SAMPLES[name]
    status, out = inflate(deflate(data, level, strategy), len(data))
    assert status == OK and out == data


def test_multi_block_stream_and_a_real_kernel_chunk(inflate):
    image = ROOT / "cache" / "guest" / "Image"
    data = image.read_bytes()[: 3 << 20] if image.exists() else os.urandom(1 << 20) + bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = b""
    for i in range(0, len(data), 300_000):
        stream += packer.compress(data[i:i + 300_000]) + packer.flush(zlib.Z_FULL_FLUSH)
    stream += packer.flush()
    status, out = inflate(stream, len(data))
    assert status == OK and out == data


def test_the_stub_gets_to_drain_its_uart_every_4_kib(inflate):
    """A 256 KiB inflate takes longer than a 64-byte UART FIFO lasts at 1.5 Mbaud."""
    data = b"".join(b"record %06d of a compressible payload\n" % i for i in range(6000))
    src, dst = inflate.folder / "poll.in", inflate.folder / "poll.out"
    src.write_bytes(deflate(data))
    result = subprocess.run([str(inflate.binary), str(src), str(len(data)), str(dst)],
                            capture_output=True, text=True, check=True)
    fields = dict(field.split("=") for field in result.stdout.split())
    assert int(fields["status"]) == OK and dst.read_bytes() == data
    assert len(data) // 4096 - 1 <= int(fields["polls"]) <= len(data) // 4096


def test_a_preset_dictionary_just_before_the_output(inflate):
    """Board.write deflates a block with the 32 KiB before it as zdict: the stub then lets
    the stream refer back into memory already holding those bytes, and no further."""
    rng = random.Random(7)
    before = rng.randbytes(32768)                       # only the dictionary explains data
    data = before[1000:9000] + rng.randbytes(500) + before[20000:32768] + b"tail" * 100
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, before)
    stream = packer.compress(data) + packer.flush()
    assert len(stream) < len(deflate(data))            # the dictionary pays

    def run(history: bytes) -> tuple[int, bytes]:
        src, hist, dst = (inflate.folder / n for n in ("dict.in", "dict.hist", "dict.out"))
        src.write_bytes(stream)
        hist.write_bytes(history)
        result = subprocess.run([str(inflate.binary), str(src), str(len(data)), str(dst), str(hist)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr     # ASan: nothing read before the history
        return int(result.stdout.split()[0].split("=")[1]), dst.read_bytes()

    assert run(before) == (OK, data)
    assert run(before[-16:])[0] == BAD_DATA             # a reference beyond the history given
    assert inflate(stream, len(data))[0] == BAD_DATA     # and none given at all


def test_exact_capacity_and_one_short(inflate):
    data = SAMPLES["text"]
    assert inflate(deflate(data), len(data))[0] == OK
    status, out = inflate(deflate(data), len(data) - 1)
    assert status == OUTPUT_FULL and data.startswith(out)


def test_truncated_streams_never_claim_success(inflate):
    stream = deflate(SAMPLES["text"])
    for cut in range(0, len(stream) - 1, max(1, len(stream) // 40)):
        status, out = inflate(stream[:cut], len(SAMPLES["text"]))
        assert status in (TRUNCATED, BAD_DATA)
        assert SAMPLES["text"].startswith(out)


def test_a_distance_before_the_output_is_bad_data(inflate):
    # A fixed-Huffman block whose first symbol is a match (length 3, distance 1).
    bits = "1" + "10" + "0000001" + "00000"   # BFINAL, BTYPE=01, code 257, dist code 0
    stream = int(bits[::-1], 2).to_bytes(3, "little")
    assert inflate(stream, 100)[0] == BAD_DATA


def test_mutated_streams_never_crash(inflate):
    stream = inflate.folder / "valid.bin"
    stream.write_bytes(deflate(SAMPLES["text"]))
    result = subprocess.run([str(inflate.binary), "--mutate", "7", "3000", str(stream), "200000"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mutations=3000 ")
