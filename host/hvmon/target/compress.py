"""How a write's changed bytes go on the wire: which blocks are sent compressed, with
which codec, and which raw. Board.write sends what plan_pieces yields; `up --dry-run`
sizes the same pieces without a board.

A codec is one entry in CODECS: the capability the stub must report (INFO), the request
that unpacks it, and a function that packs a block given the bytes before it."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import protocol as P

COMPRESS_WORTH = 0.9                 # send a block compressed only below this ratio
BLOCK_CHUNKS = 4                     # CRC chunks per compressed block: 256 KiB


@dataclass(frozen=True)
class Codec:
    name: str
    capability: P.Capability
    pack: Callable[[bytes, bytes], bytes]   # (block, history before it) -> packed


def _deflate(block: bytes, history: bytes) -> bytes:
    """Raw DEFLATE with the up to 32 KiB before the block as a preset dictionary. By the
    time the stub inflates this block those bytes are in its memory: the requests before
    it wrote them, or skip-unchanged found them equal."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY,
                              *([history] if history else []))
    return packer.compress(block) + packer.flush()


# In order of preference: the first one the stub offers is used.
CODECS = (Codec("deflate", P.Capability.DEFLATE, _deflate),)


def pick_codec(capabilities: P.Capability, compress: bool = True) -> Codec | None:
    if not compress:
        return None
    return next((c for c in CODECS if c.capability in capabilities), None)


@dataclass(frozen=True)
class Piece:
    offset: int
    end: int
    packed: bytes | None             # None: sent raw

    @property
    def wire(self) -> int:
        return len(self.packed) if self.packed is not None else self.end - self.offset


def blocks(changed: list[int], chunk: int) -> Iterator[tuple[int, int]]:
    """Runs of consecutive changed chunks, at most BLOCK_CHUNKS long."""
    run: list[int] = []
    for offset in changed:
        if run and (offset != run[-1] + chunk or len(run) == BLOCK_CHUNKS):
            yield run[0], run[-1] + chunk
            run = []
        run.append(offset)
    if run:
        yield run[0], run[-1] + chunk


def plan_pieces(data: bytes, changed: list[int], codec: Codec | None, staging_size: int,
                data_chunk: int, chunk: int = P.CRC_CHUNK) -> Iterator[Piece]:
    """The pieces covering the changed chunks of data, compressed where that pays."""

    def packed(offset: int, end: int) -> Iterator[Piece]:
        # A block whose packed form overflows the stub's staging buffer is halved until it
        # fits, so a well-compressing block is never sent raw for its size alone.
        raw = data[offset:end]
        comp = codec.pack(raw, data[max(0, offset - P.INFLATE_HISTORY):offset])
        if len(comp) > COMPRESS_WORTH * len(raw):
            yield Piece(offset, end, None)
        elif len(comp) <= staging_size:
            yield Piece(offset, end, comp)
        elif end - offset <= data_chunk:
            yield Piece(offset, end, None)
        else:
            middle = offset + (end - offset) // 2
            yield from packed(offset, middle)
            yield from packed(middle, end)

    for offset, end in blocks(changed, chunk):
        end = min(end, len(data))
        if codec is not None:
            yield from packed(offset, end)
        else:
            yield Piece(offset, end, None)
