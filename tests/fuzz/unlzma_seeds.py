"""Seed inputs for fuzz_unlzma.c: real LZMA2 streams (several presets and properties,
uncompressed chunks, several chunks, preset dictionaries) behind the harness's 4-byte
header. python3 unlzma_seeds.py DIR"""

import lzma
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "host"))
from hvmon.target import lzma2  # noqa: E402

HISTORY_CODES = {0: 0, 1: 1, 64: 2, 4096: 3, 65536: 4}


def history(length: int) -> bytes:
    """fuzz_unlzma.c's history_byte(), i counted back from the output."""
    return bytes(((length - i) * 2654435761 & 0xFFFFFFFF) >> 24 for i in range(length))


def seed(stream: bytes, capacity: int, history_len: int = 0) -> bytes:
    return bytes([HISTORY_CODES[history_len]]) + capacity.to_bytes(3, "little") + stream


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    text = b"".join(b"entry %d: %s\n" % (i, rng.choice([b"alpha", b"beta", b"gamma"])) for i in range(1500))
    mixed = text[:8000] + rng.randbytes(3000) + bytes(5000) + text[:8000]
    seeds = {}
    for preset in (0, 6, 9 | lzma.PRESET_EXTREME):
        for lc, lp, pb in ((3, 0, 2), (0, 4, 4), (1, 1, 0)):
            filters = [{"id": lzma.FILTER_LZMA2, "preset": preset, "lc": lc, "lp": lp, "pb": pb}]
            seeds[f"p{preset & 0xff}-{lc}{lp}{pb}"] = seed(
                lzma.compress(mixed, format=lzma.FORMAT_RAW, filters=filters), len(mixed))
    seeds["random"] = seed(lzma2.compress(rng.randbytes(40_000)), 40_000)  # < 64 KiB: max_len
    seeds["empty"] = seed(b"\0", 0)
    if lzma2.PRESET_DICT:
        for length in (64, 4096, 65536):
            before = history(length)
            data = before[-50:] * 4 + text[:3000] + before[:2000]
            seeds[f"history-{length}"] = seed(lzma2.compress(data, before, preset=6), len(data), length)
    for name, data in seeds.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
