"""The link simulator against a local stand-in for QEMU's serial server (no QEMU): clean
passthrough, pacing and latency, seeded faults and their counters, reconnects, and stop()
leaving nothing behind. Only lower bounds on time are asserted: machines are noisy."""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from hvmon.transport.linksim import LinkSimulator, main

FAST = 50_000_000       # a baud rate high enough that pacing costs the fault tests nothing


class Upstream:
    """Plays QEMU's serial server: echoes what it gets (or swallows it) and records it,
    one record per connection, so a test sees what crossed the line towards the board."""

    def __init__(self, echo: bool = True):
        self.echo = echo
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.05)
        self.received: list[bytearray] = []
        self.closed: list[threading.Event] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def address(self) -> tuple[str, int]:
        return self.server.getsockname()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            record, closed = bytearray(), threading.Event()
            self.received.append(record)
            self.closed.append(closed)
            t = threading.Thread(target=self._serve, args=(conn, record, closed), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket, record: bytearray, closed: threading.Event) -> None:
        conn.settimeout(0.05)
        with conn:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not data:
                    break
                record += data
                if self.echo:
                    conn.sendall(data)
        closed.set()

    def close(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join()
        self.server.close()


@pytest.fixture
def echo():
    upstream = Upstream(echo=True)
    yield upstream
    upstream.close()


@pytest.fixture
def sink():
    upstream = Upstream(echo=False)
    yield upstream
    upstream.close()


def connect(sim: LinkSimulator) -> socket.socket:
    return socket.create_connection(("127.0.0.1", sim.port), timeout=5)


def receive(s: socket.socket, count: int, timeout: float = 10) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + timeout
    s.settimeout(0.05)
    while len(got) < count and time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        got += chunk
    return bytes(got)


def round_trip(sim: LinkSimulator, payload: bytes) -> bytes:
    with connect(sim) as s:
        s.sendall(payload)
        return receive(s, len(payload))


def expected_out(stats) -> int:
    return stats.bytes_in - stats.bytes_dropped + stats.bytes_duplicated + stats.garbage_bytes


def wait_delivered(sim: LinkSimulator, upstream: Upstream, sent: int, timeout: float = 10) -> bytes:
    """What a fresh upstream got on its one connection once the to_board line has delivered
    everything it took in."""
    s = sim.stats["to_board"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (s.bytes_in == sent and upstream.received
                and len(upstream.received[0]) == s.bytes_out == expected_out(s)):
            break
        time.sleep(0.01)
    time.sleep(0.05)                    # anything extra would show up now
    return bytes(upstream.received[0]) if upstream.received else b""


def popcount_of_difference(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).bit_count()


def test_clean_link_passes_bytes_unchanged_both_ways(echo):
    data = random.Random(7).randbytes(200_000)
    with LinkSimulator(echo.address, baud=FAST, latency=0) as sim:
        assert round_trip(sim, data) == data
        assert bytes(echo.received[0]) == data
    for s in sim.stats.values():        # final once stop() has joined the writers
        assert (s.bytes_in, s.bytes_out) == (len(data), len(data))
        assert s.bits_flipped == s.bytes_dropped == s.bytes_duplicated == s.garbage_bytes == 0


def test_upstream_as_host_port_string(echo):
    host, port = echo.address
    with LinkSimulator(f"{host}:{port}", baud=FAST, latency=0) as sim:
        assert sim.url == f"socket://127.0.0.1:{sim.port}"
        assert round_trip(sim, b"hello") == b"hello"


def test_line_never_beats_the_baud_rate(echo):
    data = random.Random(8).randbytes(30_000)       # 1 s of line time at 300,000 baud
    with LinkSimulator(echo.address, baud=300_000, latency=0) as sim:
        started = time.monotonic()
        assert round_trip(sim, data) == data
        assert time.monotonic() - started >= 0.95


def test_latency_is_added_each_way(echo):
    with LinkSimulator(echo.address, baud=FAST, latency=0.05) as sim:
        started = time.monotonic()
        assert round_trip(sim, b"x") == b"x"
        assert time.monotonic() - started >= 2 * 0.05


def test_bit_errors_match_the_rate_and_the_counter(sink):
    data = random.Random(9).randbytes(100_000)      # 800,000 bits, ~800 flips expected
    with LinkSimulator(sink.address, baud=FAST, latency=0, ber=1e-3, seed=3) as sim, \
            connect(sim) as s:
        s.sendall(data)
        out = wait_delivered(sim, sink, len(data))
    assert len(out) == len(data)
    flipped = popcount_of_difference(out, data)
    assert 500 <= flipped <= 1100
    assert flipped == sim.stats["to_board"].bits_flipped


def noisy_delivery(data: bytes, seed: int, pieces: int) -> tuple[bytes, object]:
    """Push data through a faulty line in `pieces` writes; what arrived and the counters."""
    sink = Upstream(echo=False)
    with LinkSimulator(sink.address, baud=FAST, latency=0, ber=1e-4, drop_rate=1e-3,
                       dup_rate=1e-3, garbage_rate=1e-4, seed=seed) as sim, connect(sim) as s:
        step = -(-len(data) // pieces)
        for i in range(0, len(data), step):
            s.sendall(data[i:i + step])
            if pieces > 1:
                time.sleep(0.001)       # so the simulator reads it in different cuts
        out = wait_delivered(sim, sink, len(data))
    sink.close()
    return out, sim.stats["to_board"]


def test_faults_are_counted_and_reproducible():
    data = random.Random(10).randbytes(100_000)
    first, stats = noisy_delivery(data, seed=1, pieces=1)
    assert stats.bytes_dropped > 0 and stats.bytes_duplicated > 0 and stats.garbage_bytes > 0
    assert len(first) == (len(data) - stats.bytes_dropped + stats.bytes_duplicated
                          + stats.garbage_bytes)
    again, _ = noisy_delivery(data, seed=1, pieces=37)
    assert again == first
    other, _ = noisy_delivery(data, seed=2, pieces=1)
    assert other != first


@pytest.mark.parametrize("faults", ["to_board", "to_host", "none"])
def test_faults_only_where_asked(echo, faults):
    data = random.Random(11).randbytes(50_000)
    with LinkSimulator(echo.address, baud=FAST, latency=0, ber=1e-3, faults=faults) as sim, \
            connect(sim) as s:
        s.sendall(data)
        out = receive(s, len(data))
        at_board = bytes(echo.received[0])
    stats = sim.stats
    flips = {name: stats[name].bits_flipped for name in stats}
    if faults == "to_board":
        assert at_board != data and out == at_board and flips["to_host"] == 0
    elif faults == "to_host":
        assert at_board == data and out != data and flips["to_board"] == 0
    else:
        assert at_board == data and out == data and sum(flips.values()) == 0
    assert popcount_of_difference(out, data) == sum(flips.values())


def test_reconnect_gets_a_fresh_upstream(echo):
    with LinkSimulator(echo.address, baud=FAST, latency=0) as sim:
        assert round_trip(sim, b"first") == b"first"
        assert echo.closed[0].wait(5)           # unplugging the host hung up on the board
        assert round_trip(sim, b"second") == b"second"
        assert [bytes(r) for r in echo.received] == [b"first", b"second"]
        assert sim.connections == 2


def test_stop_leaves_no_port_and_no_threads(echo):
    before = set(threading.enumerate())
    sim = LinkSimulator(echo.address, baud=1_000_000_000, latency=0).start()
    busy = connect(sim)
    size = 8 << 20                  # more than the loopback buffers hold
    busy.sendall(bytes(size))       # echoed back to a host that never reads: stop anyway
    to_host = sim.stats["to_host"]
    deadline = time.monotonic() + 10
    while to_host.bytes_in < size and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert to_host.bytes_out < to_host.bytes_in     # the writer is stuck in sendall
    sim.stop()
    busy.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not [t for t in left if t.name.startswith("linksim")]
    assert not [t for t in left if not t.daemon]


def test_command_line_prints_the_url_and_runs_for_a_while(echo, capsys):
    host, port = echo.address
    assert main(["--upstream", f"{host}:{port}", "--latency-ms", "1", "--ber", "1e-4",
                 "--faults", "to_host", "--seed", "5", "--for", "0.3"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("socket://127.0.0.1:") and "\n" not in url


class Timed:
    """A far end that stamps every byte it receives with its arrival time and, when asked,
    sends a stream of its own back at the same time (the other direction)."""

    def __init__(self, reply: bytes = b""):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.reply = reply
        self.arrivals: list[tuple[float, int]] = []      # (time, bytes received so far)
        self.sent_at: list[tuple[float, int]] = []       # (time before sendall, length)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return self.server.getsockname()

    def _serve(self):
        conn, _ = self.server.accept()
        with conn:
            if self.reply:
                threading.Thread(target=send_timed, args=(conn, self.reply, self.sent_at),
                                 daemon=True).start()
            record(conn, self.arrivals)


def send_timed(s: socket.socket, data: bytes, sent_at: list, pieces: int = 5) -> None:
    """Send data in pieces with pauses between them, noting when each piece was handed over."""
    step = -(-len(data) // pieces)
    for i in range(0, len(data), step):
        sent_at.append((time.monotonic(), len(data[i:i + step])))
        s.sendall(data[i:i + step])
        time.sleep(0.03)


def record(s: socket.socket, arrivals: list, until: int | None = None) -> None:
    total = 0
    while until is None or total < until:
        try:
            chunk = s.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        total += len(chunk)
        arrivals.append((time.monotonic(), total))


def earliest(sent_at: list, byte_time: float, latency: float) -> list[float]:
    """The plain UART model: byte k leaves when the line is free and it has been handed
    over, takes one byte time, and arrives `latency` later. Its arrival times, per byte."""
    out, free = [], 0.0
    for at, length in sent_at:
        start = max(at, free)
        out += [start + (k + 1) * byte_time + latency for k in range(length)]
        free = start + length * byte_time
    return out


def test_no_byte_arrives_before_the_line_allows_in_either_direction():
    """Both directions at once, each sent in pieces with pauses: every received byte (the
    last of each recv) arrives no earlier than the plain pacing model allows. A lower bound
    only, so a slow machine cannot break it."""
    baud, latency = 400_000, 0.01                   # 40,000 bytes/s each way
    up, down = random.Random(12).randbytes(12_000), random.Random(13).randbytes(10_000)
    far = Timed(reply=down)
    sent_at, arrivals = [], []
    with LinkSimulator(far.address, baud=baud, latency=latency) as sim, connect(sim) as s:
        reader = threading.Thread(target=record, args=(s, arrivals, len(down)))
        reader.start()
        send_timed(s, up, sent_at)
        reader.join(20)
        deadline = time.monotonic() + 20
        while (not far.arrivals or far.arrivals[-1][1] < len(up)) and time.monotonic() < deadline:
            time.sleep(0.01)
    byte_time = 10 / baud
    for name, writes, got, size in (("to_board", sent_at, far.arrivals, len(up)),
                                    ("to_host", far.sent_at, arrivals, len(down))):
        assert got and got[-1][1] == size, f"{name}: not everything arrived"
        bound = earliest(writes, byte_time, latency)
        early = [(t, n) for t, n in got if t < bound[n - 1]]
        assert not early, f"{name}: bytes before their time: {early[:3]}"
    far.server.close()
