"""Phandle references in a device tree: which properties hold them, which point nowhere.

A guest's DTB keeps a few nodes of a board's tree; the rest (clock and power controllers,
regulators, pin controllers, DMA engines, OPP tables, thermal zones) is gone, so the kept
nodes' references to them would dangle. Linux then defers or fails the probe of the
referring device, and dtc warns. Each dangling property is dropped here, with the names
that go with it (`clock-names` with `clocks`).

Which properties hold phandles, and the `#...-cells` property that sizes each entry's
specifier, follow the Devicetree Specification v0.4 (2.3.3 phandle, 2.4 interrupts) and
the bindings dtc checks (dtc `checks.c`, WARNING_PROPERTY_PHANDLE_CELLS and friends)."""

from __future__ import annotations

import re

from .fdt_tree import Tree

# property -> the cells property of its target that sizes each entry's specifier
# (None: a list of bare phandles).
PHANDLE_LISTS = {
    "clocks": "#clock-cells",
    "assigned-clocks": "#clock-cells",
    "assigned-clock-parents": "#clock-cells",
    "resets": "#reset-cells",
    "power-domains": "#power-domain-cells",
    "phys": "#phy-cells",
    "dmas": "#dma-cells",
    "iommus": "#iommu-cells",
    "mboxes": "#mbox-cells",
    "pwms": "#pwm-cells",
    "io-channels": "#io-channel-cells",
    "thermal-sensors": "#thermal-sensor-cells",
    "sound-dai": "#sound-dai-cells",
    "interrupts-extended": "#interrupt-cells",
    "msi-parent": "#msi-cells",
    "mux-controls": "#mux-control-cells",
    "hwlocks": "#hwlock-cells",
    "nvmem-cells": None,
    "interrupt-parent": None,
    "next-level-cache": None,
    "operating-points-v2": None,
    "cpu-idle-states": None,
    "memory-region": None,
    "sram": None,
    "cpu": None,
    "remote-endpoint": None,
    "rockchip,grf": None,
    "rockchip,pmu": None,
}
GPIO_LIST = re.compile(r"^(.+-)?gpios?$")           # foo-gpios, gpios, gpio: #gpio-cells
SINGLE = re.compile(r"^(.+-supply|pinctrl-\d+)$")   # regulators, pin states: bare phandles
# Names that only mean something beside the property they describe.
COMPANIONS = {
    "clocks": ("clock-names",),
    "assigned-clocks": ("assigned-clock-rates", "assigned-clock-parents"),
    "resets": ("reset-names",),
    "power-domains": ("power-domain-names",),
    "phys": ("phy-names",),
    "dmas": ("dma-names",),
    "mboxes": ("mbox-names",),
    "pwms": ("pwm-names",),
    "io-channels": ("io-channel-names",),
    "interrupts-extended": ("interrupt-names",),
    "nvmem-cells": ("nvmem-cell-names",),
    "memory-region": ("memory-region-names",),
}


def _kind(name: str) -> tuple[bool, str | None]:
    """(holds phandles, cells property sizing each specifier)."""
    if name in PHANDLE_LISTS:
        return True, PHANDLE_LISTS[name]
    if GPIO_LIST.match(name) and not name.startswith("#"):
        return True, "#gpio-cells"
    if SINGLE.match(name):
        return True, None
    return False, None


def targets(tree: Tree, path: str, name: str, value: bytes) -> list[int] | None:
    """The phandles a property refers to, or None when it cannot be read (a target
    missing, so the size of its specifier is unknown, or the cells run out)."""
    words = [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) // 4 * 4, 4)]
    _, cells_prop = _kind(name)
    out, i = [], 0
    while i < len(words):
        phandle = words[i]
        if phandle == 0:                      # an empty entry (allowed in clocks, gpios)
            i += 1
            continue
        out.append(phandle)
        target = tree.by_phandle(phandle)
        if target is None:
            return None
        i += 1 + ((tree.u32(target, cells_prop, 0) or 0) if cells_prop else 0)
    return out if i == len(words) else None


def dangling(tree: Tree) -> list[tuple[str, str]]:
    """(node path, property) for every phandle reference that points nowhere, and every
    alias whose path names no node."""
    out = []
    for path in tree.walk():
        for name, value in tree.props(path).items():
            holds, _ = _kind(name)
            if not holds:
                continue
            refs = targets(tree, path, name, value)
            if refs is None or any(tree.by_phandle(p) is None for p in refs):
                out.append((path, name))
    if tree.exists("/aliases"):
        for name in tree.props("/aliases"):
            target = tree.strings("/aliases", name)
            if name != "phandle" and (not target or not tree.exists(target[0])):
                out.append(("/aliases", name))
    return out


def drop_dangling(tree: Tree) -> list[tuple[str, str]]:
    """Delete every dangling reference (and its companion names); returns what went."""
    gone = dangling(tree)
    for path, name in gone:
        tree.delete_prop(path, name)
        for companion in COMPANIONS.get(name, ()):
            tree.delete_prop(path, companion)
        if name.startswith("pinctrl-") and not any(
                p.startswith("pinctrl-") and p != "pinctrl-names" for p in tree.props(path)):
            tree.delete_prop(path, "pinctrl-names")
    return gone
