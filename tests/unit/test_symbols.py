"""Addresses to function+offset from ELF symbol tables (pyelftools)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.errors import ConfigError
from hvmon.target.symbols import Symbolizer, SymbolTable, is_elf


def build_elf(folder: Path) -> Path:
    """Two functions and a data label, linked at 0x40000000 by the cross binutils."""
    source = folder / "guest.S"
    source.write_text("""
        .text
        .global _start
        .type _start, %function
        _start:
            nop
            bl helper
            b .
        .size _start, . - _start
        .type helper, %function
        helper:
            mov x0, #1
            ret
        .size helper, . - helper
        .data
        table: .quad 1, 2
    """)
    obj, elf = folder / "guest.o", folder / "guest.elf"
    subprocess.run(["aarch64-linux-gnu-as", str(source), "-o", str(obj)], check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start", str(obj),
                    "-o", str(elf)], check=True)
    return elf


def test_functions_and_offsets(tmp_path):
    table = SymbolTable(build_elf(tmp_path))
    assert table.lookup(0x40000000) == "_start"
    assert table.lookup(0x40000004) == "_start+0x4"
    assert table.lookup(0x4000000c) == "helper"
    assert table.lookup(0x40000010) == "helper+0x4"
    assert table.lookup(0x3ffffffc) is None
    assert table.address("helper") == 0x4000000c


def test_the_stub_elf_names_its_own_functions():
    elf = load_profile("qemu-virt").image("elf")
    table = SymbolTable(elf)
    main = table.address("stub_main")
    assert main is not None and table.lookup(main + 8) == "stub_main+0x8"
    assert all(not name.startswith("$") for name, _ in table.symbols)   # no mapping symbols


def test_symbolizer_describes_stub_and_guest_addresses(tmp_path):
    elf = build_elf(tmp_path)
    symbols = Symbolizer(load_profile("qemu-virt").image("elf"))
    assert symbols.add_guest(3, elf)
    assert symbols.describe(0x40000004, vm=3) == "0x40000004 (_start+0x4)"
    assert symbols.describe(0x40000004, vm=4) == "0x40000004"          # no table for VM 4
    main = symbols.stub.address("stub_main")
    assert symbols.describe(main + 4) == f"{main + 4:#x} (stub_main+0x4)"
    raw = tmp_path / "Image"
    raw.write_bytes(b"\0" * 128)
    assert not is_elf(raw) and not symbols.add_guest(3, raw)          # Image kernels: none
    assert symbols.describe(0x40000004, vm=3) == "0x40000004"


def test_a_broken_elf_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF" + b"\xff" * 20)
    with pytest.raises(ConfigError, match=r"bad.elf: not a readable ELF file"):
        SymbolTable(bad)
    with pytest.raises(ConfigError, match=r"missing.elf: No such file"):
        SymbolTable(tmp_path / "missing.elf")
