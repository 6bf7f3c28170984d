"""A guest's device tree, cut from the board's real DTB with libfdt.

Kept from the board: the root's identity (model, compatible), the GICv3 node (its frames
moved to the vGIC's IPAs, one redistributor per vCPU, ITS and MBI gone: the vGIC has
neither), the architected timer, the CPU nodes of the cores the vCPUs are pinned to
(dtb_cpus), the VM's passthrough devices, and the fixed clocks those reference. Made for
the guest: its memory (from the config), PSCI by HVC (the stub answers it), /chosen (its
kernel command line, initrd and console) and, when the board has no PL011 at the console's
IPA (an RK3588's UART2 is a DW 16550), the emulated console's PL011 node. Whatever then
points at a node that is gone is dropped (dtb_refs), so `dtc` reads the result back
without a warning."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import ConfigError
from .dtb_cpus import keep_cpus
from .dtb_refs import drop_dangling
from .fdt_tree import Tree, split
from .vmconfig import (GIC_DIST_SIZE, GIC_REDIST_FRAME, Layout, VmConfig, check_ipa_spans,
                       gic_spans, ipa_spans)

GIC = "arm,gic-v3"
TIMERS = ("arm,armv8-timer", "arm,armv7-timer")
PL011 = "arm,pl011"
# GIC interrupt specifier (Linux Documentation/devicetree/bindings/interrupt-controller/
# arm,gic-v3.yaml): type 0 = SPI, number = INTID - 32, flags 4 = level high.
GIC_SPI, LEVEL_HIGH = 0, 4
# The emulated PL011's clock: the amba bus needs an apb_pclk to read the peripheral ID
# (Linux drivers/amba/bus.c); 24 MHz as QEMU's virt board gives its PL011.
PL011_CLOCK_HZ = 24_000_000
# The GIC node's own properties that describe the board's ITS and MBI, which the vGIC lacks.
GIC_DROP = ("mbi-alias", "mbi-ranges", "msi-controller", "#msi-cells", "#redistributor-regions",
            "redistributor-stride", "ranges")


@dataclass(frozen=True)
class GuestDtb:
    blob: bytes
    gic_dist: int                  # IPAs the vGIC must answer at (VM_CREATE)
    gic_redist: int
    console: str                   # the console node's path
    cpus_from: tuple[str, ...]     # the board's CPU nodes the guest's were made from
    dropped: tuple[tuple[str, str], ...] = ()   # (node, property) references cut loose


def build_guest_dtb(base: bytes, vm: VmConfig, layout: Layout, initrd_size: int) -> bytes:
    return cut_guest_dtb(base, vm, layout, initrd_size).blob


def cut_guest_dtb(base: bytes, vm: VmConfig, layout: Layout, initrd_size: int,
                  boot_mpidr: int | None = None, source: str = "board DTB") -> GuestDtb:
    tree = Tree(base, source)
    addr_cells = tree.u32("/", "#address-cells", 2)
    size_cells = tree.u32("/", "#size-cells", 1)

    gic = _top_level(tree, GIC)
    if gic is None:
        raise ConfigError(f"{source}: no {GIC} interrupt controller at the top level")
    gic_dist, gic_redist = _gic_ipas(tree, gic, vm, addr_cells, size_cells)
    console = _board_console(tree, vm, addr_cells, size_cells)
    cpus_from = keep_cpus(tree, vm, boot_mpidr)

    keep = {"/cpus", "/chosen", "/aliases", gic}
    keep |= {p for p in tree.children("/") if set(tree.compatible(p)) & set(TIMERS)}
    if console:
        keep.add(console)
    keep |= _passthrough_nodes(tree, vm, addr_cells, size_cells)
    keep |= _fixed_clocks_used(tree, keep)
    for path in tree.children("/"):
        if path not in keep:
            tree.delete(path)
    for path in ("/chosen", "/aliases"):
        if not tree.exists(path):
            tree.add("/", path[1:])

    gic = _shape_gic(tree, gic, vm, gic_dist, gic_redist, addr_cells, size_cells)
    gic_phandle = tree.phandle(gic)
    if gic_phandle is None:
        gic_phandle = tree.new_phandle()
        tree.set_cells(gic, "phandle", [gic_phandle])
    if console is None:
        console = _add_pl011(tree, vm, gic_phandle, addr_cells, size_cells)
    tree.set_cells(console, "interrupts", _spi(tree, gic, vm.console_irq))
    tree.set_cells(console, "interrupt-parent", [gic_phandle])
    tree.delete_prop(console, "status")

    for region in vm.memory:
        node = tree.add("/", f"memory@{region.ipa:x}")
        tree.set_str(node, "device_type", "memory")
        tree.set_cells(node, "reg", split(region.ipa, addr_cells) + split(region.size, size_cells))
    psci = tree.add("/", "psci")
    tree.set_strings(psci, "compatible", ["arm,psci-0.2"])
    tree.set_str(psci, "method", "hvc")

    _chosen(tree, vm, layout, initrd_size, console)
    dropped = drop_dangling(tree)
    return GuestDtb(tree.blob(), gic_dist, gic_redist, console, tuple(cpus_from), tuple(dropped))


def gic_of(blob: bytes, source: str) -> tuple[int, int] | None:
    """(distributor, redistributor) of a DTB's GICv3 node, for a VM given its own DTB."""
    tree = Tree(blob, source)
    gic = _top_level(tree, GIC)
    if gic is None:
        return None
    reg = tree.reg(gic, tree.u32("/", "#address-cells", 2), tree.u32("/", "#size-cells", 1))
    if len(reg) < 2:
        raise ConfigError(f"{source}: {gic}: reg needs the distributor and redistributor frames")
    return reg[0][0], reg[1][0]


