"""Reads the stub compresses (MEM_READ_DEFLATE): memory into a host-side image, piece by
piece, each piece inflated with zlib and checked against the CRC-32 the stub took of the
bytes it compressed.

Every request may name up to 32 KiB of history: the bytes just before the piece, which the
host already holds in its image (read before, or known: `vm save` knows a page MEM_NONZERO
calls empty is zeros). The stub refers back into them as DEFLATE's window, so a 4 KiB piece
compresses nearly as well as a long stream would, while each request stays one frame and
the requests stay pipelined. When the board's history is no longer what the host holds
(memory of a running guest, changed since it was read) the inflated piece fails its CRC;
that piece is read again without history, which cannot disagree with itself."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .. import protocol as P
from ..errors import BoardRefused

HISTORY = 32768                  # DEFLATE's window (RFC 1951, 3.2.5), MEM_READ_DEFLATE's most


@dataclass
class ReadStats:
    raw: int = 0                 # memory bytes read
    wire: int = 0                # response payload bytes that carried them (headers included)
    reread: int = 0              # pieces read again without history (CRC mismatch)


def inflate_piece(stream: bytes, history: bytes, length: int, raw_crc: int, where: str) -> bytes | None:
    """The piece, or None when it does not inflate to `length` bytes with CRC `raw_crc`
    (the history differs from the board's); a stream that is not DEFLATE is an error."""
    unpacker = zlib.decompressobj(-15, zdict=history) if history else zlib.decompressobj(-15)
    try:
        raw = unpacker.decompress(stream, length + 1)
    except zlib.error as exc:
        if history:
            return None              # matches into a history that is not the board's
        raise BoardRefused(f"MEM_READ_DEFLATE {where}: the stub's stream does not inflate: {exc}") from None
    if not unpacker.eof or unpacker.unused_data or unpacker.unconsumed_tail or len(raw) != length \
            or zlib.crc32(raw) != raw_crc:
        if history:
            return None
        raise BoardRefused(f"MEM_READ_DEFLATE {where}: {len(raw)} bytes inflated with CRC-32 "
                           f"{zlib.crc32(raw):08x}, the stub said {length} with {raw_crc:08x}")
    return raw


def read_into(board, image: bytearray, base: int, offsets: Iterable[int], length: int,
              progress: Callable[[int, int], None] | None = None, total: int = 0,
              history: int = HISTORY) -> ReadStats:
    """image[o:o + length] = the board's bytes at base + o for each offset (ascending, each
    piece inside image, length <= data_chunk). A piece's history is the image's bytes
    before it, up to `history`: the caller has put there what the board holds."""
    stats = ReadStats()
    offsets = list(offsets)
    pieces = [(o, min(length, len(image) - o), min(o, history)) for o in offsets]
    requests = ((P.Command.MEM_READ_DEFLATE, (base + o, n, h), b"", f"at {base + o:#x}", n)
                for o, n, h in pieces)
    answers = board._pipeline(requests, progress, total or sum(n for _, n, _ in pieces),
                              with_fields=True)
    for (o, n, h), ((raw_crc,), stream) in zip(pieces, answers):
        where = f"at {base + o:#x}+{n:#x}"
        raw = inflate_piece(bytes(stream), bytes(image[o - h:o]), n, raw_crc, where)
        stats.wire += P.PAYLOAD_HEADER + 4 + len(stream)
        if raw is None:
            (raw_crc,), stream = board.call(P.Command.MEM_READ_DEFLATE, base + o, n, 0, what=where)
            raw = inflate_piece(bytes(stream), b"", n, raw_crc, where)
            stats.wire += P.PAYLOAD_HEADER + 4 + len(stream)
            stats.reread += 1
        image[o:o + n] = raw
        stats.raw += n
    return stats
