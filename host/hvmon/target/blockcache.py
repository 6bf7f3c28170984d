"""Compressed blocks on disk, keyed by what they were made from.

LZMA2 at preset 9e costs about a second per 512 KiB block with its preset dictionary; a
kernel pushed again (to another board, after a stub restart, on the next boot) would
compress every block again. The key is a SHA-256 of the codec, its parameters, the
dictionary and the block, so a hit is always the exact stream that would be made.
Files live in $XDG_CACHE_HOME/hvmon/blocks/ (or ~/.cache/hvmon/blocks/), one per block;
writes go through a temporary file and a rename, so threads and processes may share it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hvmon" / "blocks"


class BlockCache:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else default_folder()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(codec: str, params: str, dictionary: bytes, block: bytes) -> str:
        h = hashlib.sha256()
        for part in (codec.encode(), params.encode(), dictionary, block):
            h.update(len(part).to_bytes(8, "little"))   # lengths first: no two splits collide
            h.update(part)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{key}.{os.getpid()}.{id(data):x}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError:
            pass        # a read-only or full cache only costs time

    def get_or_make(self, codec: str, params: str, dictionary: bytes, block: bytes,
                    make: Callable[[], bytes]) -> bytes:
        key = self.key(codec, params, dictionary, block)
        found = self.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        made = make()
        self.put(key, made)
        return made
