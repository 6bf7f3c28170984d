"""A simulated debug cable between the host and the QEMU board's serial port.

A loopback TCP proxy: the host connects to it (socket://127.0.0.1:PORT) and it connects to
QEMU's serial server. Each direction behaves like a UART line behind a USB adapter: bytes
take 10 bit times each at the configured baud (8N1) and queue behind each other, arrive
`latency` seconds after they left the wire, and may be corrupted on the way with seeded,
reproducible faults: bit flips at a bit error rate, dropped bytes, duplicated bytes and
bursts of garbage.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

CHUNK_SECONDS = 0.0005          # schedule at most ~0.5 ms of line time per delivery


@dataclass
class DirectionStats:
    bytes_in: int = 0
    bytes_out: int = 0
    bits_flipped: int = 0
    bytes_dropped: int = 0
    bytes_duplicated: int = 0
    garbage_bytes: int = 0


@dataclass
class Faults:
    ber: float = 0.0
    drop_rate: float = 0.0
    dup_rate: float = 0.0
    garbage_rate: float = 0.0
    garbage_len: tuple[int, int] = (8, 64)

    def active(self) -> bool:
        return any((self.ber, self.drop_rate, self.dup_rate, self.garbage_rate))


class _Direction:
    """One way of the cable: a reader that timestamps bytes on a line clock and a writer
    that delivers them when their time comes."""

    def __init__(self, name: str, baud: int, latency: float, faults: Faults, rng: random.Random):
        self.name = name
        self.byte_time = 10.0 / baud
        self.latency = latency
        self.faults = faults
        self.rng = rng
        self.stats = DirectionStats()
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.cond = threading.Condition()
        self.line_free_at = 0.0

    def corrupt(self, data: bytes) -> bytes:
        f, rng, s = self.faults, self.rng, self.stats
        if not f.active():
            return data
        out = bytearray()
        for byte in data:
            if f.drop_rate and rng.random() < f.drop_rate:
                s.bytes_dropped += 1
                continue
            if f.ber:
                for bit in range(8):
                    if rng.random() < f.ber:
                        byte ^= 1 << bit
                        s.bits_flipped += 1
            out.append(byte)
            if f.dup_rate and rng.random() < f.dup_rate:
                out.append(byte)
                s.bytes_duplicated += 1
            if f.garbage_rate and rng.random() < f.garbage_rate:
                burst = bytes(rng.randrange(256) for _ in range(rng.randint(*f.garbage_len)))
                out += burst
                s.garbage_bytes += len(burst)
        return bytes(out)

    def schedule(self, data: bytes) -> None:
        """Put bytes on the line clock: they leave one after another, never faster than baud."""
        self.stats.bytes_in += len(data)
        now = time.monotonic()
        start = max(now, self.line_free_at)
        per_chunk = max(1, int(CHUNK_SECONDS / self.byte_time))
        with self.cond:
            for i in range(0, len(data), per_chunk):
                piece = data[i:i + per_chunk]
                start += len(piece) * self.byte_time
                self.queue.append((start + self.latency, piece))
            self.line_free_at = start
            self.cond.notify()

    def pump_out(self, sink: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            with self.cond:
                while not self.queue and not stop.is_set():
                    self.cond.wait(0.05)
                if stop.is_set():
                    return
                due, piece = self.queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.05))
                continue
            with self.cond:
                self.queue.popleft()
            piece = self.corrupt(piece)
            try:
                sink.sendall(piece)
            except OSError:
                return
            self.stats.bytes_out += len(piece)

    def pump_in(self, source: socket.socket, stop: threading.Event) -> None:
        source.settimeout(0.05)
        while not stop.is_set():
            try:
                data = source.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            self.schedule(data)
        stop.set()


class LinkSimulator:
    def __init__(self, upstream, baud: int = 1_500_000, latency: float = 0.002, ber: float = 0.0,
                 drop_rate: float = 0.0, dup_rate: float = 0.0, garbage_rate: float = 0.0,
                 garbage_len: tuple[int, int] = (8, 64), faults: str = "both", seed: int = 0,
                 listen_port: int = 0):
        if isinstance(upstream, str):
            host, _, port = upstream.rpartition(":")
            upstream = (host or "127.0.0.1", int(port))
        self.upstream = upstream
        self.baud, self.latency, self.seed = baud, latency, seed
        self.fault_spec = Faults(ber, drop_rate, dup_rate, garbage_rate, garbage_len)
        if faults not in ("both", "to_board", "to_host", "none"):
            raise ValueError(f"faults must be both, to_board, to_host or none, not {faults!r}")
        self.fault_directions = faults
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", listen_port))
        self.port = self.listener.getsockname()[1]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.connections = 0
        self.directions: dict[str, _Direction] = {}

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def stats(self) -> dict[str, DirectionStats]:
        return {name: d.stats for name, d in self.directions.items()}

    def _direction(self, name: str, index: int) -> _Direction:
        wanted = self.fault_directions in ("both", name)
        faults = self.fault_spec if wanted else Faults()
        return _Direction(name, self.baud, self.latency, faults,
                          random.Random(self.seed * 7919 + index + 1000 * self.connections))

    def start(self) -> "LinkSimulator":
        self.listener.listen(1)
        thread = threading.Thread(target=self._accept_loop, name="linksim-accept", daemon=True)
        thread.start()
        self.threads.append(thread)
        return self

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop_event.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        """One host connection at a time, over a fresh upstream connection (like plugging
        the cable in again)."""
        try:
            board = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        for s in (client, board):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        to_board, to_host = self._direction("to_board", 0), self._direction("to_host", 1)
        self.directions = {"to_board": to_board, "to_host": to_host}
        self.connections += 1
        done = threading.Event()
        workers = [threading.Thread(target=to_board.pump_in, args=(client, done), daemon=True),
                   threading.Thread(target=to_board.pump_out, args=(board, done), daemon=True),
                   threading.Thread(target=to_host.pump_in, args=(board, done), daemon=True),
                   threading.Thread(target=to_host.pump_out, args=(client, done), daemon=True)]
        for w in workers:
            w.start()
        while not done.is_set() and not self.stop_event.is_set():
            done.wait(0.1)
        done.set()
        for w in workers:
            w.join(2)
        for s in (client, board):
            s.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.listener.close()
        for t in self.threads:
            t.join(3)

    def __enter__(self) -> "LinkSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hvmon linksim", description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of the board's serial server")
    p.add_argument("--baud", type=int, default=1_500_000)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--ber", type=float, default=0.0)
    p.add_argument("--drop", type=float, default=0.0)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--garbage", type=float, default=0.0)
    p.add_argument("--faults", default="both", choices=["both", "to_board", "to_host", "none"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--for", dest="for_seconds", type=float)
    args = p.parse_args(argv)
    sim = LinkSimulator(args.upstream, args.baud, args.latency_ms / 1000, args.ber, args.drop,
                        args.dup, args.garbage, faults=args.faults, seed=args.seed,
                        listen_port=args.listen_port).start()
    print(sim.url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sim.stop_event.set())
    deadline = time.monotonic() + args.for_seconds if args.for_seconds else None
    try:
        while not sim.stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
