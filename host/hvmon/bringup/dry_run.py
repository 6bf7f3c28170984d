"""`hvmon up PLAN --dry-run`: what `up` would do and send, without opening a port.

Every step in order: start QEMU or open the line, bring the stub up through U-Boot, then
per VM its config check, the bytes of each image raw and as the same compression path as
Board.write would send them (target/packing.py: per block the smallest of raw, deflate
and LZMA2, through the same block cache, so a real push after it compresses nothing), and the time
that takes at the profile's line rate (baud / 10 bytes per second: 8N1 spends ten bit
times on a byte). Framing overhead and round trips are left out: a lower bound."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import protocol as P
from ..target.blockcache import BlockCache
from ..target.packing import DEFLATE, LZMA2, RAW, Packer, block_chunks_for, changed_blocks
from .board_profile import load_profile
from .offline import check_vm, offline_board
from .plan import Plan, PlanError

YMODEM_BLOCK, YMODEM_OVERHEAD = 1024, 5     # STX, block number, its complement, CRC-16


@dataclass
class Step:
    what: str
    detail: dict = field(default_factory=dict)
    text: str = ""


def line_rate(baud: int) -> float:
    return baud / 10.0


def wire_bytes(data: bytes, codecs: tuple[str, ...] = (DEFLATE, LZMA2)) -> tuple[int, str]:
    """Bytes of data Board.write puts on the wire for a range the board does not hold yet
    (a stub that offers these codecs), and the codecs its blocks went as."""
    changed = list(range(0, len(data), P.CRC_CHUNK))
    packer = Packer(data, codecs, P.STAGING_SIZE, P.DATA_CHUNK, BlockCache())
    pieces = [piece for offset, end in changed_blocks(changed, P.CRC_CHUNK, block_chunks_for(codecs), len(data))
              for piece in packer.pieces(offset, end)]
    used = sorted({piece.codec for piece in pieces}, key=(RAW, DEFLATE, LZMA2).index)
    return sum(len(p.comp) if p.comp is not None else p.end - p.offset for p in pieces), "+".join(used)


def dry_run(plan: Plan, port: str | None = None, image: Path | None = None,
            board_dtb: str | None = None, smp: int | None = None, memory: str | None = None,
            baud: int | None = None) -> list[Step]:
    profile = load_profile(plan.board)
    baud = baud or profile.uboot.baud
    rate = line_rate(baud)
    port = port or plan.port
    steps: list[Step] = []
    if port is None:
        q = profile.qemu
        if q is None:
            raise PlanError(f"{plan.path}: port: missing, and board {plan.board} cannot be started "
                            "in QEMU (its profile has no [qemu] section)")
        smp, memory = smp or plan.qemu.smp or q.smp, memory or plan.qemu.memory or q.memory
        steps.append(Step("start QEMU", {"machine": q.machine, "cpu": q.cpu, "smp": smp, "memory": memory,
                                         "preload": plan.qemu.preload},
                          f"start QEMU: -M {q.machine} -cpu {q.cpu} -smp {smp} -m {memory}, serial on a "
                          f"loopback port" + (", kernels and initrds preloaded" if plan.qemu.preload else "")))
    else:
        steps.append(Step("open the line", {"port": port, "baud": baud}, f"open {port} at {baud} baud"))

    stub = Path(image or profile.image())
    size = stub.stat().st_size if stub.is_file() else None
    if plan.reach == "uboot":
        seconds = (size + size // YMODEM_BLOCK * YMODEM_OVERHEAD + YMODEM_OVERHEAD) / rate if size else None
        steps.append(Step("bring-up", {"image": str(stub), "bytes": size, "seconds": _round(seconds),
                                       "load_address": profile.load_address},
                          f"if no stub answers: U-Boot loady {stub} ({size if size is not None else '?'} "
                          f"bytes, YMODEM, ~{_secs(seconds)}) to {profile.load_address:#x}, crc32, "
                          f"{profile.uboot.boot_command.format(addr=profile.load_address)}, framed mode"))
    else:
        steps.append(Step("reach", {"reach": "running"}, "the stub must answer already"))

    board = offline_board(profile, board_dtb, memory=memory, smp=smp) if (
        board_dtb or profile.qemu) else None
    for vm in plan.vms:
        steps += _vm_steps(plan, vm, board, rate, port is None and plan.qemu.preload)
    if plan.console:
        steps.append(Step("console", {"vm": plan.console}, f"attach the terminal to {plan.console}'s console"))
    return steps


def _vm_steps(plan, vm, board, rate, preloaded) -> list[Step]:
    name = vm.name
    if board is None:
        return [Step("vm", {"vm": name, "config": str(vm.config), "checked": "without the board's DTB"},
                     f"{name}: config {vm.config} checked; its guest DTB is cut at create time "
                     "(give --board-dtb FILE to cut it now)")]
    prepared = check_vm(vm.config, board)
    steps = [Step("vm check", {"vm": name, "config": str(vm.config), "dtb": prepared.dtb_origin},
                  f"{name}: config {vm.config} checked; guest DTB {prepared.dtb_origin} "
                  f"({len(prepared.dtb)} bytes)")]
    preload = set()
    if preloaded and all(r.pa is not None for r in prepared.config.memory):
        # What preload.preload_args places: a raw Image kernel and the initrd.
        preload = {"initrd"} | ({"kernel"} if prepared.kernel.format == "Image" else set())
    for what, ipa, data in prepared.images():
        packed, codecs = wire_bytes(data)
        sent = 0 if what in preload else packed
        seconds = sent / rate
        note = " (preloaded by QEMU: only CRCs are compared)" if what in preload else ""
        steps.append(Step("push", {"vm": name, "image": what, "ipa": ipa, "raw": len(data),
                                   "compressed": packed, "codec": codecs, "sent": sent,
                                   "seconds": _round(seconds)},
                          f"{name}: {what} at {ipa:#x}: {len(data)} bytes -> {packed} on the wire "
                          + (f"({codecs})" if packed < len(data) else "(raw: it does not compress)")
                          + f", ~{_secs(seconds)}{note}"))
    if vm.start:
        wait = f", wait for {vm.wait_for!r} (up to {vm.timeout:g} s)" if vm.wait_for else ""
        steps.append(Step("start", {"vm": name, "wait_for": vm.wait_for, "timeout": vm.timeout},
                          f"{name}: start{wait}"))
    return steps


def _round(seconds):
    return None if seconds is None else round(seconds, 2)


def _secs(seconds) -> str:
    return "? s" if seconds is None else f"{seconds:.1f} s"
