#!/usr/bin/env python3
"""Restore from a board-RAM snapshot against a cold boot of the same guest, to a shell
that answers.

Each run starts a fresh QEMU board (the stub through U-Boot, the guest's images preloaded,
so no transfer is timed) and times, for boards/qemu-virt/linux.toml (Debian's kernel, a
busybox initramfs, 256 MiB, one vCPU):

- cold boot: from VM_START until the shell answers a command typed at it;
- snapshot: VM_SNAPSHOT at that shell (and how long the stub kept the guest paused);
- restore: after the shell's state was changed, from VM_RESTORE until the shell answers
  with the snapshot's state. The VM's latest snapshot comes back from the pages written
  since it was taken (dirty logging); then a second snapshot is taken and the first
  restored again, which copies all of its RAM back (the board gets 2 GiB for the two).

Three runs; min / median / max of each. Prints a table and writes
bench/results/snapshot-*.md. Target: restore <= 0.05 of the cold boot.
"""

from __future__ import annotations

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
from hvmon.bringup.qemu import QemuBoard  # noqa: E402
from hvmon.target import vms  # noqa: E402
from hvmon.target.board import Board  # noqa: E402
from hvmon.transport.expect import Expect  # noqa: E402
from hvmon.transport.link import open_link  # noqa: E402

GUEST = ROOT / "boards" / "qemu-virt" / "linux.toml"
CACHE = ROOT / "cache" / "guest"
PROMPT = b"/ # "
RUNS = 3
WAIT_S = 180


def wait_for(stub: Board, vm_id: int, text: bytes, since: int, what: str) -> None:
    started = time.monotonic()
    while text not in stub.consoles.get(vm_id, b"")[since:]:
        if time.monotonic() - started > WAIT_S:
            raise RuntimeError(f"no {text!r} on the guest's console within {WAIT_S} s ({what})")
        time.sleep(0.005)


def answered(stub: Board, vm_id: int, command: str, answer: str, what: str) -> None:
    """Type a command and wait for its answer (one the echoed line cannot contain)."""
    since = len(stub.consoles.get(vm_id, b""))
    stub.console_write(vm_id, command.encode() + b"\n")
    wait_for(stub, vm_id, answer.encode(), since, what)


def one_run(n: int) -> dict:
    profile = load_profile("qemu-virt")
    with QemuBoard(profile, memory="2G", smp=2, lifetime=900,
                   extra_args=preload_args(GUEST)) as board:
        port = open_link(board.url)
        bring_up(Expect(port), profile)
        stub = Board.attach(port)
        try:
            vm_id, config = vms.create_vm(stub, GUEST)
            started = time.monotonic()
            vms.start_vm(stub, config.name)
            wait_for(stub, vm_id, PROMPT, 0, "cold boot")
            answered(stub, vm_id, "S=kept; echo up-$((40+2))", "up-42", "cold boot")
            cold = time.monotonic() - started

            started = time.monotonic()
            taken = vms.snapshot_vm(stub, config.name, "bench")
            snapshot = time.monotonic() - started
            answered(stub, vm_id, "S=changed; echo now-$S", "now-changed", "after the snapshot")

            started = time.monotonic()
            _, paused_us = vms.restore_vm(stub, config.name, "bench")
            answered(stub, vm_id, f"echo r{n}-$S", f"r{n}-kept", "after the restore")
            restore = time.monotonic() - started

            answered(stub, vm_id, "S=other; echo now-$S", "now-other", "before a second snapshot")
            vms.snapshot_vm(stub, config.name, "other")
            started = time.monotonic()
            _, whole_paused_us = vms.restore_vm(stub, config.name, "bench")
            answered(stub, vm_id, f"echo w{n}-$S", f"w{n}-kept", "after a whole restore")
            whole = time.monotonic() - started
            return {"cold": cold, "snapshot": snapshot, "snapshot_paused": taken.paused_us / 1e6,
                    "restore": restore, "restore_paused": paused_us / 1e6,
                    "whole": whole, "whole_paused": whole_paused_us / 1e6,
                    "ram": taken.snapshot.ram}
        finally:
            stub.session.close()
            port.close()


def main() -> int:
    if not (CACHE / "Image").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-guest.sh")], check=True)
    runs = []
    for n in range(RUNS):
        runs.append(one_run(n))
        print(f"run {n + 1}/{RUNS}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()
                                                  if k != "ram"), flush=True)

    def row(label: str, key: str) -> str:
        values = [r[key] for r in runs]
        return (f"| {label} | {min(values):.3f} | {statistics.median(values):.3f} | "
                f"{max(values):.3f} | {', '.join(f'{v:.3f}' for v in values)} |")
    ratios = [r["restore"] / r["cold"] for r in runs]
    table = [f"Guest: {GUEST.relative_to(ROOT)} ({runs[0]['ram'] >> 20} MiB of RAM, one vCPU), "
             f"a fresh QEMU board (2 GiB) per run, {RUNS} runs.", "",
             "| to a shell that answers | min (s) | median (s) | max (s) | all runs (s) |",
             "| --- | --- | --- | --- | --- |",
             row("cold boot (VM_START)", "cold"),
             row("snapshot at the shell (VM_SNAPSHOT, whole request)", "snapshot"),
             row("  of it the guest stood still (stub's paused_us)", "snapshot_paused"),
             row("restore (VM_RESTORE to the shell's answer)", "restore"),
             row("  of it inside VM_RESTORE (stub's paused_us)", "restore_paused"),
             row("restore of an older snapshot (all its RAM copied)", "whole"),
             row("  of it inside VM_RESTORE (stub's paused_us)", "whole_paused"),
             f"| restore / cold boot (target <= 0.05) | {min(ratios):.3f} | "
             f"{statistics.median(ratios):.3f} | {max(ratios):.3f} | "
             f"{', '.join(f'{v:.3f}' for v in ratios)} |"]
    keep("snapshot", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
