"""A simulated debug cable between the host and the QEMU board's serial port.

A loopback TCP proxy: the host connects to it (socket://127.0.0.1:PORT) and it connects to
QEMU's serial server. Each direction behaves like a UART line behind a USB adapter: a byte
takes 10 bit times at the configured baud (8N1), bytes queue behind each other, each one
arrives `latency` seconds after it left the wire, and the line may corrupt it on the way
with seeded, reproducible faults: bit flips at a bit error rate, dropped bytes, duplicated
bytes and bursts of garbage. The two directions are independent (full duplex). A byte is
never delivered before the last of its bits would have arrived (tests/unit/test_linksim.py
checks every byte's arrival against that bound); it may be delivered later, by at most a
chunk of CHUNK_SECONDS plus however late the delivering thread wakes.
A side that hangs up ends the session once what it wrote has crossed the line.
"""

from __future__ import annotations

import argparse
import collections
import math
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

from ..errors import ConfigError

DIRECTIONS = ("to_board", "to_host")        # the index of each seeds its faults
FAULT_CHOICES = ("both", "to_board", "to_host", "none")
CHUNK_BYTES = 64            # deliver at most this many bytes per wake-up ...
CHUNK_SECONDS = 0.0005      # ... or this much line time, whichever is fewer
RECV_SIZE = 65536
ACCEPT_POLL = 0.1           # how soon the accept loop notices stop()


@dataclass
class DirectionStats:
    bytes_in: int = 0
    bytes_out: int = 0
    bits_flipped: int = 0
    bytes_dropped: int = 0
    bytes_duplicated: int = 0
    garbage_bytes: int = 0


@dataclass(frozen=True)
class FaultRates:
    ber: float = 0.0
    drop_rate: float = 0.0
    dup_rate: float = 0.0
    garbage_rate: float = 0.0
    garbage_len: tuple[int, int] = (8, 64)

    def check(self) -> None:
        for name in ("ber", "drop_rate", "dup_rate", "garbage_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        low, high = self.garbage_len
        if not 1 <= low <= high:
            raise ConfigError(f"garbage_len must be (min, max) with 1 <= min <= max, "
                              f"not {self.garbage_len}")


class _Trials:
    """A run of independent yes/no trials with probability p, drawn as the gaps between
    the yeses: a rate of 1e-6 then costs one random number per million trials, not a
    million. The answers depend only on the trial's position in the stream, never on how
    the stream was cut into reads, which keeps faulty runs reproducible byte for byte."""

    def __init__(self, p: float, rng: random.Random):
        self.p, self.rng = p, rng
        self.left = self._gap()           # trials to pass before the next yes

    def _gap(self) -> int:
        if self.p <= 0.0 or self.p >= 1.0:
            return 0                      # never asked when p is 0: hits() returns first
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - self.p))

    def hits(self, n: int) -> list[int]:
        """Positions of the yeses among the next n trials."""
        if self.p <= 0.0:
            return []
        found, pos = [], self.left
        while pos < n:
            found.append(pos)
            pos += 1 + self._gap()
        self.left = pos - n
        return found


