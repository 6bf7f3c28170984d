"""The snapshot file (protocol/snapfile.md) without a board: what is written reads back the
same, zero chunks stay out, and each kind of bad file is refused with one line naming the
file and the field or chunk before anything would be sent."""

from __future__ import annotations

import struct

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.target.snapfile import (CHUNK, CHUNK_HEAD, HEADER, REGION, RamRegion, SnapFile,
                                   read_snapfile, write_snapfile)
from hvmon.target.vm_file import chunks_of

RECORD = bytes(range(256)) * 80


def sample(tmp_path):
    data = [bytes([7]) * 4096, bytes(range(256)) * 16]
    snap = SnapFile("qemu-virt", P.VERSION, "linux", [RamRegion(0x40000000, 0x50000000, 0x200000)],
                    RECORD, chunks_of([1, 40], data))
    path = tmp_path / "g.hvsnap"
    write_snapfile(path, snap)
    return path, data


def test_a_file_reads_back_with_its_pages_and_zeros_elsewhere(tmp_path):
    path, data = sample(tmp_path)
    snap = read_snapfile(path, board="qemu-virt")
    assert [c.offset for c in snap.chunks] == [0, 2 * CHUNK]      # pages 1 and 40: chunks 0 and 2
    image = snap.region_image(0)
    assert len(image) == 0x200000 and image[4096:8192] == data[0] and image[40 * 4096:41 * 4096] == data[1]
    assert image.count(0) == len(image) - 4096 - sum(1 for b in data[1] if b)
    assert snap.record == RECORD and snap.vm == "linux"


@pytest.mark.parametrize("offset, fmt, value, message", [
    (0, "8s", b"NOTSNAP\0", "magic: not an hvmon snapshot file"),
    (8, "<I", 2, "format: version 2, this host reads version 1"),
    (12, "<I", 3, "protocol: made for protocol version 3"),
    (16, "32s", b"rk3588", "board: made for board profile 'rk3588', this board is 'qemu-virt'"),
])
def test_a_file_for_something_else_is_refused_naming_the_field(tmp_path, offset, fmt, value, message):
    path, _ = sample(tmp_path)
    blob = bytearray(path.read_bytes())
    struct.pack_into(fmt, blob, offset, value)
    path.write_bytes(blob)
    with pytest.raises(ConfigError) as refused:
        read_snapfile(path, board="qemu-virt")
    assert str(refused.value).startswith(f"{path}: {message}") and "\n" not in str(refused.value)


def test_a_corrupt_chunk_or_a_cut_file_is_refused_naming_the_chunk(tmp_path):
    path, _ = sample(tmp_path)
    blob = bytearray(path.read_bytes())
    first = HEADER.size + REGION.size + len(RECORD)
    comp_len = CHUNK_HEAD.unpack_from(blob, first)[4]
    second = first + CHUNK_HEAD.size + comp_len
    offset, raw_len, crc, codec, n = CHUNK_HEAD.unpack_from(blob, second)
    CHUNK_HEAD.pack_into(blob, second, offset, raw_len, crc ^ 1, codec, n)
    path.write_bytes(blob)
    with pytest.raises(ConfigError, match=r"chunk 1 \(RAM offset 0x20000\): CRC-32 .* the file says"):
        read_snapfile(path)
    path.write_bytes(blob[:second + 10])
    with pytest.raises(ConfigError, match=r"chunk 1: the file ends before it"):
        read_snapfile(path)
    blob[HEADER.size + REGION.size + 5] ^= 1            # inside the state record
    path.write_bytes(blob)
    with pytest.raises(ConfigError, match="state record: CRC-32"):
        read_snapfile(path)
