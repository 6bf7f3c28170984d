"""Guests under the stub: Debian's arm64 kernel and a busybox initramfs booted from a VM
config through the protocol on the QEMU board, its console multiplexed over the link.

The board, its guests and their consoles come from the hvmon pytest plugin (`board`,
`vm`). The plugin also has QEMU's loader place the kernel and initramfs in the board's
RAM where linux.toml puts them, like a board whose RAM kept them across a warm reset: the
push then only confirms with CRCs that they are in place (a full push of the 33 MB kernel
costs minutes on this line; the protocol tests and bench cover transfers)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from hvmon.errors import ConfigError
from hvmon.target.vms import create_vm, vm_list
from tests.budget import BOOT_S, remaining
from tests.conftest import REPO, qemu_lifetime, results_dir, run_profile

# Core 0 runs the stub, the others guests: three cores for the two-vCPU guest.
# The module's board and, in most tests, one Linux boot (the images are preloaded).
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=3),
              pytest.mark.budget(bringups=1, boots=1)]

GUEST = REPO / "cache" / "guest"
GUEST_PA = 0x50000000          # where boards/qemu-virt/linux.toml (and so the preload) puts it


def guest_config(folder: Path, name: str = "linux", cpus: int = 1, kernel: Path | None = None,
                 extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(extra + f'''name = "{name}"
cpus = {cpus}
memory = [{{ ipa = 0x40000000, size = 0x10000000, pa = {GUEST_PA:#x} }}]
kernel = "{kernel or GUEST / 'Image'}"
initrd = "{GUEST / 'initramfs.cpio.gz'}"
cmdline = "console=ttyAMA0 earlycon=pl011,0x09000000 rdinit=/init"
''')
    return path


def test_debian_linux_boots_to_a_shell_and_powers_off(board, vm, tmp_path, hvmon_target):
    started = time.monotonic()
    guest = vm(guest_config(tmp_path))
    guest.console.expect(rb"hvmon-guest: 6\.\d+\.\d+-\d+-arm64 up, 1 CPUs", BOOT_S)
    guest.console.expect(rb"/ # ", 30)
    print(f"guest shell after {time.monotonic() - started:.2f} s")
    guest.console.send("echo hello-$((6*7)); uname -m")
    guest.console.expect(rb"hello-42\r?\naarch64", 20)
    assert [e.state for e in vm_list(board)] == ["running"]
    guest.console.send("poweroff -f")
    stopped = guest.wait_stopped(30)
    assert (stopped.vm, stopped.reason) == (guest.id, "SYSTEM_OFF")
    assert board.info(refresh=True).board == hvmon_target.profile.name   # the stub still answers
    assert [(e.name, e.state, e.stop_reason) for e in vm_list(board)] == [("linux", "stopped", "SYSTEM_OFF")]


def test_two_vcpus_come_up_through_psci_cpu_on(board, vm, tmp_path):
    guest = vm(guest_config(tmp_path, cpus=2))
    guest.console.expect(rb"smp: Brought up 1 node, 2 CPUs", BOOT_S)
    guest.console.expect(rb"/ # ", BOOT_S)
    guest.console.send("grep -c ^processor /proc/cpuinfo")
    # The count, then the prompt: once, under load, the prompt came first, when the stub
    # still kept each vCPU's console output apart and sent vCPU 0's first
    # (test_two_vcpus_console_output_arrives_in_the_order_the_guest_wrote_it).
    guest.console.expect(rb"cpuinfo\r?\n2\r?\n/ # ", 20)
    assert board.hvc("core_stats", 2).results["exits"] > 0      # vCPU 1 ran on core 2
    guest.stop()
    stopped = guest.wait_stopped(20)
    assert (stopped.vm, stopped.reason) == (guest.id, "stopped")


# 40 rounds of two processes' output: each round forks a pinned busybox, about 0.1 s
# beside other tests on this board.
@pytest.mark.budget(seconds=30)
def test_two_vcpus_console_output_arrives_in_the_order_the_guest_wrote_it(vm, tmp_path):
    """The guest's serial driver writes the UART from whichever core holds its port lock;
    the stub must pass the bytes on in that order. A process pinned to vCPU 1 prints, and
    right after it exits the shell, pinned to vCPU 0, prints: 40 rounds, in order."""
    guest = vm(guest_config(tmp_path, cpus=2))
    guest.console.expect(rb"/ # ", BOOT_S)
    start = guest.console.cursor
    guest.console.send("busybox taskset -c 0 sh -c 'for i in $(busybox seq 40); do "
                       "busybox taskset -c 1 busybox echo one-$i; echo zero-$i; done; "
                       "echo rounds-$((6*7))'")
    guest.console.expect(rb"rounds-42", 60)
    seen = re.findall(rb"(?:one|zero)-\d+", guest.console.output[start:])
    assert [line.decode() for line in seen] == [f"{core}-{i}" for i in range(1, 41)
                                                for core in ("one", "zero")]


def test_a_passed_through_device_and_its_interrupt_reach_the_guest(vm, tmp_path):
    """QEMU's PL031 RTC (0x09010000, SPI 2 = INTID 34: hw/arm/virt.c) handed to the VM:
    the guest's rtc-pl031 driver probes the real device through stage 2, and an alarm's
    physical interrupt is forwarded to it."""
    extra = "passthrough = [{ pa = 0x09010000, size = 0x1000, irqs = [34] }]\n"
    guest = vm(guest_config(tmp_path, extra=extra))
    guest.console.expect(rb"/ # ", BOOT_S)
    after_prompt = guest.console.cursor
    guest.console.send("ls /sys/class/rtc; echo +1 > /sys/class/rtc/rtc0/wakealarm; sleep 3; "
                       "grep -i pl031 /proc/interrupts")
    match = guest.console.expect(rb"\n\s*\d+:\s+(\d+)\s.*pl031", 30)
    assert int(match.group(1)) >= 1, match.group(0)
    assert b"rtc0" in guest.console.output[after_prompt:]


def build_faulting_kernel(folder: Path) -> Path:
    """A bare-metal 'kernel' that loads from an IPA outside its VM's memory."""
    source = folder / "fault.S"
    source.write_text("""
        .global _start
        _start:
            mov x1, #0x1000          // IPA 0x1000: not mapped for this VM
            ldr x0, [x1]
            b .
    """)
    elf = folder / "fault.elf"
    subprocess.run(["aarch64-linux-gnu-as", str(source), "-o", str(folder / "fault.o")], check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start", str(folder / "fault.o"),
                    "-o", str(elf)], check=True)
    return elf