class FaultInjector:
    """Corrupts one direction's byte stream. Every kind of fault draws from a stream of its
    own (all derived from the direction's Random), so adding, say, drops to a run does not
    move where its bit errors land."""

    def __init__(self, rates: FaultRates, rng: random.Random, stats: DirectionStats):
        def sub() -> random.Random:
            return random.Random(rng.getrandbits(64))
        self.rates, self.stats = rates, stats
        self.flips = _Trials(rates.ber, sub())
        self.drops = _Trials(rates.drop_rate, sub())
        self.dups = _Trials(rates.dup_rate, sub())
        self.bursts = _Trials(rates.garbage_rate, sub())
        self.garbage = sub()

    def apply(self, data: bytes) -> tuple[bytes, int]:
        """The bytes that come out of the line for `data`, and how many line slots they took
        (a dropped byte was still sent, so its slot stays taken)."""
        flips = self.flips.hits(len(data) * 8)
        drops = set(self.drops.hits(len(data)))
        dups = set(self.dups.hits(len(data)))
        bursts = self.bursts.hits(len(data))
        if not (flips or drops or dups or bursts):
            return data, len(data)
        s = self.stats
        damaged = bytearray(data)
        for bit in flips:
            if bit // 8 not in drops:           # a flip in a lost byte is never seen
                damaged[bit // 8] ^= 1 << (bit % 8)
                s.bits_flipped += 1
        events = sorted(drops | dups | set(bursts))
        burst_at = set(bursts)
        out, done = bytearray(), 0
        for pos in events:
            out += damaged[done:pos]
            if pos in drops:
                s.bytes_dropped += 1
            else:
                out.append(damaged[pos])
                if pos in dups:
                    out.append(damaged[pos])
                    s.bytes_duplicated += 1
            if pos in burst_at:
                burst = self.garbage.randbytes(self.garbage.randint(*self.rates.garbage_len))
                out += burst
                s.garbage_bytes += len(burst)
            done = pos + 1
        out += damaged[done:]
        return bytes(out), len(out) + len(drops)


@dataclass
class _Stretch:
    """Bytes that went onto the line back to back: the k-th of them (from 1) is delivered
    at start + k * slot + latency."""
    start: float
    slot: float
    data: bytes
    sent: int = 0

    def due(self, now: float, latency: float) -> int:
        # The epsilon keeps a wake-up at exactly a byte's time from rounding to one short.
        k = math.floor((now - latency - self.start) / self.slot + 1e-9)
        return max(self.sent, min(len(self.data), k))

    def time_of(self, k: int, latency: float) -> float:
        return self.start + k * self.slot + latency


class SerialLine:
    """One direction's wire and the adapter buffer in front of it. Bytes are stamped on an
    accumulating line clock when they arrive, so the line never runs faster than the baud
    rate and a long transfer does not drift, however late the delivering thread wakes."""

    def __init__(self, baud: int, latency: float):
        self.byte_time = 10.0 / baud                # start bit, 8 data bits, stop bit
        self.latency = latency
        self.chunk = max(1, min(CHUNK_BYTES, int(CHUNK_SECONDS / self.byte_time)))
        self.free_at = 0.0                          # when the line finishes what it has
        self.queue: collections.deque[_Stretch] = collections.deque()
        self.cond = threading.Condition()
        self.closed = False
        self.finishing = False                      # no more input: deliver, then end

    def put(self, data: bytes, slots: int) -> None:
        """Queue `data`, which occupies `slots` byte times of the line."""
        with self.cond:
            start = max(time.monotonic(), self.free_at)
            self.free_at = start + slots * self.byte_time
            if data:
                self.queue.append(_Stretch(start, (self.free_at - start) / len(data), data))
                self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def finish(self) -> None:
        """The sender hung up: what it wrote still crosses the line (as a tty's close
        waits for its output to drain), then take() reports the end."""
        with self.cond:
            self.finishing = True
            self.cond.notify_all()

    def take(self) -> bytes | None:
        """Block until some bytes are due and return all that are; None once closed, or
        once finished and empty."""
        with self.cond:
            while not self.closed:
                now = time.monotonic()
                ready, wake_at = self._due(now)
                if ready:
                    return ready
                if self.finishing and not self.queue:
                    return None
                # Until the next chunk is due: bytes never leave before their time.
                self.cond.wait(None if wake_at is None else max(0.0, wake_at - now))
            return None

    def _due(self, now: float) -> tuple[bytes, float | None]:
        parts = []
        while self.queue:
            head = self.queue[0]
            # Hand out whole chunks, not every byte as soon as it is due: Python cannot wake
            # 150,000 times a second, and the far end cannot tell the difference.
            goal = min(len(head.data), head.sent + self.chunk)
            upto = head.due(now, self.latency)
            if upto < goal:
                return b"".join(parts), head.time_of(goal, self.latency)
            parts.append(head.data[head.sent:upto])
            head.sent = upto
            if head.sent == len(head.data):
                self.queue.popleft()
        return b"".join(parts), None


class _Direction:
    """What lives as long as the simulator for one direction: its counters and its faults
    (so a reconnect continues the fault sequence instead of replaying it)."""

    def __init__(self, index: int, rates: FaultRates, faulty: bool, seed: int):
        self.stats = DirectionStats()
        self.faults = FaultInjector(rates if faulty else FaultRates(),
                                    random.Random(seed + index), self.stats)


class _Session:
    """One host connection and the fresh board connection opened for it: four threads,
    a reader and a writer per direction. Either side hanging up ends both once its last
    bytes have crossed the line; a broken socket ends both at once, like a pulled cable."""

    def __init__(self, client: socket.socket, board: socket.socket, baud: int, latency: float,
                 to_board: _Direction, to_host: _Direction):
        self.sockets = (client, board)
        self.ended = threading.Event()
        self.lines = (SerialLine(baud, latency), SerialLine(baud, latency))
        self.threads = []
        for name, source, sink, line, direction in (
                ("to_board", client, board, self.lines[0], to_board),
                ("to_host", board, client, self.lines[1], to_host)):
            self.threads += [
                threading.Thread(target=self._read, args=(source, line, direction),
                                 name=f"linksim-{name}-read", daemon=True),
                threading.Thread(target=self._write, args=(sink, line, direction),
                                 name=f"linksim-{name}-write", daemon=True)]

    def run(self) -> None:
        """Serve until either side hangs up or end() is called, then release everything."""
        for t in self.threads:
            t.start()
        self.ended.wait()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)    # wakes threads blocked in recv or sendall
            except OSError:
                pass
        for line in self.lines:
            line.close()
        for t in self.threads:
            t.join()
        for s in self.sockets:
            s.close()

    def end(self) -> None:
        self.ended.set()

    def _read(self, source: socket.socket, line: SerialLine, direction: _Direction) -> None:
        # Reads never wait for the line: the adapter's buffer is unbounded, so a slow
        # direction never stalls the sender or the other direction.
        while True:
            try:
                data = source.recv(RECV_SIZE)
            except OSError:
                self.end()
                return
            if not data:
                break
            direction.stats.bytes_in += len(data)
            line.put(*direction.faults.apply(data))
        # A hang-up: the last bytes (a host's final acknowledgement) still arrive, then
        # the writer ends the session.
        line.finish()

    def _write(self, sink: socket.socket, line: SerialLine, direction: _Direction) -> None:
        while (data := line.take()) is not None:
            try:
                sink.sendall(data)
            except OSError:
                break
            direction.stats.bytes_out += len(data)
        self.end()


