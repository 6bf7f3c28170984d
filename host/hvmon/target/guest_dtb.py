"""A guest's device tree, cut from the board's real DTB with libfdt: only the VM's memory,
CPUs and devices, PSCI by HVC, and /chosen for its kernel, initrd and console."""

from __future__ import annotations

import struct

import libfdt

from .. import protocol as P
from ..errors import ConfigError
from .vmconfig import Layout, VmConfig

GICR_FRAME = P.GICR_FRAME      # one redistributor per vCPU
KEEP_COMPATIBLE = ("arm,gic-v3", "arm,armv8-timer", "arm,armv7-timer", "fixed-clock")


def _cells(values: list[int], cells: int) -> bytes:
    out = b""
    for v in values:
        out += struct.pack(">Q", v)[-4 * cells:] if cells in (1, 2) else b""
    return out


def _compatible(fdt: libfdt.Fdt, node: int) -> list[str]:
    try:
        raw = fdt.getprop(node, "compatible")
    except libfdt.FdtException:
        return []
    return [c.decode() for c in bytes(raw).split(b"\0") if c]


def _reg_base(fdt: libfdt.Fdt, node: int, addr_cells: int) -> int | None:
    try:
        reg = bytes(fdt.getprop(node, "reg"))
    except libfdt.FdtException:
        return None
    return int.from_bytes(reg[:4 * addr_cells], "big") if len(reg) >= 4 * addr_cells else None


def build_guest_dtb(base: bytes, vm: VmConfig, layout: Layout, initrd_size: int) -> bytes:
    try:
        fdt = libfdt.Fdt(bytes(base) + bytes(64 * 1024))
        fdt.resize(len(base) + 64 * 1024)
    except libfdt.FdtException as exc:
        raise ConfigError(f"board DTB: {exc}") from None
    root = 0
    addr_cells = fdt.getprop(root, "#address-cells").as_uint32()
    size_cells = fdt.getprop(root, "#size-cells").as_uint32()
    passthrough = {p.pa for p in vm.passthrough}

    # Top-level nodes: keep what the VM owns or needs, drop every other device.
    console_path = None
    offset = fdt.first_subnode(root)
    while True:
        name = fdt.get_name(offset)
        compat = _compatible(fdt, offset)
        base_addr = _reg_base(fdt, offset, addr_cells)
        keep = (name in ("cpus", "chosen", "aliases") or any(c in KEEP_COMPATIBLE for c in compat)
                or base_addr in passthrough)
        if "arm,pl011" in compat and base_addr == vm.console_ipa:
            keep, console_path = True, "/" + name
        if name.startswith("memory") or name == "psci" or not keep:
            fdt.del_node(offset)
            try:
                offset = fdt.first_subnode(root)   # offsets moved: start again
            except libfdt.FdtException:
                break
            continue
        try:
            offset = fdt.next_subnode(offset)
        except libfdt.FdtException:
            break
    if console_path is None:
        raise ConfigError(f"{vm.path}: console: the board DTB has no arm,pl011 at {vm.console_ipa:#x} "
                          "to describe the emulated console")

    # Memory: exactly the VM's regions, as IPAs.
    for i, region in enumerate(vm.memory):
        node = fdt.add_subnode(root, f"memory@{region.ipa:x}")
        fdt.setprop_str(node, "device_type", "memory")
        fdt.setprop(node, "reg", _cells([region.ipa], addr_cells) + _cells([region.size], size_cells))

    # PSCI by HVC: the stub answers it.
    psci = fdt.add_subnode(root, "psci")
    fdt.setprop(psci, "compatible", b"arm,psci-0.2\0")
    fdt.setprop_str(psci, "method", "hvc")

    # CPUs: vCPU n has MPIDR n.
    cpus = fdt.path_offset("/cpus")
    cpu_cells = fdt.getprop(cpus, "#address-cells").as_uint32()
    kept = 0
    node = fdt.first_subnode(cpus)
    while True:
        name = fdt.get_name(node)
        if name.startswith("cpu@") and kept < vm.vcpus:
            fdt.setprop(node, "reg", _cells([kept], cpu_cells))
            fdt.setprop_str(node, "enable-method", "psci")
            fdt.set_name(node, f"cpu@{kept}")
            kept += 1
        elif name.startswith("cpu@") or name == "cpu-map":
            fdt.del_node(node)
            node = fdt.first_subnode(cpus)
            kept = 0
            continue
        try:
            node = fdt.next_subnode(node)
        except libfdt.FdtException:
            break
    if kept < vm.vcpus:
        raise ConfigError(f"{vm.path}: cpus: the board DTB describes only {kept} CPUs")

    # The GIC: one redistributor frame per vCPU.
    gic = None
    for path in ("/intc", "/interrupt-controller"):
        pass
    offset = fdt.first_subnode(root)
    while True:
        if "arm,gic-v3" in _compatible(fdt, offset):
            gic = offset
            break
        try:
            offset = fdt.next_subnode(offset)
        except libfdt.FdtException:
            break
    if gic is None:
        raise ConfigError("board DTB: no arm,gic-v3 interrupt controller")
    reg = bytes(fdt.getprop(gic, "reg"))
    entry = 4 * (addr_cells + size_cells)
    dist, redist = reg[:entry], reg[entry:2 * entry]
    redist = redist[:4 * addr_cells] + _cells([vm.vcpus * GICR_FRAME], size_cells)
    fdt.setprop(gic, "reg", dist + redist)
    for prop in ("#redistributor-regions", "redistributor-stride"):
        if fdt.hasprop(gic, prop):
            fdt.delprop(gic, prop)
    # Nothing is behind the GIC's ITS for a guest.
    sub = None
    try:
        sub = fdt.first_subnode(gic)
    except libfdt.FdtException:
        pass
    while sub is not None:
        fdt.del_node(sub)
        try:
            sub = fdt.first_subnode(gic)
        except libfdt.FdtException:
            sub = None

    # The console's interrupt: SPI (irq - 32), level high.
    console = fdt.path_offset(console_path)
    fdt.setprop(console, "interrupts", struct.pack(">III", 0, vm.console_irq - 32, 4))

    chosen = fdt.path_offset("/chosen")
    for prop in ("linux,initrd-start", "linux,initrd-end", "kaslr-seed", "rng-seed", "bootargs"):
        if fdt.hasprop(chosen, prop):
            fdt.delprop(chosen, prop)
    fdt.setprop_str(chosen, "bootargs", vm.cmdline)
    fdt.setprop_str(chosen, "stdout-path", console_path)
    if initrd_size:
        fdt.setprop_u64(chosen, "linux,initrd-start", layout.initrd_ipa)
        fdt.setprop_u64(chosen, "linux,initrd-end", layout.initrd_end)
    fdt.pack()
    return bytes(fdt.as_bytearray())
