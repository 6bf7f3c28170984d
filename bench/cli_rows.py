"""End-to-end rows for bench_transfer.py: the `hvmon` command line as users run it, one
fresh process per call, through the link simulator into the stub engine built for the
host (bench/hoststub), which keeps up with the line as a board's UART does. Each figure
counts the whole call: interpreter start, imports, connect, HELLO, the transfer, the CRC
checks, close and exit. Also the simulator's own calibration against a plain UART model.

Python's bytecode cache is allowed for these processes (in the bench's temporary folder),
as an installed hvmon has it, even where the environment sets PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hvmon.transport.linksim import LinkSimulator  # noqa: E402

LOAD_ADDR = 0x48000000
# The installed console script next to this interpreter (the venv's), as users run it.
SCRIPT = Path(sys.executable).parent / "hvmon"


@dataclass
class Row:
    what: str
    latency_ms: float
    seconds: list[float]
    nbytes: int = 0                     # 0: a latency row (seconds only)
    line_rate: float = 0.0
    target: str = ""
    met: bool | None = None
    load: list[float] = field(default_factory=list)    # 1-minute load average at each run

    def ratios(self) -> list[float]:
        return [self.nbytes / s / self.line_rate for s in self.seconds] if self.nbytes else []

    def summary(self) -> str:
        s = sorted(self.seconds)
        text = (f"  {self.what:52} {self.latency_ms:4.0f} ms  x{len(s)}  s {s[0]:7.2f} "
                f"{statistics.median(s):7.2f} {s[-1]:7.2f}")
        if self.nbytes:
            r = sorted(self.ratios())
            text += f"  ratio {r[0]:.3f} {statistics.median(r):.3f} {r[-1]:.3f}"
        if self.target:
            text += f"  target {self.target}: {'met' if self.met else 'NOT met'}"
        return text + f"  (load {min(self.load):.1f}-{max(self.load):.1f})"

    def as_dict(self) -> dict:
        s, r = sorted(self.seconds), sorted(self.ratios())
        out = {"what": self.what, "latency_ms": self.latency_ms, "runs": len(s),
               "seconds": {"min": s[0], "median": statistics.median(s), "max": s[-1]},
               "target": self.target, "met": self.met, "loadavg_1min": self.load}
        if r:
            out["ratio"] = {"min": r[0], "median": statistics.median(r), "max": r[-1]}
            out["bytes"] = self.nbytes
        return out


def cli_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def hvmon(env: dict[str, str], *args: str, timeout: float = 1800) -> float:
    """Seconds for one `hvmon ARGS` process, start to exit; it must succeed."""
    started = time.monotonic()
    command = [str(SCRIPT)] if SCRIPT.exists() else [
        sys.executable, "-c", "import sys; from hvmon.ui.cli import main; sys.exit(main())"]
    done = subprocess.run(command + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"hvmon {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


class HostStub:
    """bench/hoststub serving many connections in turn, as a board stays up between calls."""

    def __init__(self, binary: Path):
        self.process = subprocess.Popen([str(binary), "--port", "0", "--connections", "1000",
                                         "--ram-mib", "512"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("hoststub did not start")
        self.port = int(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def transfer_rows(binary: Path, tmp: Path, baud: int, latencies: list[float], sizes_mib: list[int],
                  runs: int, directions: tuple[str, ...] = ("push", "read")) -> list[Row]:
    """`hvmon -q -p URL load FILE ADDR` (fresh random data each run, so nothing is
    skipped and nothing compresses) and `hvmon -q -p URL read ADDR LEN -o FILE` of what
    was pushed, compared byte for byte."""
    env, line_rate, rows = cli_env(tmp), baud / 10, []
    hvmon(env, "--version")                         # fills the bytecode cache; not measured
    stub = HostStub(binary)
    try:
        for latency in latencies:
            target = 0.95 if latency < 0.01 else 0.93
            with LinkSimulator(("127.0.0.1", stub.port), baud=baud, latency=latency) as sim:
                for size in sizes_mib:
                    nbytes = size << 20
                    push = Row(f"CLI load, {size} MiB random", latency * 1000, [], nbytes, line_rate)
                    read = Row(f"CLI read -o, {size} MiB", latency * 1000, [], nbytes, line_rate)
                    for _ in range(runs):
                        path, back = tmp / "payload.bin", tmp / "back.bin"
                        path.write_bytes(os.urandom(nbytes))
                        push.load.append(os.getloadavg()[0])
                        push.seconds.append(hvmon(env, "-q", "-p", sim.url, "load", str(path),
                                                  hex(LOAD_ADDR)))
                        if "read" in directions:
                            read.load.append(os.getloadavg()[0])
                            read.seconds.append(hvmon(env, "-q", "-p", sim.url, "read",
                                                      hex(LOAD_ADDR), str(nbytes), "-o", str(back)))
                            if back.read_bytes() != path.read_bytes():
                                raise RuntimeError("read back differs from what was loaded")
                            back.unlink()
                    for row in (push, read) if "read" in directions else (push,):
                        row.target = f">= {target} (worst run)"
                        row.met = min(row.ratios()) >= target
                        print(row.summary(), flush=True)
                        rows.append(row)
    finally:
        stub.stop()
    return rows


def info_rows(binary: Path, tmp: Path, baud: int, latencies: list[float], runs: int = 5) -> list[Row]:
    """`hvmon -p URL info`: process start plus a handful of round trips. Target: 0.4 s plus
    ten round trips (RTT = twice the one-way latency)."""
    env, rows = cli_env(tmp), []
    hvmon(env, "--version")
    stub = HostStub(binary)
    try:
        for latency in latencies:
            with LinkSimulator(("127.0.0.1", stub.port), baud=baud, latency=latency) as sim:
                row = Row("CLI info (whole call)", latency * 1000, [])
                for _ in range(runs):
                    row.load.append(os.getloadavg()[0])
                    row.seconds.append(hvmon(env, "-q", "-p", sim.url, "info"))
                limit = 0.4 + 10 * 2 * latency
                row.target = f"<= {limit:.2f} s (median)"
                row.met = statistics.median(row.seconds) <= limit
                print(row.summary(), flush=True)
                rows.append(row)
    finally:
        stub.stop()
    return rows


def calibration_row(baud: int, latency: float, nbytes: int) -> list[Row]:
    """Raw bytes through the simulator, both directions at once, from plain socket
    writers: seconds from the first write to the last byte read, against the plain
    pacing model (nbytes byte times plus the latency). Ratio = model / measured: 1.0 is
    a perfect UART, below 1 a slower one; the simulator must never be faster (> 1)."""
    server = socket.create_server(("127.0.0.1", 0))
    payload = os.urandom(nbytes)
    load = os.getloadavg()[0]
    done: dict[str, float] = {}

    def far_end():
        conn, _ = server.accept()
        with conn:
            sender = threading.Thread(target=conn.sendall, args=(payload,), daemon=True)
            done["to_host_start"] = time.monotonic()
            sender.start()
            done["to_board"] = _drain(conn, nbytes)
            sender.join()

    far = threading.Thread(target=far_end, daemon=True)
    with LinkSimulator(server.getsockname(), baud=baud, latency=latency) as sim:
        far.start()
        with socket.create_connection(("127.0.0.1", sim.port)) as s:
            start = time.monotonic()
            sender = threading.Thread(target=s.sendall, args=(payload,), daemon=True)
            sender.start()
            done["to_host"] = _drain(s, nbytes)
            sender.join()
            far.join(60)
    server.close()
    model = nbytes * 10 / baud + latency
    rows = []
    for name, began in (("to_board", start), ("to_host", done["to_host_start"])):
        seconds = done[name] - began
        row = Row(f"simulator calibration, raw bytes {name} (both ways at once)",
                  latency * 1000, [seconds], nbytes, baud / 10,
                  target="model/measured in [0.99, 1.0]", load=[load])
        ratio = model / seconds
        row.met = 0.99 <= ratio <= 1.0
        print(row.summary() + f"  model {model:.3f} s, model/measured {ratio:.4f}", flush=True)
        rows.append(row)
    return rows


def _drain(s: socket.socket, nbytes: int) -> float:
    got = 0
    while got < nbytes:
        chunk = s.recv(1 << 16)
        if not chunk:
            raise RuntimeError("the simulator hung up early")
        got += len(chunk)
    return time.monotonic()
