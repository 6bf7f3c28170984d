"""A Linux guest whose emulated console's interrupt is SPI INTID 180, above the 128 the
vGIC once stopped at: it must boot to its shell and answer typed commands (the PL011's
receive interrupt is delivered through the vGIC), and Linux must count the interrupt."""

from __future__ import annotations

import pytest

from tests.budget import BOOT_S
from tests.conftest import REPO

# The module's board and one Linux boot (the images are preloaded where linux.toml puts them).
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, boots=1)]

GUEST = REPO / "cache" / "guest"
CONSOLE_IRQ = 180


def test_a_console_on_spi_180_delivers_its_interrupts(board, vm):
    guest = vm({"name": "spi180", "cpus": 1,
                "memory": [{"ipa": 0x40000000, "size": 0x10000000, "pa": 0x50000000}],
                "kernel": str(GUEST / "Image"), "initrd": str(GUEST / "initramfs.cpio.gz"),
                "cmdline": "console=ttyAMA0 earlycon=pl011,0x09000000 rdinit=/init",
                "console": {"kind": "pl011", "ipa": 0x09000000, "irq": CONSOLE_IRQ}})
    guest.console.expect(rb"/ # ", BOOT_S)
    guest.console.send("echo answer-$((6*7))")
    guest.console.expect(rb"answer-42\r?\n", 20)
    guest.console.send("grep -i pl011 /proc/interrupts")
    match = guest.console.expect(rb"\n\s*\d+:\s+(\d+)\s+GICv3\s+180\s+Level\s+\S*pl011", 20)
    assert int(match.group(1)) > 0
