"""The owner's watch socket (transport/watch.py) with real unix sockets: every watcher
gets every record in order, owner-only permissions, nothing a watcher sends reaches the
owner, and the owner leaving ends every watcher's stream."""

from __future__ import annotations

import os
import socket
import stat
import threading

from hvmon.transport.port_lock import PortLock, owner_note
from hvmon.transport.watch import connect, records


def collect(path: str, into: list, ready: threading.Event) -> threading.Thread:
    conn = connect(path)
    ready.set()

    def run():
        for item in records(conn, timeout=0.05):
            if item is not None:
                into.append(item)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_watchers_get_copies_until_the_owner_leaves(tmp_path):
    lock = PortLock("socket://127.0.0.1:4000", tmp_path, who="hvmon repl", publish=True)
    note = owner_note("socket://127.0.0.1:4000", tmp_path)
    assert note["who"] == "hvmon repl" and note["watch"] == str(lock.watch.path)
    assert stat.S_IMODE(os.stat(lock.watch.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(lock.watch.folder).st_mode) == 0o700
    got = [[], []]
    readers = []
    for into in got:
        ready = threading.Event()
        readers.append(collect(note["watch"], into, ready))
        ready.wait(5)
    while len(lock.watch.watchers) < 2:
        threading.Event().wait(0.01)
    for i in range(100):
        lock.watch.publish("linux" if i % 2 else "log", f"line {i}\n".encode())
    lock.release()                                  # the owner leaves: streams end
    for reader in readers:
        reader.join(5)
        assert not reader.is_alive()
    expected = [("linux" if i % 2 else "log", f"line {i}\n".encode()) for i in range(100)]
    assert got == [expected, expected]
    assert not lock.watch and owner_note("socket://127.0.0.1:4000", tmp_path) is None
    assert not os.path.exists(note["watch"])


def test_a_watcher_cannot_send_to_the_owner(tmp_path):
    lock = PortLock("socket://127.0.0.1:4001", tmp_path, publish=True)
    try:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(str(lock.watch.path))
        raw.sendall(b"vm destroy linux\n")          # nobody reads it: no path to the board
        while not lock.watch.watchers:
            threading.Event().wait(0.01)
        lock.watch.publish("events", b"still publishing\n")
        raw.settimeout(5)
        assert raw.recv(100).endswith(b"events" + b"still publishing\n")
        raw.close()
    finally:
        lock.release()
