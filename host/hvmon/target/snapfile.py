"""The snapshot file `vm save` writes and `vm load` reads (protocol/snapfile.md): a header
naming the board profile and protocol it was made for, the stub's state record, then the
VM's RAM as compressed chunks with a CRC-32 each; chunks of zeros are left out.

Reading checks everything before anything is used: a file made for another board or
protocol version, or with a chunk whose CRC is wrong, is refused with one line naming the
file and the field or chunk."""

from __future__ import annotations

import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import protocol as P
from ..errors import ConfigError

MAGIC = b"HVMSNAP\0"
FORMAT = 1
CHUNK = P.CRC_CHUNK                  # 64 KiB: the chunk MEM_CRC compares on a load
HEADER = struct.Struct("<8sII32s16sIIII")   # magic, format, protocol, board, vm, chunk, nregions, record_len, record_crc
REGION = struct.Struct("<QQQ")       # ipa, pa, size
CHUNK_HEAD = struct.Struct("<QIIBxxxI")     # offset, raw_len, raw_crc, codec, comp_len
CODEC_RAW, CODEC_ZLIB, CODEC_LZMA = 0, 1, 2
CODEC_NAMES = {CODEC_RAW: "raw", CODEC_ZLIB: "zlib", CODEC_LZMA: "lzma"}
# The stub's state record begins with these fields (protocol/spec.md, "Snapshots"): magic,
# format, record_size, total_size, VM name, tag, vCPUs, RAM regions, (ipa, size) x
# MAX_REGIONS, virtual counter, CNTFRQ, console IPA, GICD IPA, GICR IPA, console INTID,
# privileged.
RECORD_PREFIX = struct.Struct(f"<IIQQ16s16sII{2 * P.MAX_REGIONS}QQQQQQII")
RECORD_MAGIC = 0x4E535648            # "HVSN"
RECORD_FORMAT = 2


@dataclass(frozen=True)
class RamRegion:
    ipa: int
    pa: int
    size: int


@dataclass(frozen=True)
class RecordFacts:
    """What the host needs from a state record to create the VM it belongs to."""
    vcpus: int
    record_size: int
    ram: tuple[tuple[int, int], ...]          # (ipa, size) in VM_MAP order
    console_ipa: int
    gicd_ipa: int
    gicr_ipa: int
    console_irq: int
    privileged: int


def record_facts(record: bytes, where: str) -> RecordFacts:
    if len(record) < RECORD_PREFIX.size:
        raise ConfigError(f"{where}: state record: {len(record)} bytes, shorter than its prefix")
    fields = RECORD_PREFIX.unpack_from(record)
    magic, fmt, record_size, _total, _name, _tag, vcpus, nregions = fields[:8]
    ram = fields[8:8 + 2 * P.MAX_REGIONS]
    _vcount, _cntfrq, console_ipa, gicd, gicr, console_irq, privileged = fields[8 + 2 * P.MAX_REGIONS:]
    if magic != RECORD_MAGIC or fmt != RECORD_FORMAT:
        raise ConfigError(f"{where}: state record: magic {magic:#x} format {fmt}, this host reads "
                          f"{RECORD_MAGIC:#x} format {RECORD_FORMAT}")
    if nregions > P.MAX_REGIONS or not 1 <= vcpus <= P.MAX_VCPUS or record_size != len(record):
        raise ConfigError(f"{where}: state record: {vcpus} vCPUs, {nregions} RAM regions, "
                          f"{record_size} bytes: not a record this host can use")
    return RecordFacts(vcpus, record_size, tuple((ram[2 * i], ram[2 * i + 1]) for i in range(nregions)),
                       console_ipa, gicd, gicr, console_irq, privileged)


@dataclass
class Chunk:
    offset: int                  # into the VM's RAM, its regions one after the other
    data: bytes                  # raw


@dataclass
class SnapFile:
    board: str
    protocol: int
    vm: str
    regions: list[RamRegion]
    record: bytes
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def ram_size(self) -> int:
        return sum(r.size for r in self.regions)

    def region_image(self, index: int) -> bytes:
        """Region `index` of the VM's RAM as it was: its chunks, zeros between them."""
        start = sum(r.size for r in self.regions[:index])
        size = self.regions[index].size
        image = bytearray(size)
        for c in self.chunks:
            if start <= c.offset < start + size:
                image[c.offset - start:c.offset - start + len(c.data)] = c.data
        return bytes(image)


def compress(data: bytes) -> tuple[int, bytes]:
    """The smaller of zlib and LZMA (xz, with its own check) for one chunk."""
    z = zlib.compress(data, 6)
    x = lzma.compress(data, preset=1)
    best = min((len(z), CODEC_ZLIB, z), (len(x), CODEC_LZMA, x))
    if best[0] >= len(data):
        return CODEC_RAW, data
    return best[1], best[2]