def test_a_faulting_guest_is_stopped_reported_and_can_be_recreated(board, vm, tmp_path):
    elf = build_faulting_kernel(tmp_path)
    config = guest_config(tmp_path, "crasher", kernel=elf)
    for attempt in range(2):
        guest = vm(config)
        stopped = guest.wait_stopped(20)
        assert (stopped.vm, stopped.reason) == (guest.id, "fault")
        assert stopped.ipa == 0x1000 and stopped.far == 0x1000
        assert (stopped.esr >> 26) == 0x24                   # data abort from a lower EL
        assert stopped.elr == 0x40000004                     # the ldr
        assert board.hvc("echo", 1, 2, 3).results["c"] == 3  # the stub keeps serving
        guest.destroy()
        assert vm_list(board) == []


def test_bad_vm_configs_send_nothing(board, tmp_path):
    before = board.session.stats["frames_out"]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nmemory = [{ ipa = 0x40000000, size = 0x10000000, pa = 0x40000000 }]\n'
                   f'kernel = "{GUEST / "Image"}"\n')
    with pytest.raises(ConfigError, match=r"bad.toml: memory\[0\].pa: .* overlaps protected range stub"):
        create_vm(board, bad)
    bad.write_text('name = "x"\nmemory = []\nkernel = "nope"\nflavour = 1\n')
    with pytest.raises(ConfigError, match=r"bad.toml: flavour: unknown key"):
        create_vm(board, bad)
    assert board.session.stats["frames_out"] - before <= 2   # INFO and VM_LIST only


@pytest.mark.budget(processes=9)
def test_vm_commands_from_the_command_line(request, tmp_path):
    """The CLI on a QEMU board of its own (it does its own bring-up)."""
    profile = run_profile(request)
    out = results_dir(request)
    qemu = QemuBoard(profile, smp=2, log_path=out / "qemu.log", lifetime=qemu_lifetime(request),
                     extra_args=preload_args(guest_config(tmp_path), out))
    qemu.start()
    request.addfinalizer(qemu.stop)

    def hvmon(*args, port=qemu.stub_url):      # the stub's line (U-Boot's, unless it has its own)
        return subprocess.run([sys.executable, "-m", "hvmon.ui.cli", "-b", profile.name, "-p", port,
                               *args], capture_output=True, text=True, timeout=remaining())

    stub_line = ["--stub-port", qemu.stub_url] if qemu.stub_port else []
    brought_up = hvmon("bringup", *stub_line, port=qemu.url)
    assert brought_up.returncode == 0, brought_up.stderr
    config = guest_config(tmp_path)
    created = hvmon("vm", "create", str(config), "--start")
    assert created.returncode == 0, created.stderr
    assert "created VM 0 linux: 1 vCPU(s), IPA 0x40000000 <- PA 0x50000000 (256 MiB)" in created.stdout
    listed = hvmon("vm", "list")
    assert listed.stdout.split() == ["0", "linux", "running", "1", "vCPU"]
    assert hvmon("vm", "info", "linux").stdout.strip() == "VM 0 linux: running, 1 vCPU(s)"
    again = hvmon("vm", "create", str(config))
    assert again.returncode == 2 and "a VM called 'linux' exists already" in again.stderr
    stopped = hvmon("vm", "stop", "linux")
    assert stopped.returncode == 0 and "VM 0 stopped: stopped" in stopped.stderr
    assert hvmon("vm", "destroy", "linux").returncode == 0
    assert hvmon("vm", "list").stdout == ""
    missing = hvmon("vm", "start", "linux")
    assert missing.returncode == 2 and "no VM named 'linux'" in missing.stderr
