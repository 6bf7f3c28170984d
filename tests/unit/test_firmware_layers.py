"""The firmware's dependency rule (firmware/README.md, "Layers"): each folder may call only
the layers below it and its own. A lower layer that needs something above it gets it
through a hook the upper layer or main.c installs, never by naming it.

Layer order, lowest first:

    lib       libc, print, fdt, crc32, bytes, ring, spinlock, protocol.h: call nothing above
    drivers   the stub's UART and the register access it needs (mmio.h)
    arch      AArch64: entry, vectors, PSCI, GICv3, stage 2, idle, exception reports
    vmm       VMs, vCPUs, hypercalls, the console, the memory map, and the device models
              in arch/aarch64/emul (beside the architecture they emulate, but they work on
              the VMM's struct vm, so they belong to its layer)
    link      the UART byte layer, COBS, CRC-32C, the session, requests, inflate
    monitor   the text monitor; it reads the link's bytes and hands a frame to the session
    main      main.c: wires the layers together, may call all of them

Checked here: every #include of a firmware header (by "" or <>, since sysreg.h and mmio.h
are included with <> so host builds can shadow them), and every branch from assembly
into C. Also: header names are unique (every folder is on the include path) and
firmware/sources.mk names every source file.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"

LAYERS = ["lib", "drivers", "arch", "vmm", "link", "monitor", "main"]
# Folder (relative to firmware/) -> layer; the longest matching prefix wins.
FOLDERS = {
    "lib": "lib",
    "drivers": "drivers",
    "arch/aarch64": "arch",
    "arch/aarch64/emul": "vmm",
    "vmm": "vmm",
    "link": "link",
    "monitor": "monitor",
    "main.c": "main",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
BRANCH = re.compile(r"^\s*(?:bl|b)\s+([A-Za-z_]\w*)\s*(?:/\*.*)?$", re.M)
LABEL = re.compile(r"^([A-Za-z_]\w*):", re.M)


def firmware_files(firmware: Path) -> list[Path]:
    skip = {"build", "tools"}
    return sorted(p for p in firmware.rglob("*")
                  if p.suffix in {".c", ".h", ".S"} and not skip & set(p.relative_to(firmware).parts))


def layer_of(path: Path, firmware: Path = FIRMWARE) -> str:
    rel = path.relative_to(firmware).as_posix()
    best = None
    for folder, layer in FOLDERS.items():
        if (rel == folder or rel.startswith(folder + "/")) and (best is None or len(folder) > len(best[0])):
            best = (folder, layer)
    if best is None:
        raise AssertionError(f"firmware/{rel} is in no layer: add its folder to FOLDERS here "
                             "and to firmware/README.md")
    return best[1]


def headers(firmware: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in firmware_files(firmware):
        if path.suffix == ".h":
            assert path.name not in found, f"two headers named {path.name}: {found[path.name]}, {path}"
            found[path.name] = path
    return found


def include_violations(firmware: Path = FIRMWARE) -> list[str]:
    known = headers(firmware)
    bad = []
    for path in firmware_files(firmware):
        mine = LAYERS.index(layer_of(path, firmware))
        for name in INCLUDE.findall(path.read_text()):
            target = known.get(Path(name).name)
            if target is None:
                continue                                   # the compiler's own: stdint.h, arm_acle.h
            theirs = LAYERS.index(layer_of(target, firmware))
            if theirs > mine:
                bad.append(f"{path.relative_to(firmware)} ({LAYERS[mine]}) includes "
                           f"{target.relative_to(firmware)} ({LAYERS[theirs]})")
    return bad


def c_definitions(firmware: Path) -> dict[str, Path]:
    """Function name -> the .c file that defines it (a line that starts a definition)."""
    defined = {}
    pattern = re.compile(r"^[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\s*\([^;]*$", re.M)
    for path in firmware_files(firmware):
        if path.suffix == ".c":
            for name in pattern.findall(path.read_text()):
                defined.setdefault(name, path)
    return defined


def assembly_violations(firmware: Path = FIRMWARE) -> list[str]:
    asm = [p for p in firmware_files(firmware) if p.suffix == ".S"]
    labels = {name for p in asm for name in LABEL.findall(p.read_text())}
    defined = c_definitions(firmware)
    bad = []
    for path in asm:
        mine = LAYERS.index(layer_of(path, firmware))
        for symbol in BRANCH.findall(path.read_text()):
            if symbol in labels:
                continue
            target = defined.get(symbol)
            if target is None:
                bad.append(f"{path.relative_to(firmware)} branches to {symbol}, defined in no .c file")
                continue
            theirs = layer_of(target, firmware)
            # The entry points of the program are the one way up: they live in main.c.
            if theirs != "main" and LAYERS.index(theirs) > mine:
                bad.append(f"{path.relative_to(firmware)} branches to {symbol} in "
                           f"{target.relative_to(firmware)} ({theirs})")
    return bad


def test_includes_point_down_the_layers():
    assert include_violations() == []


def test_assembly_enters_c_only_at_main_or_below():
    assert assembly_violations() == []


def test_header_names_are_unique():
    headers(FIRMWARE)


def test_sources_mk_names_every_source():
    listed = (FIRMWARE / "sources.mk").read_text()
    for path in firmware_files(FIRMWARE):
        rel = path.relative_to(FIRMWARE).as_posix()
        if path.suffix in {".c", ".S"} and not rel.startswith("drivers/uart_"):
            assert re.search(rf"(^|\s){re.escape(rel)}(\s|$)", listed, re.M), f"{rel} not in sources.mk"


def test_a_wrong_way_include_is_caught(tmp_path):
    for folder in ("lib", "vmm"):
        (tmp_path / folder).mkdir()
    (tmp_path / "lib" / "print.c").write_text('#include "console.h"\n')
    (tmp_path / "lib" / "print.h").write_text("")
    (tmp_path / "vmm" / "console.h").write_text('#include "print.h"\n')
    assert include_violations(tmp_path) == ["lib/print.c (lib) includes vmm/console.h (vmm)"]


def test_a_branch_up_from_assembly_is_caught(tmp_path):
    (tmp_path / "arch" / "aarch64").mkdir(parents=True)
    (tmp_path / "vmm").mkdir()
    (tmp_path / "arch" / "aarch64" / "vectors.S").write_text("    bl      guest_trap\n")
    (tmp_path / "vmm" / "vcpu.c").write_text("void guest_trap(void)\n{\n}\n")
    assert assembly_violations(tmp_path) == [
        "arch/aarch64/vectors.S branches to guest_trap in vmm/vcpu.c (vmm)"]
