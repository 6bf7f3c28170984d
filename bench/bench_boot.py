#!/usr/bin/env python3
"""Guest boot time under the stub vs the same kernel booted by QEMU directly.

Under the stub: from VM_START to the busybox prompt on the VM's console channel (the
stub brought up through U-Boot first, the images preloaded, so no transfer is timed).
Directly: from QEMU's start with -kernel/-initrd to the same prompt on its serial line.
Same kernel, initramfs, command line, CPU model and one vCPU. Prints a table and writes
bench/results/boot-*.md. Target: ratio <= 1.3.

The two kinds of run alternate, so a busy spell on the machine hits both alike. Besides
wall time, each run records the CPU time QEMU spent meanwhile (all its threads, from
/proc): that ratio says what the stub costs even when other work shares the machine.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results_table import keep

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hvmon.bringup.board_profile import load_profile  # noqa: E402
from hvmon.bringup.bring_up import bring_up  # noqa: E402
from hvmon.bringup.preload import preload_args  # noqa: E402
from hvmon.bringup.qemu import QemuBoard, free_loopback_port  # noqa: E402
from hvmon.target import vms  # noqa: E402
from hvmon.target.board import Board  # noqa: E402
from hvmon.transport.expect import Expect  # noqa: E402
from hvmon.transport.link import open_link  # noqa: E402

GUEST = ROOT / "boards" / "qemu-virt" / "linux.toml"
CACHE = ROOT / "cache" / "guest"
CMDLINE = "console=ttyAMA0 earlycon=pl011,0x09000000 rdinit=/init"
PROMPT = b"/ # "
RUNS = 3
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """user + system time of a process and its reaped threads so far (proc(5), stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def qemu_pid(pid: int) -> int:
    """QemuBoard runs QEMU under timeout(1): the CPU time is the child's."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[0]) if kids else pid


def under_stub() -> tuple[float, float]:
    profile = load_profile("qemu-virt")
    with QemuBoard(profile, smp=2, lifetime=600, extra_args=preload_args(GUEST)) as board:
        port = open_link(board.url)
        bring_up(Expect(port), profile)
        stub = Board.attach(port)
        vm_id, config = vms.create_vm(stub, GUEST)
        pid = qemu_pid(board.pid)
        cpu_start = cpu_seconds(pid)
        started = time.monotonic()
        vms.start_vm(stub, config.name)
        while PROMPT not in stub.consoles.get(vm_id, b""):
            if time.monotonic() - started > 120:
                raise RuntimeError("the guest never reached its shell")
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(pid) - cpu_start
        stub.session.close()
        port.close()
        return elapsed, cpu


def direct() -> tuple[float, float]:
    port = free_loopback_port()
    profile = load_profile("qemu-virt").qemu
    command = ["timeout", "600", "qemu-system-aarch64", "-M", profile.machine, "-cpu", profile.cpu,
               "-m", profile.memory, "-smp", "1", "-nic", "none", "-nographic", "-monitor", "none",
               "-kernel", str(CACHE / "Image"), "-initrd", str(CACHE / "initramfs.cpio.gz"),
               "-append", CMDLINE, "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on"]
    started = time.monotonic()
    qemu = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        seen = b""
        conn.settimeout(1)
        while PROMPT not in seen:
            if time.monotonic() - started > 120:
                raise RuntimeError("QEMU's direct boot never reached the shell")
            try:
                seen += conn.recv(65536)
            except socket.timeout:
                pass
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(qemu_pid(qemu.pid))
        conn.close()
        return elapsed, cpu
    finally:
        qemu.terminate()
        qemu.wait(10)


def main() -> int:
    if not (CACHE / "Image").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-guest.sh")], check=True)
    stub, plain = [], []
    for _ in range(RUNS):
        stub.append(under_stub())
        plain.append(direct())
    walls = [t for t, _ in stub], [t for t, _ in plain]
    cpus = [c for _, c in stub], [c for _, c in plain]

    def row(name, runs):
        return (f"| {name} | {min(t for t, _ in runs):.2f} | {statistics.median(t for t, _ in runs):.2f} | "
                f"{statistics.median(c for _, c in runs):.2f} | "
                f"{', '.join(f'{t:.2f}' for t, _ in runs)} |")
    table = ["| boot to the busybox shell | best wall (s) | median wall (s) | median QEMU CPU (s) | all runs, wall (s) |",
             "| --- | --- | --- | --- | --- |",
             row("QEMU -kernel directly", plain),
             row("under the hvmon stub", stub),
             f"| ratio (target <= 1.3) | {min(walls[0]) / min(walls[1]):.2f} | "
             f"{statistics.median(walls[0]) / statistics.median(walls[1]):.2f} | "
             f"{statistics.median(cpus[0]) / statistics.median(cpus[1]):.2f} | |"]
    keep("boot", table, {
        "under_stub_s": walls[0], "direct_s": walls[1],
        "ratio_median": round(statistics.median(walls[0]) / statistics.median(walls[1]), 3),
        "ratio_best": round(min(walls[0]) / min(walls[1]), 3), "target": "<= 1.3"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
