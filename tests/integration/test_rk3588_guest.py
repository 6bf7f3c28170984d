"""A Linux guest on the QEMU board whose DTB was cut from a real RK3588 board DTB
(Debian's rk3588-rock-5b.dtb) by `hvmon vm check`: its GIC where that DTB has it
(0xfe600000 / 0xfe680000, where the stub now places the vGIC), its console a PL011 the
cutter made at UART2's address (0xfeb50000), CPU node and all from the RK3588's.

The console's interrupt is INTID 65, not UART2's 365: the vGIC takes SPIs below 128 today
(firmware vgic.h, VGIC_NR_IRQS). The kernel and initramfs sit where linux.toml puts them,
so the plugin's preload covers them and only the DTB is pushed."""

from __future__ import annotations

import time

import pytest

from hvmon.ui.cli import main
from tests.budget import BOOT_S, doing
from tests.conftest import REPO

pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, boots=1)]

GUEST = REPO / "cache" / "guest"
ROCK_5B = GUEST / "rockchip" / "rk3588-rock-5b.dtb"
CONSOLE_IPA, CONSOLE_IRQ = 0xFEB50000, 65


def rk3588_config(folder, dtb=None):
    path = folder / ("rock5b.toml" if dtb else "rock5b-cut.toml")
    path.write_text(f'''name = "rock5b"
cpus = [1]
memory = [{{ ipa = 0x40000000, size = 0x10000000, pa = 0x50000000 }}]
kernel = "{GUEST / 'Image'}"
initrd = "{GUEST / 'initramfs.cpio.gz'}"
cmdline = "console=ttyAMA0 earlycon=pl011,{CONSOLE_IPA:#x} rdinit=/init"
console = {{ ipa = {CONSOLE_IPA:#x}, irq = {CONSOLE_IRQ} }}
''' + (f'dtb = "{dtb}"\n' if dtb else ""))
    return path


def test_linux_boots_with_a_guest_dtb_cut_from_the_rock_5b_dtb(board, vm, tmp_path):
    doing("cutting the guest DTB from rk3588-rock-5b.dtb with vm check")
    guest_dtb = tmp_path / "rock5b-guest.dtb"
    assert main(["-q", "vm", "check", str(rk3588_config(tmp_path)), "--board", "qemu-virt",
                 "--board-dtb", str(ROCK_5B), "-o", str(guest_dtb)]) == 0

    doing("booting Linux with the RK3588-cut DTB")
    started = time.monotonic()
    guest = vm(rk3588_config(tmp_path, guest_dtb))
    guest.console.expect(rb"hvmon-guest: 6\.\d+\.\d+-\d+-arm64 up, 1 CPUs", BOOT_S)
    guest.console.expect(rb"/ # ", 30)
    print(f"RK3588-DTB guest shell after {time.monotonic() - started:.2f} s")
    guest.console.send("cat /proc/device-tree/model; echo; for n in interrupt-controller@fe600000 "
                       "serial@feb50000; do [ -e /proc/device-tree/$n ] && echo has-$n; done; "
                       "grep -q ttyAMA0 /proc/consoles && echo console-ttyAMA0")
    guest.console.expect(rb"Radxa ROCK 5B", 20)
    guest.console.expect(rb"has-interrupt-controller@fe600000", 20)
    guest.console.expect(rb"has-serial@feb50000", 20)
    guest.console.expect(rb"console-ttyAMA0", 20)
    guest.console.send("poweroff -f")
    assert guest.wait_stopped(30).reason == "SYSTEM_OFF"
