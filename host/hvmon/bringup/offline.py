"""A board as far as the host can know it without a line: the DTB its boot loader would
hand the stub, its RAM, and the stub's own image. `vm check` and `up --dry-run` check VM
configs and cut guest DTBs against it.

For a QEMU profile without a DTB file the board's DTB is QEMU's own (`-M ...,dumpdtb=F`
with the profile's machine, CPU, memory and CPU count): on that board U-Boot passes QEMU's
DTB on to the stub (`booti ... $fdtcontroladdr`), so it is the DTB the stub would read back,
made fresh for the options given, where a stored copy would go stale with QEMU or -smp/-m."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..target.board import Range
from ..target.fdt_tree import Tree
from ..target.vm_prepare import PreparedVm, prepare_vm
from ..target.vmconfig import load_vm_config
from .board_profile import BoardProfile
from .qemu import QEMU_BINARY

DUMP_SECONDS = 30


@dataclass(frozen=True)
class OfflineBoard:
    profile: BoardProfile
    dtb: bytes
    dtb_source: str
    ram: tuple[Range, ...]
    protected: tuple[Range, ...]


def qemu_dtb(profile: BoardProfile, memory: str | None = None, smp: int | None = None) -> bytes:
    """The DTB QEMU builds for this profile's board (no firmware runs, no network)."""
    q = profile.qemu
    if q is None:
        raise ConfigError(f"{profile.path}: board {profile.name} has no [qemu] section, so "
                          "no DTB to ask QEMU for: give --board-dtb FILE")
    with tempfile.TemporaryDirectory(prefix="hvmon-dtb-") as tmp:
        out = Path(tmp) / "board.dtb"
        cmd = ["timeout", "-k", "5", str(DUMP_SECONDS), QEMU_BINARY, "-M", f"{q.machine},dumpdtb={out}",
               "-cpu", q.cpu, "-m", memory or q.memory, "-smp", str(smp or q.smp),
               "-nic", "none", "-nographic", "-monitor", "none", "-serial", "none"]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=DUMP_SECONDS + 10)
        except FileNotFoundError:
            raise ConfigError(f"{QEMU_BINARY} not found: run `make setup`, or give --board-dtb FILE") from None
        if not out.is_file():
            raise ConfigError(f"{QEMU_BINARY} made no DTB for {profile.name}: "
                              f"{(run.stderr.strip().splitlines() or ['no output'])[-1]}")
        return out.read_bytes()


def _ram(tree: Tree, profile: BoardProfile) -> tuple[Range, ...]:
    """/memory nodes, as the stub reads them (firmware lib/fdt.c); the profile's fallback
    RAM when there are none, as the stub does too."""
    cells = (tree.u32("/", "#address-cells", 2), tree.u32("/", "#size-cells", 1))
    ram = []
    for path in tree.children("/"):
        name = path[1:]
        if name == "memory" or name.startswith("memory@"):
            ram += [Range(base, size, "ram") for base, size in tree.reg(path, *cells) if size]
    if not ram and "ram_base" in profile.firmware:
        ram = [Range(profile.firmware["ram_base"], profile.firmware["ram_size"], "ram")]
    return tuple(ram)


def _stub_range(profile: BoardProfile) -> tuple[Range, ...]:
    """The stub's image, bss and stacks included (its ELF's loadable segments), as the
    stub protects it. Without a build, only what the profile says: the load address."""
    elf = profile.image("elf")
    if not elf.is_file():
        return ()
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        segments = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
        if not segments:
            return ()
        start = min(s["p_paddr"] for s in segments)
        end = max(s["p_paddr"] + s["p_memsz"] for s in segments)
    return (Range(start, end - start, "stub"),)


def offline_board(profile: BoardProfile, board_dtb: str | Path | None = None,
                  memory: str | None = None, smp: int | None = None) -> OfflineBoard:
    if board_dtb is not None:
        path = Path(board_dtb)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--board-dtb {path}: {exc.strerror}") from None
        source = str(path)
    else:
        blob = qemu_dtb(profile, memory, smp)
        source = f"QEMU's DTB for {profile.name}"
    tree = Tree(blob, source)
    return OfflineBoard(profile, blob, source, _ram(tree, profile), _stub_range(profile))


def check_vm(config_path: str | Path, board: OfflineBoard) -> PreparedVm:
    """What `vm create` would build for this board, every check included."""
    config = load_vm_config(config_path, board.ram, board.protected)
    return prepare_vm(config, lambda: board.dtb, board.dtb_source)


def dtc_warnings(blob: bytes) -> list[str] | None:
    """What `dtc -I dtb -O dts` warns about this DTB; None when dtc is not installed."""
    try:
        run = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", "-o", "/dev/null", "-"], input=blob,
                             capture_output=True, timeout=30)
    except FileNotFoundError:
        return None
    lines = run.stderr.decode(errors="replace").splitlines()
    return [line for line in lines if line.strip()] or ([] if run.returncode == 0 else ["dtc failed"])
