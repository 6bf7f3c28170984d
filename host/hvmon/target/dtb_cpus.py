"""The guest's /cpus: the CPU nodes of the physical cores its vCPUs are pinned to,
renumbered as the guest sees them.

Physical core numbers are the stub's (firmware memmap.c, cpus_init): core 0 is the boot
core, then every other `cpu@` node under /cpus in tree order. The guest reads MPIDR_EL1 =
VMPIDR_EL2 = vCPU index in Aff0 (firmware vcpu.c, setup_el2), so vCPU k's node gets
`reg = <k>` (Devicetree Specification v0.4, 3.8.1: a CPU's reg is its MPIDR affinity
bits) and is named cpu@k.

Only what describes the core itself is kept. Clocks, supplies, OPP tables, idle states
(CPU_SUSPEND, which the stub does not offer), cooling and the cache hierarchy all refer to
nodes a guest does not get; without cache nodes Linux reads the cache geometry from
CLIDR_EL1/CCSIDR_EL1 (arch/arm64/kernel/cacheinfo.c)."""

from __future__ import annotations

from ..errors import ConfigError
from .fdt_tree import Tree
from .vmconfig import VmConfig

KEEP_PROPS = ("device_type", "compatible", "capacity-dmips-mhz", "phandle")


def physical_cores(tree: Tree, boot_mpidr: int | None = None) -> list[str]:
    """CPU node paths in the stub's numbering. Without the boot core's MPIDR (offline)
    the first node is taken to be the boot core, as on QEMU's virt board and the RK3588
    (BL31 starts the boot loader on cpu@0, which hands the stub that core)."""
    nodes = [p for p in tree.children("/cpus") if p.rsplit("/", 1)[1].startswith("cpu@")]
    if not nodes:
        raise ConfigError(f"{tree.name}: /cpus has no cpu@ nodes")
    if boot_mpidr is None:
        return nodes
    cells = tree.u32("/cpus", "#address-cells", 1)
    mpidrs = {p: (tree.reg(p, cells, 0) or [(None, 0)])[0][0] for p in nodes}
    boot = [p for p in nodes if mpidrs[p] == boot_mpidr]
    return boot + [p for p in nodes if p not in boot]


def pinned_cores(vm: VmConfig, count: int) -> list[int]:
    """The physical core of each vCPU. A config that gives a count lets the stub pick:
    it takes the lowest free cores from 1 up (firmware vm.c, vm_create), which on a board
    running no other VM are 1..N."""
    if all(c == 0 for c in vm.pcpus):
        picked = list(range(1, vm.vcpus + 1))
    else:
        picked = list(vm.pcpus)
    for core in picked:
        if core >= count:
            raise ConfigError(f"{vm.path}: cpus: core {core} is not in the board DTB (it "
                              f"describes cores 0-{count - 1}; core 0 runs the stub)")
    return picked


def keep_cpus(tree: Tree, vm: VmConfig, boot_mpidr: int | None = None) -> list[str]:
    """Rebuild /cpus with one node per vCPU, in vCPU order; returns the board nodes used."""
    cores = physical_cores(tree, boot_mpidr)
    sources = [cores[c] for c in pinned_cores(vm, len(cores))]
    kept = [{k: v for k, v in tree.props(p).items() if k in KEEP_PROPS} for p in sources]
    for child in tree.children("/cpus"):
        tree.delete(child)                      # cpu-map, idle-states, caches, other cores
    tree.set_cells("/cpus", "#address-cells", [1])
    tree.set_cells("/cpus", "#size-cells", [0])
    # libfdt puts a new node before its parent's first subnode: add the last vCPU first.
    for index, props in reversed(list(enumerate(kept))):
        node = tree.add("/cpus", f"cpu@{index:x}")
        for name, value in props.items():
            tree.set(node, name, value)
        tree.set_cells(node, "reg", [index])
        tree.set_str(node, "enable-method", "psci")
    return sources
