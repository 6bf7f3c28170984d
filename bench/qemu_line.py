#!/usr/bin/env python3
"""Where a QEMU board's line time goes: goodput of a framed push beside what QEMU spent on it.

For each board, latency and run: a fresh QEMU, the stub brought up, then an incompressible
push through the link simulator (or unpaced: latency "u", straight into QEMU's socket),
and meanwhile, from /proc, the CPU time of QEMU's main-loop thread (which moves bytes
from the socket into the emulated UART) and of its busiest vCPU thread (the stub's boot
core). Where `perf` may count syscall tracepoints (root, or perf_event_paranoid <= -1),
also the main loop's socket reads (recvmsg: one per pass that took bytes, so bytes per
read is what the UART model took per main-loop turn) and its ppoll calls (passes).

    python bench/qemu_line.py [--boards qemu-virt,qemu-virt-16550] [--latencies-ms 2,16]
                              [--runs 3] [--size-mib 2]

Prints a table (min / median / max over the runs) and writes it to bench/results/.
Figures depend on the machine's load, which the table records; compare boards and
stub versions measured in one run, not across tables.
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
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_transfer as bt  # noqa: E402  (also puts host/ on sys.path)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PERF_EVENTS = ("syscalls:sys_enter_recvmsg", "syscalls:sys_enter_ppoll")


def qemu_pid(board) -> int:
    """QemuBoard runs QEMU under `timeout`: the emulator is its one child."""
    children = Path(f"/proc/{board.pid}/task/{board.pid}/children").read_text().split()
    return int(children[0])


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of pid."""
    cpu = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue                              # a thread that just ended
        cpu[int(tid)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return cpu


def perf_usable() -> bool:
    if shutil.which("perf") is None:
        return False
    probe = subprocess.run(["perf", "stat", "-x,", "-e", PERF_EVENTS[0], "--", "true"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and "not supported" not in probe.stderr


class SyscallCount:
    """perf stat counting the main-loop thread's socket reads and polls while it runs."""

    def __init__(self, tid: int):
        self.out = Path(tempfile.mkstemp(prefix="hvmon-perf-", suffix=".csv")[1])
        self.proc = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(PERF_EVENTS),
                                      "-t", str(tid), "-o", str(self.out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)                           # perf attaches before the push starts

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(2)
        self.proc.wait(timeout=30)
        counts = {}
        for line in self.out.read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].strip().isdigit():
                counts[fields[2].rsplit("_", 1)[-1]] = int(fields[0])
        self.out.unlink()
        return counts


def measured_push(profile, latency: float | None, data: bytes, count_syscalls: bool) -> dict:
    with bt.new_board(profile) as board:
        bt.brought_up(board, profile)
        pid = qemu_pid(board)
        perf = SyscallCount(pid) if count_syscalls else None
        before = thread_cpu(pid)
        if latency is None:
            seconds = bt.timed_writes(board.stub_url, data, False)[0]
        else:
            sim = bt.simulated(board, latency, stub_line=True)
            try:
                seconds = bt.timed_writes(sim.url, data, False)[0]
            finally:
                sim.stop()
        after = thread_cpu(pid)
        counts = perf.stop() if perf else {}
    spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    mib = len(data) / (1 << 20)
    result = {"seconds": seconds, "ratio": len(data) / seconds / bt.LINE_RATE,
              # The main-loop thread is the process's first; the stub's boot core is the
              # busiest of the others (the second vCPU sleeps in WFI).
              "main_cpu_per_mib": spent.pop(pid, 0.0) / mib,
              "vcpu_cpu_per_mib": max(spent.values(), default=0.0) / mib,
              "load": os.getloadavg()[0]}
    if counts.get("recvmsg"):
        result["bytes_per_read"] = len(data) / counts["recvmsg"]
        result["passes_per_read"] = counts.get("ppoll", 0) / counts["recvmsg"]
        result["reads_per_s"] = counts["recvmsg"] / seconds
    return result


def spread(values, digits: int = 2) -> str:
    values = list(values)
    if not values:
        return ""
    return " / ".join(f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="qemu-virt,qemu-virt-16550")
    parser.add_argument("--latencies-ms", default="2,16", help="comma-separated; u: unpaced")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=float, default=2)
    args = parser.parse_args()
    profiles = {bt.PROFILE.name: bt.PROFILE, bt.PROFILE_16550.name: bt.PROFILE_16550}
    boards = [b for b in args.boards.split(",") if b]
    unknown = [b for b in boards if b not in profiles]
    if unknown:
        parser.error(f"--boards: {unknown[0]!r} is not one of {', '.join(profiles)}")
    latencies = [x.strip() for x in args.latencies_ms.split(",") if x.strip()]
    data = os.urandom(int(args.size_mib * (1 << 20)))
    count_syscalls = perf_usable()
    started_load = os.getloadavg()
    print(f"{len(data)} bytes per push, {args.runs} runs; load average {started_load[0]:.2f}; "
          f"syscall counts {'on' if count_syscalls else 'off (perf cannot count tracepoints)'}",
          flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    for run in range(args.runs):          # runs outermost: load drifts hit every row alike
        for latency in latencies:
            for board in boards:
                r = measured_push(profiles[board], None if latency == "u" else float(latency) / 1000,
                                  data, count_syscalls)
                results.setdefault((board, latency), []).append(r)
                print(f"  run {run + 1} {board:16} {latency:>3} ms  goodput {r['ratio']:.3f}  "
                      f"main {r['main_cpu_per_mib']:.2f} s/MiB  vCPU {r['vcpu_cpu_per_mib']:.2f} s/MiB"
                      + (f"  {r['bytes_per_read']:.1f} B/read  {r['passes_per_read']:.1f} passes/read"
                         if "bytes_per_read" in r else "") + f"  load {r['load']:.1f}", flush=True)
    table = [f"{len(data)} bytes per push; min / median / max of {args.runs} runs; load average "
             f"{started_load[0]:.2f} at the start, {os.cpu_count()} CPUs", "",
             "| board | latency | goodput / line rate | QEMU main loop CPU s/MiB | boot core vCPU "
             "CPU s/MiB | bytes per main-loop socket read | main-loop passes per read | "
             "socket reads per s | load (1 min) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (board, latency), rs in results.items():
        table.append(
            f"| {board} | {'unpaced' if latency == 'u' else latency + ' ms'} | "
            f"{spread(r['ratio'] for r in rs)} | {spread(r['main_cpu_per_mib'] for r in rs)} | "
            f"{spread(r['vcpu_cpu_per_mib'] for r in rs)} | "
            f"{spread((r['bytes_per_read'] for r in rs if 'bytes_per_read' in r), 1)} | "
            f"{spread((r['passes_per_read'] for r in rs if 'passes_per_read' in r), 1)} | "
            f"{spread((r['reads_per_s'] for r in rs if 'reads_per_s' in r), 0)} | "
            f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f} |")
    bt.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (bt.RESULTS / f"qemu-line-{stamp}.md").write_text("\n".join(table) + "\n")
    (bt.RESULTS / f"qemu-line-{stamp}.json").write_text(json.dumps(
        {f"{b} {lat}": rs for (b, lat), rs in results.items()}, indent=1))
    print("\n".join(table))
    print(f"written to {bt.RESULTS / f'qemu-line-{stamp}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
