"""One owner per board: an exclusive lock per serial line, taken by the CLI, the REPL
and the pytest plugin alike, so an interactive session and a test run never share a
board by accident. filelock does the locking on every system (the OS drops the lock of a
process that dies, so a killed run leaves none behind); a note beside the lock says who
holds it, for the error message of whoever comes next."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import HvmonError


class PortBusy(HvmonError):
    """Someone else holds the board; the message names them."""

    exit_code = 3


def lock_folder() -> Path:
    return Path(os.environ.get("HVMON_LOCKS") or Path(tempfile.gettempdir()) / "hvmon-locks")


def port_key(port: str) -> str:
    """The same board under any name: a device path by its real path (a by-id link and
    /dev/ttyUSB0 are one port), a URL as written."""
    if "://" not in port and os.path.exists(port):
        port = os.path.realpath(port)
    return port


def lock_paths(port: str, folder: Path | None = None) -> tuple[Path, Path]:
    """The lock file of a port, and the owner's note beside it."""
    folder = folder or lock_folder()
    name = re.sub(r"[^\w.-]+", "_", port_key(port))
    return folder / f"{name}.lock", folder / f"{name}.owner"


def owner_note(port: str, folder: Path | None = None) -> dict | None:
    """What the port's owner noted (pid, who, since, and where it publishes for
    watchers), or None when there is no note. The lock itself is not probed: a probe
    holding it for a moment could turn away the owner it is looking for. A note left by
    an owner that died names a socket nobody listens on any more."""
    _, note_path = lock_paths(port, folder)
    try:
        return json.loads(note_path.read_text())
    except (OSError, ValueError):
        return None


class PortLock:
    """Held from construction until release(). `wait`: seconds to wait for the owner to
    leave (None: as long as it takes; 0: not at all). `who`: what this process is, for
    the next one's error message (default: its command line). `hint`: added to the
    error, saying what to do about it."""

    def __init__(self, port: str, folder: Path | None = None, wait: float | None = 0,
                 who: str | None = None, hint: str = "", publish: bool = False):
        """`publish`: also open a WatchServer (transport/watch.py) for `hvmon watch`,
        named in the note, as `self.watch`."""
        folder = folder or lock_folder()
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.path, self.owner_path = lock_paths(port, folder)
        self.watch = None
        self.lock = FileLock(self.path, thread_local=False)
        try:
            self.lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            waited = f" (waited {wait:g} s)" if wait else ""
            raise PortBusy(f"port {port} is in use by {self.holder()}{waited} (lock {self.path})"
                           + (f"; {hint}" if hint else "")) from None
        note = {"pid": os.getpid(), "who": who or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        if publish:
            from .watch import WatchServer, available
            if available():
                self.watch = WatchServer()
                note["watch"] = str(self.watch.path)
        self.owner_path.write_text(json.dumps(note))

    def holder(self) -> str:
        """"pid 123 (hvmon -p ... repl) since 2025-01-05 12:00:00", as the owner noted."""
        try:
            note = json.loads(self.owner_path.read_text())
            return f"pid {note['pid']} ({note['who']}) since {note['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self.watch is not None:
            self.watch.close()
            self.watch = None
        if self.lock.is_locked:
            try:
                self.owner_path.unlink()
            except OSError:
                pass
            self.lock.release()
