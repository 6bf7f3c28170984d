"""A loopback TCP relay that plays an unplugged line: for tests/integration/test_reconnect.py
and bench/bench_reconnect.py."""

from __future__ import annotations

import socket
import threading


class Relay:
    """A loopback TCP relay between hvmon and QEMU's serial server: unplug() closes its
    listening socket and both connections (hvmon's line goes dead, new connections are
    refused, as with a ser2net that stopped or an adapter pulled out); plug() listens
    on the same port again."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.plug()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def plug(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(1)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def unplug(self) -> None:
        with self.lock:
            for s in [self.listener, *self.sockets]:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()
            self.listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return                              # unplugged
            board = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, board]
            for a, b in ((client, board), (board, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
