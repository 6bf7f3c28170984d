"""Many may watch: the board's owner (whoever holds its port lock) publishes what the
stub sends on its own (guest consoles, the stub's log, events) on a unix socket beside
its lock; `hvmon watch` processes connect there and get a copy.

Watching is read-only by construction: the owner never reads what a watcher sends
(only that it left), and a watcher shuts its sending side at once. The socket lives in
a folder of its own made by mkdtemp (mode 0700: only the owner's user can reach it) and
is itself 0600. The owner's note beside the lock says where it is.

Each record on the socket: a little-endian u16 name length and u32 data length, the
channel's name (UTF-8: a VM's name, "log", "events"), then the data.

publish() is called on the session's pump thread, so it never blocks: each watcher has
its own queue and thread, and a watcher more than WATCHER_LIMIT behind loses what does
not fit (it is told how much, on the channel "lost")."""

from __future__ import annotations

import collections
import os
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ..errors import LinkError

HEADER = struct.Struct("<HI")
WATCHER_LIMIT = 1 << 20
LOST = "lost"
FINISH_S = 1.0              # the owner leaving sends each watcher what it queued, this long


def available() -> bool:
    """Unix sockets (POSIX systems): elsewhere the owner publishes nothing, and the serial
    paths that import this module still work."""
    return hasattr(socket, "AF_UNIX")


def record(name: str, data: bytes) -> bytes:
    raw = name.encode()
    return HEADER.pack(len(raw), len(data)) + raw + data


class _Watcher:
    def __init__(self, conn: socket.socket, server: "WatchServer"):
        self.conn = conn
        self.server = server
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0
        self.dropped = 0
        self.ready = threading.Condition()
        self.open = True
        self.finishing = False
        self.thread = threading.Thread(target=self._send, name="hvmon-watcher", daemon=True)
        self.thread.start()

    def put(self, rec: bytes) -> None:
        with self.ready:
            if self.queued + len(rec) > WATCHER_LIMIT:
                self.dropped += len(rec)
                return
            if self.dropped:
                self.queue.append(record(LOST, f"{self.dropped} bytes not sent: this watcher "
                                               "fell behind\n".encode()))
                self.dropped = 0
            self.queue.append(rec)
            self.queued += len(rec)
            self.ready.notify()

    def _send(self) -> None:
        try:
            while True:
                with self.ready:
                    while self.open and not self.queue and not self.finishing:
                        self.ready.wait()
                    if not self.open or not self.queue:
                        return                       # closed, or finished sending
                    rec = self.queue.popleft()
                    self.queued -= len(rec)
                self.conn.sendall(rec)
        except OSError:
            pass                                     # the watcher left
        finally:
            self.close()

    def finish(self, timeout: float) -> None:
        """Send what is queued (for at most `timeout` seconds), then close."""
        with self.ready:
            self.finishing = True
            self.ready.notify()
        self.thread.join(timeout)
        self.close()

    def close(self) -> None:
        with self.ready:
            self.open = False
            self.ready.notify()
        self.server.forget(self)
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class WatchServer:
    """The owner's side: listening from construction until close()."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="hvmon-watch-"))    # 0700 by mkdtemp
        self.path = self.folder / "watch.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)          # the socket file is born 0600, never wider
        try:
            self.listener.bind(str(self.path))
        finally:
            os.umask(old_mask)
        self.listener.listen(8)
        self.watchers: list[_Watcher] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, name="hvmon-watch", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return                                 # closed
            with self.lock:
                self.watchers.append(_Watcher(conn, self))

    def forget(self, watcher: _Watcher) -> None:
        with self.lock:
            if watcher in self.watchers:
                self.watchers.remove(watcher)

    def publish(self, name: str, data: bytes) -> None:
        """A copy for every watcher; never blocks (see the module's note)."""
        if not data or not self.watchers:
            return
        rec = record(name, data)
        with self.lock:
            watchers = list(self.watchers)
        for watcher in watchers:
            watcher.put(rec)

    def close(self) -> None:
        """Watchers see the end of their stream: the owner left."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            watchers = list(self.watchers)
        for watcher in watchers:                       # what they were sent, then the end
            watcher.finish(FINISH_S)
        shutil.rmtree(self.folder, ignore_errors=True)


def connect(path: str) -> socket.socket:
    """The watcher's side: connected (and a copy of everything published from now on is
    on its way) when this returns; read it with records()."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError as exc:
        conn.close()
        raise LinkError(f"cannot reach the owner's watch socket {path}: {exc.strerror} "
                        "(the owner left?)") from None
    conn.shutdown(socket.SHUT_WR)                      # read-only: nothing ever goes back
    return conn


def watch(path: str, timeout: float | None = None) -> Iterator[tuple[str, bytes] | None]:
    """connect() and records(), for a caller that needs no moment in between."""
    return records(connect(path), timeout)


def records(conn: socket.socket, timeout: float | None = None) -> Iterator[tuple[str, bytes] | None]:
    """(name, data) per record as the owner publishes it, and None each `timeout`
    seconds nothing came (so a caller can flush what it holds); ends when the owner
    leaves."""
    conn.settimeout(timeout)
    buffer = bytearray()
    try:
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                yield None
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while len(buffer) >= HEADER.size:
                name_len, data_len = HEADER.unpack_from(buffer)
                end = HEADER.size + name_len + data_len
                if len(buffer) < end:
                    break
                name = bytes(buffer[HEADER.size:HEADER.size + name_len]).decode(errors="replace")
                yield name, bytes(buffer[HEADER.size + name_len:end])
                del buffer[:end]
    finally:
        conn.close()