def write_snapfile(path: Path, snap: SnapFile) -> int:
    """Write the file; returns its size."""
    name = snap.vm.encode()
    board = snap.board.encode()
    head = HEADER.pack(MAGIC, FORMAT, snap.protocol, board, name, CHUNK, len(snap.regions),
                       len(snap.record), zlib.crc32(snap.record))
    with open(path, "wb") as out:
        out.write(head)
        for r in snap.regions:
            out.write(REGION.pack(r.ipa, r.pa, r.size))
        out.write(snap.record)
        for c in snap.chunks:
            codec, comp = compress(c.data)
            out.write(CHUNK_HEAD.pack(c.offset, len(c.data), zlib.crc32(c.data), codec, len(comp)))
            out.write(comp)
        out.write(CHUNK_HEAD.pack(snap.ram_size, 0, 0, CODEC_RAW, 0))      # the end
        return out.tell()


def _text(raw: bytes) -> str:
    return raw.split(b"\0")[0].decode(errors="replace")


def read_snapfile(path: str | Path, board: str | None = None) -> SnapFile:
    """Read and check the whole file. `board`: the profile it must have been made for."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    if len(blob) < HEADER.size or blob[:8] != MAGIC:
        raise ConfigError(f"{path}: magic: not an hvmon snapshot file")
    magic, fmt, protocol, board_raw, vm_raw, chunk, nregions, record_len, record_crc = \
        HEADER.unpack_from(blob)
    if fmt != FORMAT:
        raise ConfigError(f"{path}: format: version {fmt}, this host reads version {FORMAT}")
    if protocol != P.VERSION:
        raise ConfigError(f"{path}: protocol: made for protocol version {protocol}, this host and "
                          f"stub speak {P.VERSION}")
    made_for = _text(board_raw)
    if board is not None and made_for != board:
        raise ConfigError(f"{path}: board: made for board profile {made_for!r}, this board is {board!r}")
    if chunk != CHUNK or not 1 <= nregions <= P.MAX_REGIONS:
        raise ConfigError(f"{path}: header: chunk {chunk}, {nregions} regions: not a file this host wrote")
    at = HEADER.size
    regions = []
    for _ in range(nregions):
        regions.append(RamRegion(*REGION.unpack_from(blob, at)))
        at += REGION.size
    record = blob[at:at + record_len]
    at += record_len
    if len(record) != record_len or zlib.crc32(record) != record_crc:
        raise ConfigError(f"{path}: state record: CRC-32 {zlib.crc32(record):08x}, the header says "
                          f"{record_crc:08x}")
    snap = SnapFile(made_for, protocol, _text(vm_raw), regions, record)
    total = snap.ram_size
    for number, (offset, data) in enumerate(_chunks(path, blob, at, total)):
        snap.chunks.append(Chunk(offset, data))
    return snap


def _chunks(path: Path, blob: bytes, at: int, total: int) -> Iterator[tuple[int, bytes]]:
    number, last = 0, -1
    while True:
        if at + CHUNK_HEAD.size > len(blob):
            raise ConfigError(f"{path}: chunk {number}: the file ends before it (truncated)")
        offset, raw_len, raw_crc, codec, comp_len = CHUNK_HEAD.unpack_from(blob, at)
        at += CHUNK_HEAD.size
        if raw_len == 0:
            if offset != total or at != len(blob):
                raise ConfigError(f"{path}: the end marker is not at the end of the file")
            return
        where = f"{path}: chunk {number} (RAM offset {offset:#x})"
        if offset <= last or offset % CHUNK or raw_len > CHUNK or offset + raw_len > total:
            raise ConfigError(f"{where}: offset and length {raw_len:#x} outside the VM's "
                              f"{total:#x} bytes of RAM or out of order")
        comp = blob[at:at + comp_len]
        at += comp_len
        try:
            data = {CODEC_RAW: lambda b: b, CODEC_ZLIB: zlib.decompress,
                    CODEC_LZMA: lzma.decompress}[codec](comp)
        except KeyError:
            raise ConfigError(f"{where}: codec {codec} unknown") from None
        except (zlib.error, lzma.LZMAError) as exc:
            raise ConfigError(f"{where}: {CODEC_NAMES[codec]} data does not decode ({exc})") from None
        if len(data) != raw_len or zlib.crc32(data) != raw_crc:
            raise ConfigError(f"{where}: CRC-32 {zlib.crc32(data):08x} over {len(data)} bytes, "
                              f"the file says {raw_crc:08x} over {raw_len}")
        yield offset, data
        last = offset
        number += 1