def _address(upstream) -> tuple[str, int]:
    if isinstance(upstream, str):
        host, sep, port = upstream.rpartition(":")
        if not sep or not port.isdigit():
            raise ConfigError(f"upstream must be HOST:PORT, not {upstream!r}")
        return host or "127.0.0.1", int(port)
    host, port = upstream
    return host, int(port)


class LinkSimulator:
    """The proxy. start() (or `with`), hand `url` to the host, stop() when done."""

    def __init__(self, upstream, baud: int = 1_500_000, latency: float = 0.002,
                 ber: float = 0.0, drop_rate: float = 0.0, dup_rate: float = 0.0,
                 garbage_rate: float = 0.0, garbage_len: tuple[int, int] = (8, 64),
                 faults: str = "both", seed: int = 0, listen_port: int = 0):
        if faults not in FAULT_CHOICES:
            raise ConfigError(f"faults must be one of {', '.join(FAULT_CHOICES)}, not {faults!r}")
        if baud <= 0 or latency < 0:
            raise ConfigError(f"baud must be positive and latency not negative ({baud}, {latency})")
        rates = FaultRates(ber, drop_rate, dup_rate, garbage_rate, tuple(garbage_len))
        rates.check()
        self.upstream = _address(upstream)
        self.baud, self.latency, self.seed = baud, latency, seed
        self._directions = {
            name: _Direction(index, rates, faults in ("both", name), seed)
            for index, name in enumerate(DIRECTIONS)}
        self.connections = 0            # host connections served, each with its own upstream
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", listen_port))
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._acceptor: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def stats(self) -> dict[str, DirectionStats]:
        return {name: d.stats for name, d in self._directions.items()}

    def start(self) -> "LinkSimulator":
        if self._acceptor is not None:
            raise RuntimeError("the link simulator is already started")
        # A backlog, so a host that reconnects at once waits for the old session to be
        # torn down instead of being refused.
        self._listener.listen(4)
        self._listener.settimeout(ACCEPT_POLL)
        self._acceptor = threading.Thread(target=self._accept_loop, name="linksim-accept",
                                          daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._session is not None:
                self._session.end()
        if self._acceptor is not None:
            self._acceptor.join()
        self._listener.close()

    def __enter__(self) -> "LinkSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(None)
        try:
            board = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()              # board not there: the host sees the line hang up
            return
        board.settimeout(None)
        for s in (client, board):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = _Session(client, board, self.baud, self.latency,
                           self._directions["to_board"], self._directions["to_host"])
        with self._lock:
            if self._stopping.is_set():
                session.end()
            self._session = session
        self.connections += 1
        session.run()
        with self._lock:
            self._session = None


def _garbage_len(text: str) -> tuple[int, int]:
    low, _, high = text.partition(":")
    return int(low), int(high or low)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hvmon linksim", description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of the board's serial server")
    p.add_argument("--baud", type=int, default=1_500_000)
    p.add_argument("--latency-ms", type=float, default=2.0, help="one way, added to every byte")
    p.add_argument("--ber", type=float, default=0.0, help="bit error rate")
    p.add_argument("--drop", type=float, default=0.0, help="per byte probability of loss")
    p.add_argument("--dup", type=float, default=0.0, help="per byte probability of duplication")
    p.add_argument("--garbage", type=float, default=0.0,
                   help="per byte probability of a burst of random bytes after it")
    p.add_argument("--garbage-len", type=_garbage_len, default=(8, 64), metavar="MIN:MAX")
    p.add_argument("--faults", default="both", choices=FAULT_CHOICES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--for", dest="seconds", type=float, help="stop after this many seconds")
    args = p.parse_args(argv)
    sim = LinkSimulator(args.upstream, baud=args.baud, latency=args.latency_ms / 1000,
                        ber=args.ber, drop_rate=args.drop, dup_rate=args.dup,
                        garbage_rate=args.garbage, garbage_len=args.garbage_len,
                        faults=args.faults, seed=args.seed, listen_port=args.listen_port)
    finished = threading.Event()
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda *_: finished.set())
    sim.start()
    try:
        print(sim.url, flush=True)
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        # Short waits, so a signal handler gets to run promptly.
        while not finished.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    for name, s in sim.stats.items():
        print(f"linksim: {name}: {s.bytes_in} in, {s.bytes_out} out, {s.bits_flipped} bits "
              f"flipped, {s.bytes_dropped} dropped, {s.bytes_duplicated} duplicated, "
              f"{s.garbage_bytes} garbage", file=sys.stderr)
    return 0


if __name__ == "__main__":          # python -m hvmon.transport.linksim --upstream HOST:PORT
    sys.exit(main())
