"""How Board.write sends each block: raw, deflated or LZMA2, whichever puts the fewest
bytes on the wire and fits the stub's staging buffer.

Each block is compressed with the bytes before it as a preset dictionary: by the time the
stub decodes it those bytes are in its memory (the requests before wrote them, or
skip-unchanged found them equal). Deflate can use 32 KiB of them; LZMA2 up to what the stub
allows (unlzma_history), of which the host takes LZMA_HISTORY: on a Debian arm64 kernel 1 MiB
of dictionary saves 2-10 % over none at twice the compression time, 4 MiB a little more
at four times the time again. Results go through the block cache, so a repeated push does
not compress again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from . import lzma2
from .. import protocol as P
from .blockcache import BlockCache

COMPRESS_WORTH = 0.9            # send a block compressed only below this ratio
LZMA_HISTORY = 1 << 20          # dictionary bytes before an LZMA2 block (<= P.UNLZMA_HISTORY)
# LZMA2 output is about 0.75 of deflate's on kernel code and data: a block whose deflate
# output is beyond staging / this would not fit as LZMA2 either, so it is halved without
# the (slow) LZMA2 attempt.
LZMA_PER_DEFLATE = 0.8

# Before compressing a block properly, deflate at level 1 a sample of it: SAMPLE bytes
# from every SAMPLE_EVERY. Samples that shrink by less than PROBE_WORTH mean data already
# compressed or random: sent raw at once, without the level-9 attempt that costs ~0.1 s
# of CPU per 512 KiB (time the first block makes the line wait for, and CPU the session's
# pump needs on a busy host) and without filling the block cache with its useless output.
# The price: data that repeats only at long range (beyond deflate's reach of a sample)
# is not found by LZMA2's 1 MiB dictionary either.
SAMPLE, SAMPLE_EVERY = 4096, 65536
PROBE_WORTH = 0.97

RAW, DEFLATE, LZMA2 = "raw", "deflate", "lzma2"
CODECS = (RAW, DEFLATE, LZMA2)
DEFLATE_CHUNKS = 4              # CRC chunks per deflate block: 256 KiB
LZMA_CHUNKS = 8                 # per block when LZMA2 may be used: 512 KiB, about
                                # staging_size of LZMA2 output on kernel data


def block_chunks_for(codecs: tuple[str, ...]) -> int:
    return LZMA_CHUNKS if LZMA2 in codecs else DEFLATE_CHUNKS


def changed_blocks(changed: list[int], chunk: int, block_chunks: int, length: int):
    """Runs of consecutive changed chunks (their offsets, ascending), at most block_chunks
    long; the last chunk ends with the data."""
    run: list[int] = []
    for offset in changed:
        if run and (offset != run[-1] + chunk or len(run) == block_chunks):
            yield run[0], min(run[-1] + chunk, length)
            run = []
        run.append(offset)
    if run:
        yield run[0], min(run[-1] + chunk, length)


@dataclass(frozen=True)
class Piece:
    offset: int
    end: int
    codec: str                  # RAW, DEFLATE or LZMA2
    comp: bytes | None          # the stream (None for RAW)
    history: int                # dictionary bytes before offset the stream refers into


class Packer:
    """Cuts [offset, end) of data into pieces, each sent with its best codec."""

    def __init__(self, data: bytes, codecs: tuple[str, ...], staging: int, data_chunk: int,
                 cache: BlockCache | None = None):
        self.data = data
        self.codecs = codecs
        self.staging = staging
        self.data_chunk = data_chunk
        self.cache = cache

    def _cached(self, codec: str, params: str, dictionary: bytes, block: bytes, make) -> bytes:
        if self.cache is None:
            return make()
        return self.cache.get_or_make(codec, params, dictionary, block, make)

    def deflate(self, offset: int, end: int) -> tuple[bytes, int]:
        history = self.data[max(0, offset - P.INFLATE_HISTORY):offset]
        block = self.data[offset:end]

        def make() -> bytes:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY,
                                      *([history] if history else []))
            return packer.compress(block) + packer.flush()
        return self._cached(DEFLATE, "level=9,memlevel=8", history, block, make), len(history)

    def lzma2(self, offset: int, end: int) -> tuple[bytes, int]:
        reach = min(LZMA_HISTORY, P.UNLZMA_HISTORY) if lzma2.PRESET_DICT else 0
        history = self.data[max(0, offset - reach):offset]
        block = self.data[offset:end]
        params = f"preset={lzma2.PRESET:#x},lc={lzma2.LC},lp={lzma2.LP},pb={lzma2.PB}"
        return (self._cached(LZMA2, params, history, block, lambda: lzma2.compress(block, history)),
                len(history))

    def incompressible(self, offset: int, end: int) -> bool:
        """Whether level-1 deflate of samples of [offset, end) saves too little to try."""
        sampled = packed = 0
        for at in range(offset, end, SAMPLE_EVERY):
            sample = self.data[at:min(at + SAMPLE, end)]
            sampled += len(sample)
            packed += len(zlib.compress(sample, 1))
        return packed > PROBE_WORTH * sampled

    def pieces(self, offset: int, end: int) -> list[Piece]:
        """Pieces covering [offset, end): the smallest stream that fits staging; a block
        whose streams all overflow staging is halved until they fit, so a well-compressing
        block is never sent raw for its size alone; one that compresses badly goes raw."""
        end = min(end, len(self.data))      # sizes are the bytes there, not the range asked
        size = end - offset
        if not self.codecs or self.incompressible(offset, end):
            return [Piece(offset, end, RAW, None, 0)]
        candidates: list[tuple[str, bytes, int]] = []
        if DEFLATE in self.codecs:
            candidates.append((DEFLATE, *self.deflate(offset, end)))
        if LZMA2 in self.codecs and not (
                candidates and len(candidates[0][1]) * LZMA_PER_DEFLATE > self.staging
                and size > self.data_chunk):
            candidates.append((LZMA2, *self.lzma2(offset, end)))
        if not candidates or min(len(c[1]) for c in candidates) > COMPRESS_WORTH * size:
            return [Piece(offset, end, RAW, None, 0)]
        fitting = [c for c in candidates if len(c[1]) <= self.staging]
        if fitting:
            codec, comp, history = min(fitting, key=lambda c: len(c[1]))
            return [Piece(offset, end, codec, comp, history)]
        if size <= self.data_chunk:
            return [Piece(offset, end, RAW, None, 0)]
        middle = offset + size // 2
        return self.pieces(offset, middle) + self.pieces(middle, end)