# --- pieces ------------------------------------------------------------------------------------

def _top_level(tree: Tree, compatible: str) -> str | None:
    for path in tree.children("/"):
        if compatible in tree.compatible(path):
            return path
    return None


def _base(tree: Tree, path: str, addr_cells: int, size_cells: int) -> int | None:
    reg = tree.reg(path, addr_cells, size_cells)
    return reg[0][0] if reg else None


def _gic_ipas(tree, gic, vm, addr_cells, size_cells) -> tuple[int, int]:
    """The config's vGIC IPAs, else the board DTB's own GIC frames: either way the guest
    DTB and the stub agree, because the host sends these to VM_CREATE."""
    if vm.gic_dist is not None:
        return vm.gic_dist, vm.gic_redist
    reg = tree.reg(gic, addr_cells, size_cells)
    if len(reg) < 2:
        raise ConfigError(f"{tree.name}: {gic}: reg needs the distributor and redistributor frames")
    dist, redist = reg[0][0], reg[1][0]
    for what, ipa in (("distributor", dist), ("redistributor", redist)):
        if ipa % GIC_DIST_SIZE:
            raise ConfigError(f"{tree.name}: {gic}: the {what} at {ipa:#x} is not 64 KiB aligned")
    spans = ipa_spans(vm) + gic_spans(dist, redist, vm.vcpus, f"the GIC distributor of {tree.name}",
                                      f"the GIC redistributors of {tree.name}")
    check_ipa_spans(vm.path, spans)
    return dist, redist


def _board_console(tree, vm, addr_cells, size_cells) -> str | None:
    """The board's own PL011 at the console's IPA (QEMU's virt board has one), if any."""
    for path in tree.children("/"):
        if PL011 in tree.compatible(path) and _base(tree, path, addr_cells, size_cells) == vm.console_ipa:
            return path
    return None


def _passthrough_nodes(tree, vm, addr_cells, size_cells) -> set[str]:
    """Top-level nodes at a passthrough range's physical address, moved to its IPA."""
    kept = set()
    for p in vm.passthrough:
        for path in tree.children("/"):
            reg = tree.reg(path, addr_cells, size_cells)
            if reg and reg[0][0] == p.pa:
                if p.ipa != p.pa:
                    words = tree.cells(path, "reg")
                    tree.set_cells(path, "reg", split(p.ipa, addr_cells) + words[addr_cells:])
                kept.add(path)
    return kept


