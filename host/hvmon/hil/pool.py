"""Which board an xdist worker gets. Without a pool every worker starts a QEMU board of
its own (on its own free loopback port); with a pool file, worker N takes entry N. A lock
file per port makes sure no two workers (nor two test runs) ever share one."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..tomlfile import read_toml
from ..transport.port_lock import PortLock as BoardLock


@dataclass(frozen=True)
class PoolEntry:
    port: str
    board: str | None = None          # profile name or path; None: the run's --hvmon-board


def worker_id() -> str:
    """pytest-xdist names its workers gw0, gw1, ...; a run without xdist is "main"."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    match = re.fullmatch(r"gw(\d+)", worker_id())
    return int(match.group(1)) if match else 0


def load_pool(path: str | Path) -> list[PoolEntry]:
    """A pool file: [[board]] tables with `port` (a pyserial URL) and optional `board`."""
    path = Path(path)
    data = read_toml(path)
    boards = data.get("board")
    if not isinstance(boards, list) or not boards:
        raise ConfigError(f"{path}: board: needs at least one [[board]] table with a port")
    entries, seen = [], {}
    for i, entry in enumerate(boards):
        key = f"board[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {key}: must be a table")
        unknown = sorted(set(entry) - {"port", "board"})
        if unknown:
            raise ConfigError(f"{path}: {key}.{unknown[0]}: unknown key (known: board, port)")
        port = entry.get("port")
        if not isinstance(port, str) or not port:
            raise ConfigError(f"{path}: {key}.port: missing (a pyserial URL)")
        if port in seen:
            raise ConfigError(f"{path}: {key}.port: {port} is also board[{seen[port]}]'s port")
        seen[port] = i
        board = entry.get("board")
        if board is not None and not isinstance(board, str):
            raise ConfigError(f"{path}: {key}.board: must be a board profile name")
        entries.append(PoolEntry(port, board))
    return entries


def pool_entry(path: str | Path, index: int) -> PoolEntry:
    entries = load_pool(path)
    if index >= len(entries):
        raise ConfigError(f"{path}: worker {worker_id()} needs board[{index}], the pool has "
                          f"{len(entries)} (run fewer workers: -n {len(entries)})")
    return entries[index]


class PortLock(BoardLock):
    """The lock every hvmon front end takes on a port (transport/port_lock.py), naming
    this worker as its holder: a worker, another run or an `hvmon` session in the way
    is an error at once, never a board shared. `hvmon watch` follows the board through
    it (self.watch), as it follows a CLI's."""

    def __init__(self, port: str, folder: Path | None = None):
        super().__init__(port, folder, wait=0, who=f"pytest worker {worker_id()}",
                         hint="no two workers may share a board", publish=True)
