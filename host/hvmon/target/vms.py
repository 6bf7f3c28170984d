"""VMs on the board: validate a config, push kernel, initrd and DTB, create and start."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .. import protocol as P
from ..errors import ConfigError
from .board import Board
from .vm_prepare import prepare_vm
from .vmconfig import VmConfig, load_vm_config

STATES = {1: "created", 2: "running", 3: "stopped"}
REASONS = {0: "", 1: "SYSTEM_OFF", 2: "SYSTEM_RESET", 3: "fault", 4: "stopped"}


@dataclass(frozen=True)
class VmEntry:
    id: int
    name: str
    state: str
    vcpus: int
    stop_reason: str


@dataclass(frozen=True)
class VmStopped:
    vm: int
    reason: str
    esr: int
    elr: int
    far: int
    ipa: int


def parse_vm_stopped(payload: bytes) -> VmStopped:
    vm, reason, esr, elr, far, ipa = struct.unpack_from(P.EVENT_FIELDS[P.Event.VM_STOPPED].format,
                                                        payload, P.PAYLOAD_HEADER)
    return VmStopped(vm, REASONS.get(reason, str(reason)), esr, elr, far, ipa)


def vm_list(board: Board) -> list[VmEntry]:
    (count,), data = board.call(P.Command.VM_LIST)
    out = []
    for i in range(count):
        vid, state, vcpus, reason, name = struct.unpack_from("<IIII16s", data, 32 * i)
        out.append(VmEntry(vid, name.rstrip(b"\0").decode(), STATES.get(state, str(state)), vcpus,
                           REASONS.get(reason, str(reason))))
    return out


def find_vm(board: Board, name: str) -> VmEntry:
    for entry in vm_list(board):
        if entry.name == name:
            return entry
    raise ConfigError(f"no VM named {name!r} on the board")


def board_dtb(board: Board) -> bytes:
    """The DTB the boot loader handed the stub: the base for every guest's DTB."""
    for r in board.info().protected:
        if r.name == "boot-dtb":
            return board.read(r.base, r.size)
    raise ConfigError("the stub got no DTB from its boot loader; give the VM a `dtb` file")


def create_vm(board: Board, config_path: str | Path, progress=None) -> tuple[int, VmConfig]:
    """Everything is validated and built on the host before the first request is sent."""
    info = board.info()
    existing = vm_list(board)
    config = load_vm_config(config_path, info.ram, info.protected, reserved=info.reserved,
                            gic_intids=info.gic_intids, pa_bits=info.pa_bits,
                            ipa_bits=info.ipa_bits)
    if any(e.name == config.name for e in existing):
        raise ConfigError(f"{config.path}: name: a VM called {config.name!r} exists already "
                          "(vm destroy it first)")
    vm = prepare_vm(config, lambda: board_dtb(board), f"the {info.board} board's DTB")
    layout = vm.layout
    pcpus = sum(c << (8 * i) for i, c in enumerate(config.pcpus))
    (vm_id,), _ = board.call(P.Command.VM_CREATE, config.vcpus, int(config.privileged),
                             config.console_irq, config.console_ipa, pcpus, layout.entry_ipa,
                             layout.dtb_ipa, vm.gic_dist, vm.gic_redist,
                             data=config.name.encode(), what=config.name)
    try:
        for region in config.memory:
            board.call(P.Command.VM_MAP, vm_id, 0, region.ipa, region.pa, region.size,
                       what=f"{config.name} memory {region.ipa:#x}")
        for p in config.passthrough:
            board.call(P.Command.VM_MAP, vm_id, 1, p.ipa, p.pa, p.size,
                       what=f"{config.name} passthrough {p.pa:#x}")
            for intid in p.irqs:
                board.call(P.Command.VM_IRQ, vm_id, intid, what=f"{config.name} interrupt {intid}")
        for what, ipa, data in vm.images():
            board.write(layout.pa(config, ipa), data, progress=progress if what != "dtb" else None)
    except BaseException:
        board.call(P.Command.VM_DESTROY, vm_id)
        raise
    return vm_id, config


def start_vm(board: Board, name: str) -> None:
    board.call(P.Command.VM_START, find_vm(board, name).id, what=name)


def stop_vm(board: Board, name: str) -> None:
    board.call(P.Command.VM_STOP, find_vm(board, name).id, what=name)


def destroy_vm(board: Board, name: str) -> None:
    board.call(P.Command.VM_DESTROY, find_vm(board, name).id, what=name)