def _fixed_clocks_used(tree, keep: set[str]) -> set[str]:
    """Fixed-rate clocks a kept node names in `clocks`: self-contained, so they may stay.
    Every other clock provider (a clock controller) stays behind; references to it go."""
    fixed = {tree.phandle(p): p for p in tree.children("/")
             if "fixed-clock" in tree.compatible(p) and tree.phandle(p)}
    used = set()
    for top in keep:
        if not tree.exists(top):
            continue
        for path in tree.walk(top):
            for phandle in tree.cells(path, "clocks"):
                if phandle in fixed:
                    used.add(fixed[phandle])
    return used


def _shape_gic(tree, gic, vm, dist, redist, addr_cells, size_cells) -> str:
    for child in tree.children(gic):
        tree.delete(child)                       # ITS frames, PPI partitions
    for prop in GIC_DROP:
        tree.delete_prop(gic, prop)
    tree.set_cells(gic, "reg", split(dist, addr_cells) + split(GIC_DIST_SIZE, size_cells)
                   + split(redist, addr_cells) + split(vm.vcpus * GIC_REDIST_FRAME, size_cells))
    name = f"{gic.rsplit('/', 1)[1].split('@')[0]}@{dist:x}"
    return tree.rename(gic, name) if gic != f"/{name}" else gic


def _spi(tree, gic, intid: int) -> list[int]:
    """An SPI's specifier in the GIC's own format: the RK3588's GIC has #interrupt-cells
    = 4 (the fourth a PPI partition, 0 for an SPI), QEMU's has 3."""
    cells = tree.u32(gic, "#interrupt-cells", 3)
    if cells < 3:
        raise ConfigError(f"{tree.name}: {gic}: #interrupt-cells is {cells}, a GICv3 needs 3 or more")
    return [GIC_SPI, intid - 32, LEVEL_HIGH] + [0] * (cells - 3)


def _add_pl011(tree, vm, gic_phandle, addr_cells, size_cells) -> str:
    """The emulated console: a PL011 (Linux Documentation/devicetree/bindings/serial/
    pl011.yaml; arm,primecell puts it on the amba bus) and its fixed 24 MHz clock."""
    clock = tree.add("/", "clock-uart")
    clock_phandle = tree.new_phandle()
    tree.set_strings(clock, "compatible", ["fixed-clock"])
    tree.set_cells(clock, "#clock-cells", [0])
    tree.set_cells(clock, "clock-frequency", [PL011_CLOCK_HZ])
    tree.set_str(clock, "clock-output-names", "uartclk")
    tree.set_cells(clock, "phandle", [clock_phandle])
    node = tree.add("/", f"serial@{vm.console_ipa:x}")
    tree.set_strings(node, "compatible", [PL011, "arm,primecell"])
    tree.set_cells(node, "reg", split(vm.console_ipa, addr_cells) + split(0x1000, size_cells))
    tree.set_cells(node, "clocks", [clock_phandle, clock_phandle])
    tree.set_strings(node, "clock-names", ["uartclk", "apb_pclk"])
    return node


def _chosen(tree, vm, layout, initrd_size, console) -> None:
    for prop in ("linux,initrd-start", "linux,initrd-end", "kaslr-seed", "rng-seed", "bootargs",
                 "stdout-path", "linux,stdout-path"):
        tree.delete_prop("/chosen", prop)
    tree.set_str("/chosen", "bootargs", vm.cmdline)
    tree.set_str("/chosen", "stdout-path", console)
    if initrd_size:
        tree.set("/chosen", "linux,initrd-start", struct.pack(">Q", layout.initrd_ipa))
        tree.set("/chosen", "linux,initrd-end", struct.pack(">Q", layout.initrd_end))
    # The PL011 driver numbers its ports by `serialN` aliases (Linux drivers/tty/serial/
    # amba-pl011.c, pl011_probe_dt_alias): the console is serial0, so it is ttyAMA0.
    for name in list(tree.props("/aliases")):
        target = tree.strings("/aliases", name)
        if name.startswith("serial") or (target and target[0] == console):
            tree.delete_prop("/aliases", name)
    tree.set_str("/aliases", "serial0", console)
