#!/usr/bin/env python3
"""`vm save` of a booted 256 MiB Linux guest: bytes over the line against guest RAM
(target <= 0.15) and seconds. Over the line: the response bytes that carried the state
record, the MEM_NONZERO bitmaps and the non-zero pages, which the stub deflates
(MEM_READ_DEFLATE); and, as a check, the stub UART's own count of bytes it sent meanwhile.
`hvmon migrate` of the same guest between two QEMU boards: downtime (paused on A to
running on B), bytes moved and seconds.

Each run starts a fresh QEMU board (the stub through U-Boot, boards/qemu-virt/linux.toml's
images preloaded, so creating the VM only confirms them by CRC), boots the guest to its
shell, sets a shell variable, saves it to a file and checks that the shell still answers.
A migration run starts two fresh QEMU boards, boots the guest on A with a background
counter writing a file each second, migrates it to B and checks there that a variable set
before reads back and the shell answers (tests/integration/test_migrate.py checks the
counter). Three runs of each (--runs N, --only save|migrate, --board qemu-virt-16550 for
the board whose stub has a 16550 line of its own);
min / median / max. Prints a table and writes bench/results/snapshot-file-*.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from results_table import keep

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))

from hvmon.bringup.board_profile import load_profile  # noqa: E402
from hvmon.bringup.bring_up import bring_up  # noqa: E402
from hvmon.bringup.preload import preload_args  # noqa: E402
from hvmon.bringup.qemu import QemuBoard  # noqa: E402
from hvmon.target import vm_file, vms  # noqa: E402
from hvmon.target.migrate import migrate_vm  # noqa: E402
from hvmon.target.board import Board  # noqa: E402
from hvmon.transport.expect import Expect  # noqa: E402
from hvmon.transport.link import open_link  # noqa: E402

GUEST = ROOT / "boards" / "qemu-virt" / "linux.toml"
PROMPT = b"/ # "
RUNS = 3
WAIT_S = 300


def wait_for(stub: Board, vm_id: int, text: bytes, since: int, what: str) -> None:
    started = time.monotonic()
    while text not in stub.consoles.get(vm_id, b"")[since:]:
        if time.monotonic() - started > WAIT_S:
            raise RuntimeError(f"no {text!r} on the guest's console within {WAIT_S} s ({what})")
        time.sleep(0.01)


def answered(stub: Board, vm_id: int, command: str, answer: str, what: str) -> None:
    since = len(stub.consoles.get(vm_id, b""))
    stub.console_write(vm_id, command.encode() + b"\n")
    wait_for(stub, vm_id, answer.encode(), since, what)


def stub_on(board: QemuBoard, profile) -> Board:
    """The stub brought up through U-Boot; a session on its own line where it has one."""
    port = open_link(board.url)
    if board.stub_port is None:
        bring_up(Expect(port), profile)
        return Board.attach(port)
    stub = open_link(board.stub_url)
    bring_up(Expect(port), profile, stub_link=Expect(stub))
    port.close()
    return Board.attach(stub)


def one_run(n: int, folder: Path, board: str) -> dict:
    profile = load_profile(board)
    with QemuBoard(profile, smp=2, lifetime=1800, extra_args=preload_args(GUEST)) as qa:
        a = stub_on(qa, profile)
        try:
            vm_id, config = vms.create_vm(a, GUEST)
            vms.start_vm(a, config.name)
            wait_for(a, vm_id, PROMPT, 0, "boot")
            answered(a, vm_id, f"V=run{n}; echo set-$V", f"set-run{n}", "boot")
            path = folder / f"run{n}.hvsnap"
            line_before = a.uart_stats().tx_bytes
            saved = vm_file.save_vm(a, config.name, path)
            line = a.uart_stats().tx_bytes - line_before
            answered(a, vm_id, "echo got-$V", f"got-run{n}", "after the save")
            return {"ratio": saved.wire_ratio, "line_ratio": line / saved.guest_ram,
                    "pages_mib": saved.pages_sent * 4096 / 2**20, "wire_mib": saved.wire_bytes / 2**20,
                    "file_mib": saved.file_bytes / 2**20, "save_s": saved.seconds,
                    "paused_s": saved.paused_us / 1e6, "ram": saved.guest_ram}
        finally:
            a.close()


def one_migration(n: int, board: str) -> dict:
    profile = load_profile(board)
    with QemuBoard(profile, smp=2, lifetime=1800, extra_args=preload_args(GUEST)) as qa, \
            QemuBoard(profile, smp=2, lifetime=1800, extra_args=preload_args(GUEST)) as qb:
        a, b = stub_on(qa, profile), stub_on(qb, profile)
        try:
            vm_id, config = vms.create_vm(a, GUEST)
            vms.start_vm(a, config.name)
            wait_for(a, vm_id, PROMPT, 0, "boot")
            answered(a, vm_id, f"V=run{n}; N=0; (while true; do N=$((N+1)); echo $N > /tmp/n; "
                     "sleep 1; done) & echo set-$V", f"set-run{n}", "boot")
            st = migrate_vm(a, b, config.name)
            answered(b, st.vm, "echo got-$V", f"got-run{n}", "after the move")
            answered(b, st.vm, "sleep 2; cat /tmp/n >/dev/null && echo alive-$((40+2))", "alive-42",
                     "the shell on B")
            return {"downtime_s": st.downtime_s, "moved_mib": st.bytes_moved / 2**20,
                    "first_mib": st.first_copy / 2**20, "rounds": len(st.rounds),
                    "final_pages": st.final_pages, "migrate_s": st.seconds, "ram": st.guest_ram}
        finally:
            a.close()
            b.close()


MIGRATE_ROWS = [("migrate: downtime, paused on A to running on B (s)", "downtime_s"),
                ("migrate: MiB moved (state, bitmaps, pages)", "moved_mib"),
                ("  of it the first image (pages B lacked) (MiB)", "first_mib"),
                ("  pre-copy rounds", "rounds"),
                ("  pages copied with the guest stopped", "final_pages"),
                ("migrate, whole (s)", "migrate_s")]

ROWS = [("bytes over the line / guest RAM (target <= 0.15)", "ratio"),
        ("  the same counting the UART's every byte (framing, acks, console)", "line_ratio"),
        ("MiB of non-zero pages (what MEM_READ carried before MEM_READ_DEFLATE)", "pages_mib"),
        ("MiB over the line (record, bitmap, non-zero pages, deflated by the stub)", "wire_mib"),
        ("MiB in the file (zlib or xz per 64 KiB chunk)", "file_mib"),
        ("vm save, whole (s)", "save_s"),
        ("  of it the guest stood still for the snapshot (s)", "paused_s")]


def table_rows(rows, runs) -> list[str]:
    out = []
    for label, key in rows:
        values = [r[key] for r in runs]
        out.append(f"| {label} | {min(values):.3f} | {statistics.median(values):.3f} | "
                   f"{max(values):.3f} | {', '.join(f'{v:.3f}' for v in values)} |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", choices=("save", "migrate"))
    parser.add_argument("--board", default="qemu-virt",
                        help="the QEMU profile (qemu-virt-16550: the stub on its own 16550 line)")
    args = parser.parse_args()
    saves, moves = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs if args.only != "migrate" else 0):
            saves.append(one_run(n, Path(tmp), args.board))
            print(f"save run {n + 1}/{args.runs}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in saves[-1].items() if k != "ram"), flush=True)
    for n in range(args.runs if args.only != "save" else 0):
        moves.append(one_migration(n, args.board))
        print(f"migrate run {n + 1}/{args.runs}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in moves[-1].items() if k != "ram"), flush=True)
    ram = (saves or moves)[0]["ram"]
    table = [f"Guest: {GUEST.relative_to(ROOT)} ({ram >> 20} MiB of RAM, one vCPU), fresh QEMU "
             f"boards ({args.board}) per run, {args.runs} runs of {args.only or 'save and migrate'}.",
             "",
             "| | min | median | max | all runs |", "| --- | --- | --- | --- | --- |"]
    table += table_rows(ROWS, saves) if saves else []
    table += table_rows(MIGRATE_ROWS, moves) if moves else []
    keep("snapshot-file", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
