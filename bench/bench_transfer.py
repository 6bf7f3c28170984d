#!/usr/bin/env python3
"""Transfer benchmarks on the QEMU board through the link simulator.

Every run starts its own QEMU with Debian's U-Boot and puts the link simulator
(host/hvmon/transport/linksim.py: 1,500,000 baud 8N1 pacing, one-way latency) between the host
and the board's serial line. Compared on the same simulated link:

  * hvmon's framed protocol pushing an incompressible 8 MiB file, and
  * U-Boot's `loady` (YMODEM) receiving the same file from lrzsz `sz --ymodem`
    and from hvmon's own YMODEM sender (which skips loady's 'C' stall),

at 2 ms and 16 ms one-way latency; then a real Debian arm64 kernel Image pushed with
hvmon (skip-unchanged, each block deflated or LZMA2, whichever is smaller) and pushed
again unchanged; against the host-built engine also deflate only, and LZMA2 with a cold
and a warm block cache. Prints a table and writes
it to bench/results/. Figures are ratios from one run on a shared machine, except the QEMU
boards' framed pushes: the median of --board-runs runs, with their min and max.

QEMU's PL011 costs its main thread ~10.5 us of CPU per received byte, which caps the
framed push near 0.59 of line rate on this machine whatever the protocol does. The same
pushes run on boards/qemu-virt-16550 too, where the stub's line is QEMU's PCI 16550: its
model takes up to its receive trigger level (14 bytes) per main-loop turn instead of
one. Both boards are also measured unpaced (no simulator: the loopback socket straight
into QEMU), which shows what the emulated UART itself can carry. The rows
labelled "stub engine built for the host" repeat the framed pushes against
bench/hoststub: the stub's own monitor and protocol engine (firmware/link and
firmware/monitor, unmodified) compiled for the host and serving the link on a loopback
socket, behind the same simulator, so they show what the protocol achieves when the
receiver keeps up.

Then the command line end to end (bench/cli_rows.py): a fresh `hvmon` process per call
pushing and reading back random data through the simulator into the host-built engine,
at each latency and size, min / median / max of --runs runs; `hvmon info` five times; and
the simulator's calibration against a plain UART model. The full set takes close to an
hour at 1.5 Mbaud: `--cli-only --sizes 8 --runs 3` runs a subset.

    python bench/bench_transfer.py [--size-mib 8] [--quick] [--host-engine-only]
                                   [--boards qemu-virt,qemu-virt-16550] [--board-runs 3]
    python bench/bench_transfer.py --cli-only [--sizes 8,32] [--runs 3] [--latencies-ms 2,16]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hvmon.bringup.board_profile import load_profile  # noqa: E402
from hvmon.bringup.bring_up import bring_up  # noqa: E402
from hvmon.bringup.qemu import QemuBoard  # noqa: E402
from hvmon.bringup.uboot import UBoot  # noqa: E402
from hvmon.target.blockcache import BlockCache  # noqa: E402
from hvmon.target.board import Board, WriteStats  # noqa: E402
from hvmon.target.packing import DEFLATE, LZMA2  # noqa: E402
from hvmon.transport.expect import Expect  # noqa: E402
from hvmon.transport.link import open_link  # noqa: E402
from hvmon.transport.linksim import LinkSimulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cli_rows  # noqa: E402

BAUD = 1_500_000
LINE_RATE = BAUD / 10            # bytes per second at 8N1
LOAD_ADDR = 0x48000000
PROFILE = load_profile("qemu-virt")
PROFILE_16550 = load_profile("qemu-virt-16550")    # the stub's line on QEMU's PCI 16550
RESULTS = ROOT / "bench" / "results"
HOSTSTUB = ROOT / "bench" / "hoststub"
HOST_ENGINE = "stub engine built for the host"


def new_board(profile=PROFILE) -> QemuBoard:
    """Not started: `with` starts it and stops it by PID at the end of each run."""
    return QemuBoard(profile, memory="1G", lifetime=1800)


def simulated(board: QemuBoard, latency: float, stub_line: bool = False) -> LinkSimulator:
    """The simulator in front of U-Boot's line, or (stub_line) the stub's own if the
    board gives it one."""
    port = board.stub_port if stub_line and board.stub_port else board.port
    sim = LinkSimulator(upstream=("127.0.0.1", port), baud=BAUD, latency=latency)
    sim.start()
    return sim


# Board.write's settings for the next pushes: its codecs and block cache (the bench's own
# folder, so "cold" means compressing). The stats of the last push land in LAST_STATS.
PUSH = {"codecs": (DEFLATE, LZMA2), "cache": None}
LAST_STATS: list[WriteStats] = []


def timed_writes(url: str, data: bytes, repeat: bool) -> list[float]:
    """Seconds for Board.write of data at url (and again if repeat); CRC checked."""
    with Board.open(url) as stub:
        stub.codecs, stub.block_cache = PUSH["codecs"], PUSH["cache"]
        times = []
        LAST_STATS.clear()
        for _ in range(2 if repeat else 1):
            started = time.monotonic()
            LAST_STATS.append(stub.write(LOAD_ADDR, data))
            times.append(time.monotonic() - started)
        assert stub.crc(LOAD_ADDR, len(data)) == zlib.crc32(data)
        return times


def brought_up(board, profile) -> None:
    """The stub up through U-Boot on a new board (on its own line where the profile gives
    it one), both serial connections closed again for what is measured next."""
    port = open_link(board.url)
    stub_port = open_link(board.stub_url) if board.stub_port else None
    bring_up(Expect(port), profile, stub_link=Expect(stub_port) if stub_port else None)
    port.close()
    if stub_port:
        stub_port.close()


def hvmon_push(data: bytes, latency: float | None, repeat: bool = False,
               profile=PROFILE) -> list[float]:
    """Seconds for Board.write of data through the simulator (and again if repeat);
    latency None: unpaced, straight into QEMU's serial socket."""
    with new_board(profile) as board:
        brought_up(board, profile)          # the bring-up itself is not measured
        if latency is None:
            return timed_writes(board.stub_url, data, repeat)
        sim = simulated(board, latency, stub_line=True)
        try:
            return timed_writes(sim.url, data, repeat)
        finally:
            sim.stop()


