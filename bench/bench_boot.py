#!/usr/bin/env python3
"""Guest boot time under the stub vs the same kernel booted by QEMU directly.

Under the stub: from VM_START to the busybox prompt on the VM's console channel (the
stub brought up through U-Boot first, the images preloaded, so no transfer is timed).
Directly: from QEMU's start with -kernel/-initrd to the same prompt on its serial line.
Same kernel, initramfs, command line, CPU model and one vCPU. Prints a table and writes
bench/results/boot-*.md. Target: ratio <= 1.3.
"""

from __future__ import annotations

import datetime
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hvmon import vms  # noqa: E402
from hvmon.board import Board  # noqa: E402
from hvmon.boards import load_profile  # noqa: E402
from hvmon.bringup import bring_up  # noqa: E402
from hvmon.cli import _preload_args  # noqa: E402
from hvmon.expect import Expect  # noqa: E402
from hvmon.link import open_link  # noqa: E402
from hvmon.qemu import QemuBoard, free_loopback_port  # noqa: E402

GUEST = ROOT / "boards" / "qemu-virt" / "linux.toml"
CACHE = ROOT / "cache" / "guest"
CMDLINE = "console=ttyAMA0 earlycon=pl011,0x09000000 rdinit=/init"
PROMPT = b"/ # "
RUNS = 3


def under_stub() -> float:
    profile = load_profile("qemu-virt")
    with QemuBoard(profile, smp=2, lifetime=600, extra_args=_preload_args(GUEST)) as board:
        port = open_link(board.url)
        bring_up(Expect(port), profile)
        stub = Board.attach(port)
        vm_id, config = vms.create_vm(stub, GUEST)
        started = time.monotonic()
        vms.start_vm(stub, config.name)
        while PROMPT not in stub.consoles.get(vm_id, b""):
            if time.monotonic() - started > 120:
                raise RuntimeError("the guest never reached its shell")
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        stub.session.close()
        port.close()
        return elapsed


def direct() -> float:
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
        conn.close()
        return elapsed
    finally:
        qemu.terminate()
        qemu.wait(10)


def main() -> int:
    if not (CACHE / "Image").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-guest.sh")], check=True)
    stub = [under_stub() for _ in range(RUNS)]
    plain = [direct() for _ in range(RUNS)]
    best_stub, best_plain = min(stub), min(plain)
    table = ["| boot to the busybox shell | best of 3 (s) | all runs (s) |", "| --- | --- | --- |",
             f"| QEMU -kernel directly | {best_plain:.2f} | {', '.join(f'{t:.2f}' for t in plain)} |",
             f"| under the hvmon stub | {best_stub:.2f} | {', '.join(f'{t:.2f}' for t in stub)} |",
             f"| ratio (target <= 1.3) | {best_stub / best_plain:.2f} | |"]
    print("\n".join(table))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"boot-{datetime.datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text("\n".join(table) + "\n")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
