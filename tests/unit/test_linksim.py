"""The link simulator against a local echo server (no QEMU): pacing, latency, seeded faults."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from hvmon.linksim import LinkSimulator


@pytest.fixture
def echo_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn):
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()
    stop.set()
    server.close()


def exchange(sim: LinkSimulator, payload: bytes, expect_len: int, timeout: float = 20) -> bytes:
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(payload)
        s.settimeout(0.5)
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < expect_len and time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            got += chunk
        return got


def test_clean_link_passes_bytes_unchanged(echo_server):
    with LinkSimulator(echo_server, baud=20_000_000, latency=0) as sim:
        data = os.urandom(200_000)
        assert exchange(sim, data, len(data)) == data


def test_pacing_never_beats_the_baud_rate(echo_server):
    with LinkSimulator(echo_server, baud=300_000, latency=0.0) as sim:
        started = time.monotonic()
        data = os.urandom(15_000)                   # 0.5 s each way at 30,000 bytes/s
        assert exchange(sim, data, len(data)) == data
        assert time.monotonic() - started >= 0.5 * 0.95


def test_latency_is_added_each_way(echo_server):
    with LinkSimulator(echo_server, baud=10_000_000, latency=0.05) as sim:
        started = time.monotonic()
        assert exchange(sim, b"x", 1) == b"x"
        assert time.monotonic() - started >= 0.1


def faulty(echo_server, seed, **faults):
    sim = LinkSimulator(echo_server, baud=50_000_000, latency=0, seed=seed, faults="to_board", **faults)
    return sim


def test_faults_are_reproducible_and_counted(echo_server):
    data = bytes(range(256)) * 400                  # 102,400 bytes, 819,200 bits
    outputs = []
    for seed in (1, 1, 2):
        with faulty(echo_server, seed, ber=1e-3, drop_rate=1e-3, dup_rate=1e-3,
                    garbage_rate=1e-4) as sim:
            expected = None
            out = exchange(sim, data, 10**9, timeout=3)
            s = sim.stats["to_board"]
            expected = len(data) - s.bytes_dropped + s.bytes_duplicated + s.garbage_bytes
            assert len(out) == expected
            assert 500 <= s.bits_flipped <= 1200
            assert s.bytes_dropped > 0 and s.bytes_duplicated > 0 and s.garbage_bytes > 0
            assert sim.stats["to_host"].bits_flipped == 0     # only one direction is faulty
            outputs.append(out)
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]


def test_reconnect_gets_a_fresh_upstream(echo_server):
    with LinkSimulator(echo_server, baud=10_000_000, latency=0) as sim:
        assert exchange(sim, b"first", 5) == b"first"
        assert exchange(sim, b"second", 6) == b"second"
        assert sim.connections == 2


def test_stop_closes_the_port(echo_server):
    sim = LinkSimulator(echo_server).start()
    port = sim.port
    sim.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