def build_hoststub() -> Path:
    subprocess.run(["make", "-s", "-j1", "-C", str(HOSTSTUB)], check=True)
    return HOSTSTUB / "build" / "hoststub"


def host_engine_push(binary: Path, data: bytes, latency: float, repeat: bool = False) -> list[float]:
    """hvmon_push against a fresh hoststub (RAM at the QEMU board's address) instead of
    QEMU. It prints its port, then waits at its text monitor like a brought-up stub."""
    engine = subprocess.Popen([str(binary), "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        line = engine.stdout.readline()
        if not line.strip().isdigit():
            engine.wait(10)
            raise RuntimeError(f"hoststub did not start: {engine.stderr.read().strip()}")
        port = int(line)
        sim = LinkSimulator(upstream=("127.0.0.1", port), baud=BAUD, latency=latency)
        sim.start()
        try:
            return timed_writes(sim.url, data, repeat)
        finally:
            sim.stop()
    finally:
        if engine.poll() is None:                 # it exits by itself once the host hangs up
            engine.terminate()
        try:
            engine.wait(10)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
        engine.stdout.close()
        engine.stderr.close()


def _bridge_lrzsz(port, path: Path) -> None:
    """Run `sz --ymodem` with its stdin/stdout joined to the serial line."""
    sz = subprocess.Popen(["sz", "--ymodem", "-k", "-q", str(path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    done = threading.Event()

    def line_to_sz():
        while not done.is_set():
            chunk = port.read(4096)
            if chunk:
                try:
                    sz.stdin.write(chunk)
                except BrokenPipeError:
                    return

    reader = threading.Thread(target=line_to_sz, daemon=True)
    reader.start()
    while True:
        chunk = sz.stdout.read1(65536) if hasattr(sz.stdout, "read1") else os.read(sz.stdout.fileno(), 65536)
        if not chunk:
            break
        port.write(chunk)
    sz.wait(30)
    done.set()
    reader.join(2)
    if sz.returncode != 0:
        raise RuntimeError(f"sz exited with {sz.returncode}")


def loady_push(data: bytes, latency: float, sender: str, tmp: Path) -> float:
    """Seconds from typing `loady` to U-Boot's prompt after the transfer; CRC checked."""
    path = tmp / "payload.bin"
    path.write_bytes(data)
    with new_board() as board:
        sim = simulated(board, latency)
        try:
            port = open_link(sim.url, timeout=0.01)
            link = Expect(port)
            uboot = UBoot(link, PROFILE.uboot)
            uboot.catch_prompt(60)
            started = time.monotonic()
            if sender == "hvmon-ymodem":
                uboot.loady(LOAD_ADDR, data, timeout=60)
            else:
                link.write(f"loady {LOAD_ADDR:#x}\n")
                link.expect(rb"Ready for binary \(ymodem\) download", 30, "loady")
                link.drain()
                _bridge_lrzsz(port, path)
                link.expect(rb"Total Size\s*=\s*0x([0-9a-fA-F]+)\s", 60, "loady result")
                link.expect(rb"\n=> ", 30, "prompt after loady")
            elapsed = time.monotonic() - started
            got = uboot.crc32(LOAD_ADDR, len(data))
            assert got == zlib.crc32(data), f"loady ({sender}) CRC {got:08x} != {zlib.crc32(data):08x}"
            port.close()
            return elapsed
        finally:
            sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=8)
    parser.add_argument("--quick", action="store_true", help="1 MiB, 2 ms only, no kernel")
    parser.add_argument("--senders", default="lrzsz-sz,hvmon-ymodem",
                        help="loady senders to compare (comma-separated; empty for none)")
    parser.add_argument("--latencies-ms", default="2,16")
    parser.add_argument("--no-kernel", action="store_true", help="skip the kernel Image rows")
    parser.add_argument("--kernel", type=Path, default=None,
                        help="the Image for the kernel rows (default: the guest's, cache/guest/Image);"
                             " e.g. another Debian kernel's /boot/vmlinuz-*")
    parser.add_argument("--host-engine-only", action="store_true",
                        help=f"only the rows of the {HOST_ENGINE} (no QEMU)")
    parser.add_argument("--cli-only", action="store_true",
                        help="only the command-line rows, the info row and the calibration")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line rows")
    parser.add_argument("--sizes", default="8,32", help="MiB per command-line transfer")
    parser.add_argument("--runs", type=int, default=3, help="runs per command-line row")
    parser.add_argument("--directions", default="push,read", help="command-line transfers")
    parser.add_argument("--boards", default="qemu-virt,qemu-virt-16550",
                        help="QEMU boards for the framed-push rows (comma-separated)")
    parser.add_argument("--board-runs", type=int, default=3,
                        help="runs per QEMU board framed-push row (median, min, max)")
    args = parser.parse_args()
    boards = {PROFILE.name: PROFILE, PROFILE_16550.name: PROFILE_16550}
    unknown = [b for b in args.boards.split(",") if b and b not in boards]
    if unknown:
        parser.error(f"--boards: {unknown[0]!r} is not one of {', '.join(boards)}")
    push_boards = [boards[b] for b in args.boards.split(",") if b]
    if args.cli_only:
        return run_cli_rows(args)
    size = int((1 if args.quick else args.size_mib) * (1 << 20))
    latencies = [0.002] if args.quick else [float(x) / 1000 for x in args.latencies_ms.split(",")]
    senders = [s for s in args.senders.split(",") if s]
    payload = os.urandom(size)
    rows = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"hvmon-bench-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)

    def row(what, latency, seconds, nbytes, reference=None, target=None, spread=None):
        """latency None: unpaced (no simulator); the ratio is still against 1.5 Mbaud.
        spread: the seconds of every run, when there were several (seconds: their median)."""
        ratio = nbytes / seconds / LINE_RATE if reference is None else seconds / reference
        ratios = sorted(round(nbytes / t / LINE_RATE, 3) for t in spread) if spread else None
        rows.append({"what": what, "latency_ms": None if latency is None else latency * 1000,
                     "seconds": round(seconds, 2), "bytes": nbytes, "ratio": round(ratio, 3),
                     "ratios": ratios, "target": target})
        where = "unpaced" if latency is None else f"{latency * 1000:5.0f} ms"
        print(f"  {what:56} {where:>8} {seconds:8.2f} s  {ratio:6.3f}"
              + (f"  (runs: {' '.join(f'{r:.3f}' for r in ratios)})" if ratios else "")
              + (f"  (target {target})" if target else ""), flush=True)

    def push_label(profile):
        return ("hvmon framed push, incompressible" if profile is PROFILE
                else f"hvmon framed push, incompressible, {profile.name}")

    print(f"payload {size} bytes, line rate {LINE_RATE:.0f} B/s; ratio = goodput / line rate")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for latency in [] if args.host_engine_only else latencies:
        for profile in push_boards:
            # Several runs: on a shared machine one push says more about the load than
            # about the board (bench/qemu_line.py shows where QEMU's time goes).
            times = [hvmon_push(payload, latency, profile=profile)[0] for _ in range(args.board_runs)]
            row(push_label(profile), latency, statistics.median(times), size,
                target=">= 0.95" if latency < 0.01 else ">= 0.90", spread=times)
        for sender in senders:
            t = loady_push(payload, latency, sender, tmp)
            row(f"U-Boot loady from {sender}", latency, t, size)

    # What the emulated UART carries with nothing pacing it: the loopback socket straight
    # into QEMU's chardev. Above 1.0 the simulated line, not QEMU, is the limit.
    for profile in [] if args.host_engine_only or args.quick else push_boards:
        t = hvmon_push(payload, None, profile=profile)[0]
        row(push_label(profile) + ", unpaced", None, t, size)

    kernel = None
    if not args.quick and not args.no_kernel:
        image = args.kernel or ROOT / "cache" / "guest" / "Image"
        if args.kernel is None and not image.exists():
            subprocess.run(["bash", str(ROOT / "scripts" / "fetch-guest.sh")], check=True)
        kernel = image.read_bytes()
        print(f"kernel rows: {image.name}, {len(kernel):,} bytes", flush=True)
        raw_time = len(kernel) / LINE_RATE
    PUSH["cache"] = BlockCache(tmp / "blocks")
    if kernel is not None and not args.host_engine_only:
        first, again = hvmon_push(kernel, 0.002, repeat=True)
        row("Debian kernel Image push / raw line time", 0.002, first, len(kernel), raw_time, "<= 0.35")
        row("unchanged Image re-push / raw line time", 0.002, again, len(kernel), raw_time, "<= 0.02")

    # The same pushes with the stub's engine built for the host as the receiver.
    hoststub = build_hoststub()
    for latency in latencies:
        t = host_engine_push(hoststub, payload, latency)[0]
        row(f"hvmon framed push, {HOST_ENGINE}", latency, t, size,
            target=">= 0.95" if latency < 0.01 else ">= 0.90")
    if kernel is not None:
        PUSH["codecs"], PUSH["cache"] = (DEFLATE,), BlockCache(tmp / "blocks-deflate")
        first, again = host_engine_push(hoststub, kernel, 0.002, repeat=True)
        row(f"kernel Image push / raw line time, deflate, {HOST_ENGINE}", 0.002, first, len(kernel),
            raw_time, "<= 0.35")
        row(f"unchanged re-push / raw line time, {HOST_ENGINE}", 0.002, again, len(kernel),
            raw_time, "<= 0.02")
        # LZMA2 (where it beats deflate): first with an empty block cache, so the push waits
        # for no more compression than the worker threads fail to hide; then a fresh engine
        # with the cache warm.
        PUSH["codecs"], PUSH["cache"] = (DEFLATE, LZMA2), BlockCache(tmp / "blocks-lzma2")
        cold = host_engine_push(hoststub, kernel, 0.002)[0]
        stats = LAST_STATS[0]
        row(f"kernel Image push / raw line time, LZMA2, {HOST_ENGINE}", 0.002, cold, len(kernel),
            raw_time, "<= 0.25")
        warm = host_engine_push(hoststub, kernel, 0.002)[0]
        row(f"the same, block cache warm, {HOST_ENGINE}", 0.002, warm, len(kernel), raw_time, "<= 0.25")
        print(f"  LZMA2 push: {stats.blocks} blocks, {stats.sent_lzma2} + {stats.sent_deflated} "
              f"compressed bytes + {stats.sent_raw} raw ({stats.sent_compressed / len(kernel):.3f} "
              f"of the Image compressed); compression done {stats.compress_seconds:.1f} s into the "
              f"cold push; warm push {LAST_STATS[0].cache_hits} cache hits, "
              f"{LAST_STATS[0].cache_misses} misses", flush=True)

    if not args.no_cli:
        run_cli_rows(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    def ratio_cell(r):
        if not r.get("ratios") or len(r["ratios"]) < 2:
            return f"{r['ratio']}"
        return f"{r['ratio']} ({r['ratios'][0]} / {r['ratios'][-1]}, {len(r['ratios'])} runs)"

    table = ["| what | latency | seconds | bytes | ratio (median; min / max) | target |",
             "| --- | --- | --- | --- | --- | --- |"]
    table += [f"| {r['what']} | "
              + ("unpaced" if r["latency_ms"] is None else f"{r['latency_ms']:.0f} ms")
              + f" | {r['seconds']} | {r['bytes']} | {ratio_cell(r)} | {r['target'] or ''} |"
              for r in rows]
    table.append(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
                 f"({os.cpu_count()} CPUs); figures from one run on a shared machine "
                 f"(QEMU board pushes: {args.board_runs} runs)")
    (RESULTS / f"transfer-{stamp}.md").write_text("\n".join(table) + "\n")
    (RESULTS / f"transfer-{stamp}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(table))
    print(f"written to {RESULTS / f'transfer-{stamp}.md'}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run_cli_rows(args) -> int:
    """The command line end to end, the info row and the simulator's calibration; a
    table with min / median / max and the load average, in bench/results/cli-*.md."""
    latencies = [float(x) / 1000 for x in args.latencies_ms.split(",")]
    sizes = [int(x) for x in args.sizes.split(",") if x]
    directions = tuple(d for d in args.directions.split(",") if d)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"hvmon-bench-cli-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    started_load = os.getloadavg()
    print(f"command line end to end; line rate {LINE_RATE:.0f} B/s; load average "
          f"{started_load[0]:.2f} {started_load[1]:.2f} {started_load[2]:.2f} on "
          f"{os.cpu_count()} cores", flush=True)
    rows = []
    try:
        rows += cli_rows.calibration_row(BAUD, 0.002, 2 << 20)
        hoststub = build_hoststub()
        rows += cli_rows.info_rows(hoststub, tmp, BAUD, latencies)
        if "push" in directions and sizes:
            rows += cli_rows.transfer_rows(hoststub, tmp, BAUD, latencies, sizes, args.runs,
                                           directions)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    table = [f"load average at start {started_load[0]:.2f} {started_load[1]:.2f} "
             f"{started_load[2]:.2f}, {os.cpu_count()} cores; min / median / max", "",
             "| what | latency | runs | seconds | goodput / line rate | target | load (1 min) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        d = r.as_dict()
        sec = d["seconds"]
        ratio = d.get("ratio")
        table.append(
            f"| {r.what} | {r.latency_ms:.0f} ms | {len(r.seconds)} | "
            f"{sec['min']:.2f} / {sec['median']:.2f} / {sec['max']:.2f} | "
            + (f"{ratio['min']:.3f} / {ratio['median']:.3f} / {ratio['max']:.3f}" if ratio else "")
            + f" | {r.target}{': met' if r.met else ': NOT met' if r.target else ''} | "
            f"{min(r.load):.1f}-{max(r.load):.1f} |")
    (RESULTS / f"cli-{stamp}.md").write_text("\n".join(table) + "\n")
    (RESULTS / f"cli-{stamp}.json").write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    print("\n".join(table))
    print(f"written to {RESULTS / f'cli-{stamp}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
