"""Board.write's per-block codec choice (hvmon.target.packing) and its block cache."""

from __future__ import annotations

import lzma
import random

import pytest

from hvmon.target import lzma2
from hvmon.target.blockcache import BlockCache
from hvmon.target.packing import DEFLATE, LZMA2, LZMA_HISTORY, RAW, Packer

STAGING, CHUNK = 131072, 4096
TEXT = b"".join(b"record %06d: %s\n" % (i, b"abcdefgh"[i % 8:] * 3) for i in range(40_000))


def covers(pieces, offset, end) -> bool:
    return [p.offset for p in pieces][0] == offset and pieces[-1].end == end and all(
        a.end == b.offset for a, b in zip(pieces, pieces[1:]))


class Sizes(Packer):
    """A Packer whose codecs give streams of made-up sizes (a ratio of the block)."""

    def __init__(self, ratios: dict[str, float], **kw):
        super().__init__(bytes(1 << 20), tuple(ratios), STAGING, CHUNK, **kw)
        self.ratios, self.calls = ratios, []

    def _fake(self, codec, offset, end):
        self.calls.append((codec, offset, end))
        return b"x" * int(self.ratios[codec] * (end - offset)), min(offset, 7)

    def deflate(self, offset, end):
        return self._fake(DEFLATE, offset, end)

    def lzma2(self, offset, end):
        return self._fake(LZMA2, offset, end)


def test_the_fewest_bytes_on_the_wire_win():
    assert Sizes({DEFLATE: 0.2, LZMA2: 0.15}).pieces(0, 1 << 16)[0].codec == LZMA2
    assert Sizes({DEFLATE: 0.15, LZMA2: 0.2}).pieces(0, 1 << 16)[0].codec == DEFLATE
    assert Sizes({DEFLATE: 0.95, LZMA2: 0.91}).pieces(0, 1 << 16)[0].codec == RAW
    piece = Sizes({LZMA2: 0.5}).pieces(4096, 8192)[0]
    assert (piece.codec, piece.history, len(piece.comp)) == (LZMA2, 7, 2048)


def test_a_block_past_the_end_is_judged_by_the_bytes_there():
    """The last CRC chunk of a file is short: 150000 random bytes asked for as [0, 196608)
    must go raw, not pass the ratio test against the longer range."""
    data = random.Random(2).randbytes(150_000)
    pieces = Packer(data, (DEFLATE, LZMA2), STAGING, CHUNK).pieces(0, 3 << 16)
    assert [(p.offset, p.end, p.codec) for p in pieces] == [(0, 150_000, RAW)]


def test_a_block_overflowing_staging_is_halved_not_sent_raw():
    packer = Sizes({DEFLATE: 0.4, LZMA2: 0.3})
    pieces = packer.pieces(0, 512 << 10)           # LZMA2 154 KiB > staging: two halves
    assert [p.codec for p in pieces] == [LZMA2, LZMA2] and covers(pieces, 0, 512 << 10)
    assert all(len(p.comp) <= STAGING for p in pieces)


def test_lzma2_is_not_tried_where_deflate_says_it_cannot_fit():
    packer = Sizes({DEFLATE: 0.5, LZMA2: 0.3})     # deflate 256 KiB: LZMA2 would be ~205 KiB
    packer.pieces(0, 512 << 10)
    assert (LZMA2, 0, 512 << 10) not in packer.calls
    assert (LZMA2, 0, 256 << 10) in packer.calls


def test_real_streams_text_goes_lzma2_random_goes_raw():
    data = TEXT[:300_000] + random.Random(1).randbytes(200_000)
    packer = Packer(data, (DEFLATE, LZMA2), STAGING, CHUNK)
    text = packer.pieces(0, 300_000)
    assert [p.codec for p in text] == [LZMA2]
    assert lzma.decompress(text[0].comp, format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA2}]) == data[:300_000]
    assert [p.codec for p in packer.pieces(300_000, 500_000)] == [RAW]
    assert [p.codec for p in Packer(data, (DEFLATE,), STAGING, CHUNK).pieces(0, 200_000)] == [DEFLATE]


def test_lzma2_blocks_take_up_to_lzma_history_before_them():
    data = TEXT[:300_000] * 8                             # repeats within LZMA_HISTORY
    packer = Packer(data, (LZMA2,), STAGING, CHUNK)
    assert packer.pieces(0, 65536)[0].history == 0
    assert packer.pieces(65536, 131072)[0].history == 65536
    late = packer.pieces(len(data) - 65536, len(data))[0]
    assert late.history == LZMA_HISTORY and len(late.comp) < 100      # all of it seen before


def test_the_cache_key_covers_codec_parameters_dictionary_and_block():
    key = BlockCache.key
    base = key(LZMA2, "preset=9", b"dict", b"block")
    assert base == key(LZMA2, "preset=9", b"dict", b"block")
    others = [key(DEFLATE, "preset=9", b"dict", b"block"), key(LZMA2, "preset=6", b"dict", b"block"),
              key(LZMA2, "preset=9", b"dic", b"block"), key(LZMA2, "preset=9", b"dict", b"blocK"),
              key(LZMA2, "preset=9", b"dictb", b"lock")]        # the same bytes, split elsewhere
    assert base not in others and len(set(others)) == len(others)


def test_a_repeated_pack_compresses_nothing_again(tmp_path):
    data = TEXT[:600_000]
    cache = BlockCache(tmp_path / "blocks")
    first = [Packer(data, (DEFLATE, LZMA2), STAGING, CHUNK, cache).pieces(o, min(o + (512 << 10), len(data)))
             for o in range(0, len(data), 512 << 10)]
    made = cache.misses
    assert made > 0 and cache.hits == 0 and any((tmp_path / "blocks").rglob("*"))
    fresh = BlockCache(tmp_path / "blocks")                # another process, say
    again = [Packer(data, (DEFLATE, LZMA2), STAGING, CHUNK, fresh).pieces(o, min(o + (512 << 10), len(data)))
             for o in range(0, len(data), 512 << 10)]
    assert again == first and fresh.misses == 0 and fresh.hits == made


def test_the_default_folder_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert BlockCache().folder == tmp_path / "hvmon" / "blocks"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert BlockCache().folder == tmp_path / "home" / ".cache" / "hvmon" / "blocks"


def test_an_unwritable_cache_only_costs_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    cache = BlockCache(blocker / "blocks")                   # a folder inside a file: no
    assert cache.get_or_make(LZMA2, "p", b"", b"abc", lambda: b"made") == b"made"
    assert cache.get_or_make(LZMA2, "p", b"", b"abc", lambda: b"made") == b"made"
    assert cache.hits == 0 and cache.misses == 2


def test_random_blocks_go_raw_without_a_compression_attempt(tmp_path):
    """The level-1 probe of samples finds random data incompressible: no deflate or LZMA2
    stream is made for it, and nothing lands in the block cache."""
    data = TEXT[:100_000] + random.Random(3).randbytes(600_000)
    cache = BlockCache(tmp_path / "blocks")
    packer = Packer(data, (DEFLATE, LZMA2), STAGING, CHUNK, cache)
    assert [p.codec for p in packer.pieces(100_000, 700_000)] == [RAW]
    assert cache.misses == cache.hits == 0 and not any((tmp_path / "blocks").rglob("*"))
    assert packer.pieces(0, 100_000)[0].codec != RAW      # the text still compresses
