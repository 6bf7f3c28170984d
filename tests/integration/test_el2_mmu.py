"""The stub with its EL2 MMU and caches on (firmware/arch/aarch64/el2_mmu.h), seen through
the framed protocol on the QEMU board: INFO says so, and a VM's life runs the maintenance
of its RAM (cleaned at start, scrubbed at destroy). QEMU models no caches: these tests
show that each path runs and does what it must to memory; the text monitor's tests
(test_monitor.py) show the map's permissions and memory types."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest

from hvmon.target.vms import create_vm, destroy_vm, start_vm, vm_list
from hvmon.ui.commands.board_cmds import format_info, info_json

# No preloaded guest: nothing here boots Linux, and the VM's RAM below must be ours.
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=2, preload=False),
              pytest.mark.budget(bringups=1, line_bytes=100_000)]

VM_PA = 0x60000000
VM_SIZE = 0x800000


def spinner(folder: Path) -> Path:
    """A guest that only spins, in 8 MiB of RAM at VM_PA."""
    source = folder / "spin.S"
    source.write_text(".global _start\n_start:\n    b .\n")
    subprocess.run(["aarch64-linux-gnu-as", str(source), "-o", str(folder / "spin.o")], check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start",
                    str(folder / "spin.o"), "-o", str(folder / "spin.elf")], check=True)
    config = folder / "spin.toml"
    config.write_text(f'name = "spin"\nmemory = [{{ ipa = 0x40000000, size = {VM_SIZE:#x}, '
                      f'pa = {VM_PA:#x} }}]\nkernel = "spin.elf"\n')
    return config


def test_info_says_the_el2_mmu_and_caches_are_on(board, hvmon_target):
    info = board.info(refresh=True)
    assert info.memory == "EL2 MMU on, caches on"
    assert (info.board, info.version) == (hvmon_target.profile.name, board.info().version)
    # What `hvmon info` prints and its --json.
    assert "\nmemory: EL2 MMU on, caches on\n" in format_info(info)
    assert info_json(info)["memory"] == "EL2 MMU on, caches on"


def test_a_destroyed_vms_ram_is_scrubbed_and_nothing_else(board, tmp_path):
    after = VM_PA + VM_SIZE
    board.fill(after, 0x1000, 0x5A5A5A5A)            # the RAM just past the VM's
    create_vm(board, spinner(tmp_path))
    try:
        board.fill(VM_PA + 0x100000, 0x1000, 0xA5A5A5A5)
        assert board.crc(VM_PA + 0x100000, 0x1000) == zlib.crc32(b"\xa5" * 0x1000)
        start_vm(board, "spin")                      # cleans the VM's RAM to PoC, then runs it
        assert [(e.name, e.state) for e in vm_list(board)] == [("spin", "running")]
    finally:
        destroy_vm(board, "spin")
    assert vm_list(board) == []
    assert board.crc(VM_PA, VM_SIZE) == zlib.crc32(bytes(VM_SIZE))
    assert board.read(after, 0x1000) == b"\x5a" * 0x1000
    # The scrubbed RAM is the host's again: a write there reads back.
    board.write(VM_PA, b"after the VM")
    assert board.read(VM_PA, 12) == b"after the VM"
