"""VM configs: every mistake is one line naming the file and the key; layouts follow
Linux's arm64 boot protocol."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from hvmon.errors import ConfigError
from hvmon.target.board import Range
from hvmon.target.kernel import load_kernel
from hvmon.target.vmconfig import load_vm_config, plan_layout

RAM = [Range(0x40000000, 0x40000000, "ram")]
PROTECTED = [Range(0x40200000, 0x60000, "stub"), Range(0x7DCAF000, 0x2000, "boot-dtb")]


def fake_image(size=0x100000, image_size=0x200000, text_offset=0, flags=0xA) -> bytes:
    header = struct.pack("<II QQQ QQQ 4sI", 0x14000000, 0, text_offset, image_size, flags, 0, 0, 0,
                         b"ARM\x64", 0)
    return header + bytes(size - len(header))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "Image").write_bytes(fake_image())
    (tmp_path / "initrd").write_bytes(b"x" * 5000)
    return tmp_path


def config(files: Path, text: str) -> Path:
    path = files / "vm.toml"
    path.write_text(text)
    return path


GOOD = 'name = "a"\nmemory = [{ ipa = 0x40000000, size = 0x4000000 }]\nkernel = "Image"\ninitrd = "initrd"\n'


def test_a_good_config_gets_memory_below_the_protected_ranges(files):
    vm = load_vm_config(config(files, GOOD), RAM, PROTECTED)
    region = vm.memory[0]
    assert region.pa % (2 << 20) == 0 and region.pa + region.size <= 0x7DC00000
    assert (vm.vcpus, vm.console_ipa, vm.console_irq) == (1, 0x09000000, 33)


def test_layout_follows_the_boot_protocol(files):
    vm = load_vm_config(config(files, GOOD), RAM, PROTECTED)
    layout = plan_layout(vm, load_kernel(files / "Image"), 5000)
    assert layout.kernel_ipa == 0x40000000 and layout.entry_ipa == 0x40000000
    assert layout.initrd_ipa == 0x40200000 and layout.initrd_end == 0x40200000 + 5000
    assert layout.dtb_ipa == 0x40000000 + 0x4000000 - (2 << 20)


@pytest.mark.parametrize("text, message", [
    (GOOD + "colour = 1\n", r"vm.toml: colour: unknown key"),
    (GOOD.replace('name = "a"', 'name = "A B"'), r"vm.toml: name: 1-15 characters"),
    (GOOD.replace("0x4000000 }", "0x4000000, pa = 0x40000000 }"), r"memory\[0\].pa: .* overlaps protected range stub"),
    (GOOD.replace("0x4000000 }", "0x4000000, pa = 0x90000000 }"), r"memory\[0\].pa: .* not inside the board's RAM"),
    (GOOD.replace("size = 0x4000000", "size = 0x4000100"), r"memory\[0\].size: 0x4000100 is not 2 MiB aligned"),
    (GOOD.replace('kernel = "Image"', 'kernel = "nope"'), r"vm.toml: kernel: no such file"),
    (GOOD + "cpus = [1, 1]\n", r"vm.toml: cpus: a list of distinct"),
    (GOOD + "console = { ipa = 0x40001000 }\n", r"console: IPA range overlaps memory\[0\]"),
    (GOOD + "console = { irq = 7 }\n", r"console.irq: must be an integer >= 32"),
    (GOOD + "[[passthrough]]\npa = 0x9000000\nsize = 0x1000\nspeed = 3\n", r"passthrough\[0\].speed: unknown key"),
    ("name = \"a\"\n", r"vm.toml: memory: missing"),
])
def test_bad_configs_name_the_file_and_key(files, text, message):
    with pytest.raises(ConfigError, match=message):
        load_vm_config(config(files, text), RAM, PROTECTED)


PASS = GOOD + "[[passthrough]]\n"


@pytest.mark.parametrize("text, pa_bits, message", [
    # The stub's own image plus bit 40: a 40-bit descriptor would alias it (issue 13, hole 1).
    (PASS + "pa = 0x10040200000\nsize = 0x1000\nipa = 0x9100000\n", 40,
     r"vm.toml: passthrough\[0\].pa: 0x10040200000\+0x1000 is beyond the board's 40-bit "
     r"physical address range$"),
    (PASS + "pa = 0xff0000000\nsize = 0x10001000\nipa = 0x9100000\n", 36,
     r"passthrough\[0\].pa: 0xff0000000\+0x10001000 is beyond the board's 36-bit"),
    (PASS + "pa = 0x9100000\nsize = 0x1000\nipa = 0x3ffffff000\n", 40,
     r"passthrough\[0\].ipa: 0x3ffffff000\+0x1000 is beyond the VM's 34-bit guest-physical space"),
    (GOOD.replace("ipa = 0x40000000", "ipa = 0x3ffe00000"), 40,
     r"memory\[0\].ipa: 0x3ffe00000\+0x4000000 is beyond the VM's 34-bit"),
    (GOOD + "console = { ipa = 0x400000000 }\n", 40, r"console.ipa: 0x400000000\+0x1000 is beyond"),
    (PASS + "pa = 0x7c000000\nsize = 0x1000\nipa = 0x9100000\n", 40,
     r"passthrough\[0\].pa: 0x7c000000\+0x1000 overlaps the board's RAM"),
    (PASS + "pa = 0x9100000\nsize = 0x2000\nipa = 0x9100000\n[[passthrough]]\npa = 0x9101000\n"
     "size = 0x1000\nipa = 0x9200000\n", 40,
     r"passthrough\[1\].pa: 0x9101000\+0x1000 overlaps passthrough\[0\]"),
])
def test_addresses_beyond_what_stage_2_reaches_are_refused(files, text, pa_bits, message):
    with pytest.raises(ConfigError, match=message):
        load_vm_config(config(files, text), RAM, PROTECTED, pa_bits=pa_bits)


def test_a_kernel_too_large_for_its_memory(files):
    (files / "Image").write_bytes(fake_image(image_size=0x3F00000))
    vm = load_vm_config(config(files, GOOD), RAM, PROTECTED)
    with pytest.raises(ConfigError, match=r"memory\[0\].size: the kernel needs 0x3f00000 bytes"):
        plan_layout(vm, load_kernel(files / "Image"), 5000)


def test_kernel_formats(tmp_path):
    raw = fake_image()
    (tmp_path / "Image").write_bytes(raw)
    (tmp_path / "Image.gz").write_bytes(gzip.compress(raw))
    zboot = bytearray(b"MZ\0\0zimg" + bytes(0x40))
    payload = gzip.compress(raw)
    struct.pack_into("<II", zboot, 8, len(zboot), len(payload))
    zboot[0x18:0x1C] = b"gzip"
    (tmp_path / "vmlinuz.efi").write_bytes(bytes(zboot) + payload)
    for name, fmt in (("Image", "Image"), ("Image.gz", "Image.gz"), ("vmlinuz.efi", "zboot")):
        kernel = load_kernel(tmp_path / name)
        assert (kernel.format, kernel.data, kernel.image_size) == (fmt, raw, 0x200000)


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"\x7fELF" + bytes(60), r"k: not a readable ELF file"),
    (bytes(100), r"not an arm64 Image"),
    (fake_image(flags=0xB), "big-endian"),
    (fake_image(flags=0x4), "page size other than 4 KiB"),
])
def test_bad_kernels_are_refused_with_the_file_named(tmp_path, data, message):
    path = tmp_path / "k"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load_kernel(path)
