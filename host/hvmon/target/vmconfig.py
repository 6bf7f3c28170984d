"""VM configs (TOML): validated on the host, so nothing is sent when one is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import protocol as P
from ..errors import ConfigError
from ..tomlfile import read_toml

MIB2 = 2 << 20
PAGE = 4096
TOP_KEYS = {"name", "cpus", "memory", "kernel", "initrd", "dtb", "cmdline", "console", "gic",
            "passthrough", "privileged", "shared"}
# The virtual GICv3's frames (firmware vgic.h): a 64 KiB distributor, and a redistributor
# (RD_base + SGI_base, Arm IHI 0069 12.10) per vCPU.
GIC_DIST_SIZE = 0x10000
GIC_REDIST_FRAME = P.GICR_FRAME    # one redistributor per vCPU (protocol/hvmon.toml [limits])
DEFAULT_CMDLINE = "console=ttyAMA0 earlycon=pl011,0x09000000"
# What the stub's stage 2 reaches when the board has not said (INFO pa_bits / ipa_bits):
# PA bits [39:12] in a descriptor (VTCR_EL2.PS 40 bits), a 34-bit IPA (VTCR_EL2.T0SZ 30).
PA_BITS = 40
IPA_BITS = 34


@dataclass(frozen=True)
class Region:
    ipa: int
    size: int
    pa: int | None = None

    @property
    def end(self) -> int:
        return self.ipa + self.size


@dataclass(frozen=True)
class Passthrough:
    pa: int
    size: int
    ipa: int
    irqs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Shared:
    """IVC: RAM this VM shares with the one other VM whose config names it too. The host
    picks its PA (vms.py) when the first of them is created."""
    name: str
    size: int
    ipa: int
    doorbell_irq: int = 0             # the SPI this VM gets when its peer rings (0: none)


@dataclass(frozen=True)
class VmConfig:
    path: Path
    name: str
    vcpus: int
    pcpus: tuple[int, ...]            # physical core per vCPU, 0 = the stub picks
    memory: tuple[Region, ...]
    kernel: Path
    initrd: Path | None
    dtb: Path | None
    cmdline: str
    console_ipa: int = 0x09000000
    console_irq: int = 33
    passthrough: tuple[Passthrough, ...] = ()
    privileged: bool = False
    gic_dist: int | None = None       # IPA of the vGIC's distributor; None: where the DTB says
    gic_redist: int | None = None     # IPA of vCPU 0's redistributor frame
    shared: tuple[Shared, ...] = ()
    pa_taken: tuple[tuple[int, int], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Layout:
    kernel_ipa: int
    entry_ipa: int
    initrd_ipa: int
    initrd_end: int
    dtb_ipa: int

    def pa(self, config: VmConfig, ipa: int) -> int:
        for r in config.memory:
            if r.ipa <= ipa < r.end:
                return r.pa + (ipa - r.ipa)
        raise ConfigError(f"{config.path}: IPA {ipa:#x} is not in the VM's memory")


def _err(path: Path, key: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {why}")


def _int(path, key, value, minimum=0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _err(path, key, f"must be an integer >= {minimum}, not {value!r}")
    return value


def _table(path, key, value, allowed) -> dict:
    if not isinstance(value, dict):
        raise _err(path, key, "must be a table")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _err(path, f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return value


def _overlap(a0, a1, b0, b1) -> bool:
    return a0 < b1 and b0 < a1


@dataclass(frozen=True)
class BoardLimits:
    """What the board offers a VM, from Board.info(): ram and protected are Range lists,
    reserved the DTB's reservations (board.Reserved), taken the PA ranges (start, end)
    other VMs hold, gic_intids the INTIDs its GIC has. The defaults know no board: any
    RAM is taken as given, and any SPI GICv3 has (up to MAX_INTIDS) is allowed."""
    ram: tuple = ()
    protected: tuple = ()
    taken: tuple = ()
    reserved: tuple = ()
    gic_intids: int = P.MAX_INTIDS
    pa_bits: int = PA_BITS           # the address sizes the stub reports (INFO)
    ipa_bits: int = IPA_BITS


def load_vm_config(path: str | Path | Mapping, ram=(), protected=(), taken=(), reserved=(),
                   gic_intids: int = P.MAX_INTIDS, pa_bits: int = PA_BITS,
                   ipa_bits: int = IPA_BITS) -> VmConfig:
    """ram / protected / reserved / gic_intids: the board's, from Board.info(); taken: PA
    ranges (start, end) other VMs hold. Physical addresses left out are allocated here.
    A mapping instead of a path is a config built in Python (vm_config_from_dict)."""
    board = BoardLimits(tuple(ram), tuple(protected), tuple(taken), tuple(reserved), gic_intids,
                        pa_bits, ipa_bits)
    if isinstance(path, Mapping):
        return _from_dict(path, ".", board)
    path = Path(path)
    return _parse(path, read_toml(path), board)


def vm_config_from_dict(data: Mapping, base: str | Path = ".", ram=(), protected=(),
                        taken=(), reserved=(), gic_intids: int = P.MAX_INTIDS,
                        pa_bits: int = PA_BITS, ipa_bits: int = IPA_BITS) -> VmConfig:
    """The same keys and checks as a TOML file, from a dict (a test's VM written inline).
    Relative file paths are taken from `base`; errors name the config as `<dict NAME>`."""
    return _from_dict(data, base, BoardLimits(tuple(ram), tuple(protected), tuple(taken),
                                              tuple(reserved), gic_intids, pa_bits, ipa_bits))


def _from_dict(data: Mapping, base: str | Path, board: BoardLimits) -> VmConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"a VM config must be a dict of keys, not {type(data).__name__}")
    label = f"<dict {data.get('name', '?')}>"
    return _parse(Path(base).resolve() / label, dict(data), board)


def _spi(path: Path, key: str, value, board: BoardLimits) -> int:
    """An SPI INTID the board's GIC has (32 .. gic_intids - 1)."""
    intid = _int(path, key, value, 32)
    if intid >= board.gic_intids:
        whose = ("the board's GIC has" if board.gic_intids < P.MAX_INTIDS
                 else "GICv3 has")
        raise _err(path, key, f"INTID {intid} is not an SPI of this board: {whose} SPIs "
                   f"32..{board.gic_intids - 1}")
    return intid


def _parse(path: Path, data: dict, board: BoardLimits) -> VmConfig:
    ram, protected, taken = board.ram, board.protected, board.taken
    pa_bits, ipa_bits = board.pa_bits, board.ipa_bits
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise _err(path, unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("name", "memory", "kernel"):
        if key not in data:
            raise _err(path, key, "missing")
    name = data["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]{1,15}", name):
        raise _err(path, "name", "1-15 characters of a-z, 0-9 and '-'")

    cpus = data.get("cpus", 1)
    if isinstance(cpus, list):
        pcpus = tuple(_int(path, "cpus", c, 1) for c in cpus)
        if not pcpus or len(set(pcpus)) != len(pcpus):
            raise _err(path, "cpus", "a list of distinct physical cores (core 0 runs the stub)")
    else:
        pcpus = (0,) * _int(path, "cpus", cpus, 1)
    if len(pcpus) > P.MAX_VCPUS:
        raise _err(path, "cpus", f"at most {P.MAX_VCPUS} vCPUs")

    if not isinstance(data["memory"], list) or not data["memory"]:
        raise _err(path, "memory", "must be a list of {ipa, size, pa} tables")
    regions = []
    for i, entry in enumerate(data["memory"]):
        key = f"memory[{i}]"
        t = _table(path, key, entry, {"ipa", "size", "pa"})
        ipa, size = _int(path, f"{key}.ipa", t.get("ipa")), _int(path, f"{key}.size", t.get("size"), 1)
        pa = t.get("pa")
        for k, v in (("ipa", ipa), ("size", size)) + ((("pa", pa),) if pa is not None else ()):
            if _int(path, f"{key}.{k}", v) % MIB2:
                raise _err(path, f"{key}.{k}", f"{v:#x} is not 2 MiB aligned")
        regions.append(Region(ipa, size, pa))

    console = _table(path, "console", data.get("console", {}), {"kind", "ipa", "irq"})
    if console.get("kind", "pl011") != "pl011":
        raise _err(path, "console.kind", "only 'pl011' is emulated on this board")
    console_ipa = _int(path, "console.ipa", console.get("ipa", 0x09000000))
    console_irq = _spi(path, "console.irq", console.get("irq", 33), board)
    if console_ipa % PAGE:
        raise _err(path, "console.ipa", "must be 4 KiB aligned")

    gic = _table(path, "gic", data.get("gic", {}), {"distributor", "redistributor"})
    gic_dist = gic_redist = None
    if gic:
        for key in ("distributor", "redistributor"):
            if key not in gic:
                raise _err(path, f"gic.{key}", "missing (give both IPAs, or neither to use the DTB's)")
            if _int(path, f"gic.{key}", gic[key]) % GIC_DIST_SIZE:
                raise _err(path, f"gic.{key}", f"{gic[key]:#x} is not 64 KiB aligned")
        gic_dist, gic_redist = gic["distributor"], gic["redistributor"]

    passthrough = []
    for i, entry in enumerate(data.get("passthrough", [])):
        key = f"passthrough[{i}]"
        t = _table(path, key, entry, {"pa", "size", "ipa", "irqs"})
        pa, size = _int(path, f"{key}.pa", t.get("pa")), _int(path, f"{key}.size", t.get("size"), 1)
        ipa = _int(path, f"{key}.ipa", t.get("ipa", pa))
        if (pa | size | ipa) % PAGE:
            raise _err(path, key, "pa, size and ipa must be 4 KiB aligned")
        irqs = tuple(_spi(path, f"{key}.irqs", q, board) for q in t.get("irqs", []))
        for r in board.reserved:
            if r.enforced and _overlap(pa, pa + size, r.base, r.end):
                raise _err(path, f"{key}.pa", f"{pa:#x}+{size:#x} overlaps reserved memory {r}")
        passthrough.append(Passthrough(pa, size, ipa, irqs))
    if len(regions) + len(passthrough) > P.MAX_REGIONS:
        raise _err(path, "passthrough" if passthrough else "memory",
                   f"{len(regions)} memory and {len(passthrough)} passthrough regions: the stub "
                   f"maps at most {P.MAX_REGIONS} per VM")

    shared = _parse_shared(path, data.get("shared", []), console_irq, passthrough)

    # IPA space of the VM: inside its ipa_bits; regions, console and passthrough must not
    # overlap.
    spans = [(f"memory[{i}]", r.ipa, r.end) for i, r in enumerate(regions)]
    spans += [("console", console_ipa, console_ipa + PAGE)]
    spans += [(f"passthrough[{i}]", p.ipa, p.ipa + p.size) for i, p in enumerate(passthrough)]
    spans += [(f"shared[{i}]", sh.ipa, sh.ipa + sh.size) for i, sh in enumerate(shared)]
    if gic_dist is not None:
        spans += gic_spans(gic_dist, gic_redist, len(pcpus), "gic.distributor", "gic.redistributor")
    for key, start, end in spans:
        if end > 1 << ipa_bits:
            raise _err(path, f"{key}.ipa", f"{start:#x}+{end - start:#x} is beyond the VM's "
                       f"{ipa_bits}-bit guest-physical space")
    check_ipa_spans(path, spans)

    # Passthrough: device ranges inside the physical address range (a wider address would
    # alias low memory in a stage-2 descriptor), clear of RAM, the stub and each other.
    devices = []
    for i, p in enumerate(passthrough):
        key = f"passthrough[{i}].pa"
        if p.pa + p.size > 1 << pa_bits:
            raise _err(path, key, f"{p.pa:#x}+{p.size:#x} is beyond the board's {pa_bits}-bit "
                       "physical address range")
        for what, a, b in ([("the board's RAM", m.base, m.end) for m in ram]
                           + [(f"protected range {r.name}", r.base, r.end) for r in protected]
                           + devices):
            if _overlap(p.pa, p.pa + p.size, a, b):
                raise _err(path, key, f"{p.pa:#x}+{p.size:#x} overlaps {what}")
        devices.append((f"passthrough[{i}]", p.pa, p.pa + p.size))

    # Physical memory: inside board RAM, clear of the stub and of other VMs.
    blocked = [(r.base, r.end, f"protected range {r.name}") for r in protected]
    blocked += [(r.base, r.end, f"reserved memory {r}") for r in board.reserved if r.enforced]
    blocked += [(a, b, "another VM's memory") for a, b in taken]
    placed = []
    for i, r in enumerate(regions):
        key = f"memory[{i}].pa"
        if r.pa is None:
            r = Region(r.ipa, r.size, _allocate(path, key, r.size, ram, blocked + placed))
        if r.pa + r.size > 1 << pa_bits:
            raise _err(path, key, f"{r.pa:#x}+{r.size:#x} is beyond the board's {pa_bits}-bit "
                       "physical address range")
        if ram and not any(m.base <= r.pa and r.pa + r.size <= m.end for m in ram):
            raise _err(path, key, f"{r.pa:#x}+{r.size:#x} is not inside the board's RAM")
        for a, b, what in blocked + placed:
            if _overlap(r.pa, r.pa + r.size, a, b):
                raise _err(path, key, f"{r.pa:#x}+{r.size:#x} overlaps {what}")
        placed.append((r.pa, r.pa + r.size, f"memory[{i}]"))
        regions[i] = r

    base = path.parent

    def file_key(key):
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _err(path, key, "must be a path")
        p = (base / value).resolve()
        if not p.is_file():
            raise _err(path, key, f"no such file {p}")
        return p

    cmdline = data.get("cmdline", DEFAULT_CMDLINE)
    if not isinstance(cmdline, str):
        raise _err(path, "cmdline", "must be a string")
    privileged = data.get("privileged", False)
    if not isinstance(privileged, bool):
        raise _err(path, "privileged", "must be true or false")
    return VmConfig(path, name, len(pcpus), pcpus, tuple(regions), file_key("kernel"),
                    file_key("initrd"), file_key("dtb"), cmdline, console_ipa, console_irq,
                    tuple(passthrough), privileged, gic_dist, gic_redist, shared, tuple(taken))


def _parse_shared(path, entries, console_irq, passthrough) -> tuple[Shared, ...]:
    """[[shared]] name, size, ipa, doorbell_irq: the stub's own checks (ivc.c), made here
    first so that nothing is sent for a config it would refuse."""
    if not isinstance(entries, list):
        raise _err(path, "shared", "must be a list of {name, size, ipa, doorbell_irq} tables")
    out = []
    for i, entry in enumerate(entries):
        key = f"shared[{i}]"
        t = _table(path, key, entry, {"name", "size", "ipa", "doorbell_irq"})
        name = t.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]{1,15}", name):
            raise _err(path, f"{key}.name", "1-15 characters of a-z, 0-9 and '-'")
        if any(sh.name == name for sh in out):
            raise _err(path, f"{key}.name", f"share {name!r} is named twice")
        size = _int(path, f"{key}.size", t.get("size"), 1)
        ipa = _int(path, f"{key}.ipa", t.get("ipa"))
        if (size | ipa) % PAGE:
            raise _err(path, key, "size and ipa must be 4 KiB aligned")
        irq = t.get("doorbell_irq", 0)
        if irq != 0:
            irq = _int(path, f"{key}.doorbell_irq", irq, 32)
            if irq >= P.MAX_INTIDS:
                raise _err(path, f"{key}.doorbell_irq", f"must be an SPI INTID below {P.MAX_INTIDS}")
            if irq == console_irq:
                raise _err(path, f"{key}.doorbell_irq", f"{irq} is the console's interrupt")
            if any(irq in p.irqs for p in passthrough):
                raise _err(path, f"{key}.doorbell_irq", f"{irq} is a passthrough interrupt")
            if any(sh.doorbell_irq == irq for sh in out):
                raise _err(path, f"{key}.doorbell_irq", f"{irq} rings for another share already")
        out.append(Shared(name, size, ipa, irq))
    return tuple(out)


def gic_spans(dist: int, redist: int, vcpus: int, dist_name: str, redist_name: str):
    """The IPA ranges the vGIC takes: stage 2 leaves them unmapped, so accesses trap."""
    return [(dist_name, dist, dist + GIC_DIST_SIZE),
            (redist_name, redist, redist + vcpus * GIC_REDIST_FRAME)]


def check_ipa_spans(path, spans) -> None:
    """(key, start, end) ranges of a VM's IPA space must not overlap."""
    for a in range(len(spans)):
        for b in range(a + 1, len(spans)):
            if _overlap(spans[a][1], spans[a][2], spans[b][1], spans[b][2]):
                raise _err(path, spans[b][0], f"IPA range overlaps {spans[a][0]}")


def ipa_spans(config: VmConfig) -> list[tuple[str, int, int]]:
    """Every IPA range of a checked config but the vGIC's."""
    spans = [(f"memory[{i}]", r.ipa, r.end) for i, r in enumerate(config.memory)]
    spans += [("console", config.console_ipa, config.console_ipa + PAGE)]
    spans += [(f"passthrough[{i}]", p.ipa, p.ipa + p.size) for i, p in enumerate(config.passthrough)]
    spans += [(f"shared[{i}]", sh.ipa, sh.ipa + sh.size) for i, sh in enumerate(config.shared)]
    return spans


def _allocate(path, key, size, ram, blocked) -> int:
    """Highest free 2 MiB-aligned physical range of this size in board RAM."""
    for region in sorted(ram, key=lambda r: r.base, reverse=True):
        top = (region.end // MIB2) * MIB2
        while top - size >= region.base:
            start = top - size
            clash = [a for a, b, _ in blocked if _overlap(start, top, a, b)]
            if not clash:
                return start
            top = (min(clash) // MIB2) * MIB2
    raise _err(path, key, f"no free {size:#x} bytes of board RAM left")


def plan_layout(config: VmConfig, kernel, initrd_size: int, dtb_size: int = 2 << 20) -> Layout:
    """Kernel at the first region's 2 MiB-aligned base + text_offset (booting.rst), the
    initrd after its image_size, the DTB in the region's last 2 MiB."""
    first = config.memory[0]
    kernel_ipa = first.ipa + kernel.text_offset
    if kernel.load_address is not None:              # an ELF runs where it is linked
        kernel_ipa = kernel.load_address
        if not first.ipa <= kernel_ipa < first.end:
            raise _err(config.path, "kernel", f"linked for {kernel_ipa:#x}, outside memory[0] "
                       f"({first.ipa:#x}-{first.end - 1:#x})")
    kernel_end = kernel_ipa + kernel.image_size
    dtb_ipa = first.end - MIB2
    initrd_ipa = (kernel_end + MIB2 - 1) // MIB2 * MIB2
    initrd_end = initrd_ipa + initrd_size
    if kernel_end > dtb_ipa:
        raise _err(config.path, "memory[0].size",
                   f"the kernel needs {kernel.image_size:#x} bytes plus 2 MiB for the DTB, the "
                   f"region has {first.size:#x}")
    if initrd_end > dtb_ipa:
        raise _err(config.path, "initrd", f"{initrd_size} bytes do not fit between the kernel "
                   f"and the DTB in memory[0] ({first.size:#x} bytes)")
    if dtb_size > MIB2:
        raise _err(config.path, "dtb", "the DTB is larger than 2 MiB")
    return Layout(kernel_ipa, kernel_ipa + kernel.entry_offset, initrd_ipa, initrd_end, dtb_ipa)
