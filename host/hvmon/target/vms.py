"""VMs on the board: validate a config, push kernel, initrd and DTB, create and start."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from .. import protocol as P
from ..errors import ConfigError
from .board import Board
from .vm_prepare import prepare_vm
from .vmconfig import VmConfig, _allocate, load_vm_config

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
class VmRegion:
    """One mapping of a VM, as the stub holds it (VM_REGIONS)."""
    vm: int
    kind: str                     # "ram", "device" or "shared"
    ipa: int
    pa: int
    size: int
    doorbell_irq: int = 0         # shared: the SPI this VM gets when its peer rings
    share: str = ""               # shared: the share's name

    @property
    def end(self) -> int:
        return self.pa + self.size


REGION_KINDS = {0: "ram", 1: "device", 2: "shared"}


def vm_regions(board: Board) -> list[VmRegion]:
    (count,), data = board.call(P.Command.VM_REGIONS)
    out = []
    for i in range(count):
        vm, kind, ipa, pa, size, irq, _, name = struct.unpack_from("<IIQQQII16s", data, 56 * i)
        out.append(VmRegion(vm, REGION_KINDS.get(kind, str(kind)), ipa, pa, size, irq,
                            name.rstrip(b"\0").decode(errors="replace")))
    return out


def share_pas(config: VmConfig, regions: list[VmRegion], ram, protected) -> list[int]:
    """The PA of each of config's shares: the one its other VM maps it at, or else the
    highest free range of board RAM (clear of the stub, of every VM's memory and of this
    config's own)."""
    blocked = [(r.base, r.end, f"protected range {r.name}") for r in protected]
    blocked += [(r.pa, r.end, f"VM {r.vm}'s memory") for r in regions if r.kind != "device"]
    blocked += [(m.pa, m.pa + m.size, f"memory[{i}]") for i, m in enumerate(config.memory)]
    pas = []
    for i, sh in enumerate(config.shared):
        key = f"shared[{i}]"
        peers = [r for r in regions if r.kind == "shared" and r.share == sh.name]
        if peers:
            if peers[0].size != sh.size:
                raise ConfigError(f"{config.path}: {key}.size: share {sh.name!r} is "
                                  f"{peers[0].size:#x} bytes in VM {peers[0].vm}, not {sh.size:#x}")
            if len({r.vm for r in peers}) >= 2:
                raise ConfigError(f"{config.path}: {key}.name: share {sh.name!r} joins two VMs already")
            pas.append(peers[0].pa)
            continue
        pa = _allocate(config.path, key, sh.size, ram, blocked)
        blocked.append((pa, pa + sh.size, key))
        pas.append(pa)
    return pas


@dataclass(frozen=True)
class ShareInfo:
    """One shared region of a VM, with who is at its other end (`vm info`)."""
    name: str
    ipa: int
    pa: int
    size: int
    doorbell_irq: int             # this VM's: raised when the peer rings
    peer: str                     # the other VM's name, "" while it has none
    peer_doorbell_irq: int        # the peer's: raised when this VM rings


def vm_shares(board: Board, vm_id: int) -> list[ShareInfo]:
    regions = [r for r in vm_regions(board) if r.kind == "shared"]
    names = {e.id: e.name for e in vm_list(board)}
    out = []
    for r in regions:
        if r.vm != vm_id:
            continue
        peer = next((p for p in regions if p.share == r.share and p.vm != vm_id), None)
        out.append(ShareInfo(r.share, r.ipa, r.pa, r.size, r.doorbell_irq,
                             names.get(peer.vm, str(peer.vm)) if peer else "",
                             peer.doorbell_irq if peer else 0))
    return out


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
    regions = vm_regions(board) if config.shared else []
    pas = share_pas(config, regions, info.ram, info.protected)
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
        for sh, pa in zip(config.shared, pas):
            board.call(P.Command.VM_SHARE, vm_id, sh.doorbell_irq, sh.ipa, pa, sh.size,
                       data=sh.name.encode(), what=f"{config.name} share {sh.name}")
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


# Snapshots in board RAM (VM_SNAPSHOT, VM_RESTORE, VM_SNAPSHOT_DROP, VM_SNAPSHOTS).
DEFAULT_TAG = "default"
TAG = re.compile(rf"[A-Za-z0-9._-]{{1,{P.SNAPSHOT_TAG}}}")


@dataclass(frozen=True)
class Snapshot:
    vm: int
    tag: str
    seq: int                      # higher: taken later
    pa: int                       # where the stub keeps it: state record, then the RAM
    size: int
    ram: int                      # bytes of guest RAM in it


@dataclass(frozen=True)
class SnapshotTaken:
    snapshot: Snapshot
    paused_us: int                # how long the guest stood still


def check_tag(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise ConfigError(f"snapshot tag {tag!r}: 1..{P.SNAPSHOT_TAG} letters, digits, '.', '_' or '-'")
    return tag


def vm_snapshots(board: Board) -> list[Snapshot]:
    (count,), data = board.call(P.Command.VM_SNAPSHOTS)
    out = []
    for i in range(count):
        vm, seq, pa, size, ram, tag = struct.unpack_from("<IIQQQ16s", data, 48 * i)
        out.append(Snapshot(vm, tag.rstrip(b"\0").decode(errors="replace"), seq, pa, size, ram))
    return sorted(out, key=lambda s: s.seq)


def snapshot_vm(board: Board, name: str, tag: str = DEFAULT_TAG) -> SnapshotTaken:
    """Pause the VM, copy its state and RAM into board RAM the stub picks, let it go on.
    A snapshot of the same VM with the same tag is overwritten."""
    vm = find_vm(board, name)
    (pa, size, paused_us), _ = board.call(P.Command.VM_SNAPSHOT, vm.id, data=check_tag(tag).encode(),
                                          what=f"{name} snapshot {tag}")
    board.info(refresh=True)      # the snapshot's memory is a protected range now
    taken = next(s for s in vm_snapshots(board) if s.vm == vm.id and s.tag == tag)
    return SnapshotTaken(taken, paused_us)


def restore_vm(board: Board, name: str, tag: str | None = None) -> tuple[str, int]:
    """Put the VM back as snapshot `tag` (default: its newest) holds it; returns the tag and
    the microseconds the guest stood still."""
    vm = find_vm(board, name)
    if tag is None:
        mine = [s for s in vm_snapshots(board) if s.vm == vm.id]
        if not mine:
            raise ConfigError(f"VM {name!r} has no snapshot (vm snapshot {name} takes one)")
        tag = mine[-1].tag
    (paused_us,), _ = board.call(P.Command.VM_RESTORE, vm.id, data=check_tag(tag).encode(),
                                 what=f"{name} restore {tag}")
    return tag, paused_us


def drop_snapshot(board: Board, name: str, tag: str) -> None:
    vm = find_vm(board, name)
    board.call(P.Command.VM_SNAPSHOT_DROP, vm.id, data=check_tag(tag).encode(),
               what=f"{name} drop {tag}")
    board.info(refresh=True)
