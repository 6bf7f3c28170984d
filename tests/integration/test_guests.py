"""Guests under the stub: Debian's arm64 kernel and a busybox initramfs booted from a VM
config through the protocol on the QEMU board, its console multiplexed over the link.

The kernel and initramfs are also placed in the board's RAM by QEMU's loader at the
addresses the config gives them, like a board whose RAM kept them across a warm reset:
the push then only confirms with CRCs that they are in place (a full push of the 33 MB
kernel costs minutes on this line; the protocol tests and bench cover transfers)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time
from pathlib import Path

import pytest

from hvmon import protocol as P
from hvmon.board import Board
from hvmon.boards import load_profile
from hvmon.bringup import bring_up
from hvmon.expect import Expect
from hvmon.kernel import load_kernel
from hvmon.link import open_link
from hvmon.qemu import QemuBoard
from hvmon.vms import create_vm, destroy_vm, parse_vm_stopped, start_vm, stop_vm, vm_list
from tests.conftest import QEMU_LIFETIME, REPO, results_dir

pytestmark = pytest.mark.qemu

GUEST = REPO / "cache" / "guest"
GUEST_PA = 0x50000000
MIB2 = 2 << 20


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


def preload_args() -> list[str]:
    kernel = load_kernel(GUEST / "Image")
    initrd_pa = GUEST_PA + (kernel.image_size + MIB2 - 1) // MIB2 * MIB2
    return ["-device", f"loader,file={GUEST / 'Image'},addr={GUEST_PA:#x},force-raw=on",
            "-device", f"loader,file={GUEST / 'initramfs.cpio.gz'},addr={initrd_pa:#x},force-raw=on"]


@pytest.fixture
def board(request):
    """The QEMU board with the stub up in framed mode; core 0 runs the stub, the others guests."""
    assert (GUEST / "Image").exists(), "guest images missing: make guest"
    profile = load_profile("qemu-virt")
    out = results_dir(request)
    qemu = QemuBoard(profile, smp=3, log_path=out / "qemu.log", lifetime=QEMU_LIFETIME,
                     extra_args=preload_args())
    qemu.start()
    request.addfinalizer(qemu.stop)
    port = open_link(qemu.url)
    request.addfinalizer(port.close)
    bring_up(Expect(port, open(out / "serial.log", "wb")), profile)
    board = Board.attach(port, trace=open(out / "framed-rx.bin", "wb"))
    request.addfinalizer(board.session.close)
    request.addfinalizer(lambda: (out / "console.log").write_bytes(
        b"".join(bytes(v) for v in board.consoles.values())))
    return board


def wait_console(board: Board, vm: int, pattern: bytes, timeout: float, after: int = 0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.compile(pattern).search(bytes(board.consoles.get(vm, b"")), after)
        if match:
            return match
        time.sleep(0.05)
    tail = bytes(board.consoles.get(vm, b""))[-600:].decode(errors="replace")
    raise AssertionError(f"console never showed {pattern!r} within {timeout} s; last output:\n{tail}")


def wait_event(board: Board, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event, payload in board.events:
            if event == P.Event.VM_STOPPED:
                return parse_vm_stopped(payload)
        time.sleep(0.05)
    raise AssertionError(f"no VM_STOPPED event within {timeout} s")


def test_debian_linux_boots_to_a_shell_and_powers_off(board, tmp_path):
    vm, config = create_vm(board, guest_config(tmp_path))
    start_vm(board, "linux")
    started = time.monotonic()
    wait_console(board, vm, rb"hvmon-guest: 6\.\d+\.\d+-\d+-arm64 up, 1 CPUs", 60)
    prompt = wait_console(board, vm, rb"/ # ", 30)
    print(f"guest shell after {time.monotonic() - started:.2f} s")
    board.console_write(vm, b"echo hello-$((6*7)); uname -m\n")
    wait_console(board, vm, rb"hello-42\r?\naarch64", 20, prompt.end())
    assert [e.state for e in vm_list(board)] == ["running"]
    board.console_write(vm, b"poweroff -f\n")
    stopped = wait_event(board, 30)
    assert (stopped.vm, stopped.reason) == (vm, "SYSTEM_OFF")
    assert board.info(refresh=True).board == "qemu-virt"     # the stub still answers
    assert [(e.name, e.state, e.stop_reason) for e in vm_list(board)] == [("linux", "stopped", "SYSTEM_OFF")]


def test_two_vcpus_come_up_through_psci_cpu_on(board, tmp_path):
    vm, _ = create_vm(board, guest_config(tmp_path, cpus=2))
    start_vm(board, "linux")
    wait_console(board, vm, rb"smp: Brought up 1 node, 2 CPUs", 60)
    prompt = wait_console(board, vm, rb"/ # ", 60)
    board.console_write(vm, b"grep -c ^processor /proc/cpuinfo\n")
    wait_console(board, vm, rb"cpuinfo\r?\n2\r?\n", 20, prompt.end())
    assert board.hvc("core_stats", 2).results["exits"] > 0      # vCPU 1 ran on core 2
    stop_vm(board, "linux")
    stopped = wait_event(board, 20)
    assert (stopped.vm, stopped.reason) == (vm, "stopped")


def test_a_passed_through_device_and_its_interrupt_reach_the_guest(board, tmp_path):
    """QEMU's PL031 RTC (0x09010000, SPI 2 = INTID 34: hw/arm/virt.c) handed to the VM:
    the guest's rtc-pl031 driver probes the real device through stage 2, and an alarm's
    physical interrupt is forwarded to it."""
    extra = "passthrough = [{ pa = 0x09010000, size = 0x1000, irqs = [34] }]\n"
    vm, _ = create_vm(board, guest_config(tmp_path, extra=extra))
    start_vm(board, "linux")
    prompt = wait_console(board, vm, rb"/ # ", 60)
    board.console_write(vm, b"ls /sys/class/rtc; echo +1 > /sys/class/rtc/rtc0/wakealarm; sleep 3; "
                            b"grep -i pl031 /proc/interrupts\n")
    match = wait_console(board, vm, rb"\n\s*\d+:\s+(\d+)\s.*pl031", 30, prompt.end())
    assert int(match.group(1)) >= 1, match.group(0)
    assert b"rtc0" in bytes(board.consoles[vm])[prompt.end():]


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


def test_a_faulting_guest_is_stopped_reported_and_can_be_recreated(board, tmp_path):
    elf = build_faulting_kernel(tmp_path)
    config = guest_config(tmp_path, "crasher", kernel=elf)
    for attempt in range(2):
        board.events.clear()
        vm, _ = create_vm(board, config)
        start_vm(board, "crasher")
        stopped = wait_event(board, 20)
        assert (stopped.vm, stopped.reason) == (vm, "fault")
        assert stopped.ipa == 0x1000 and stopped.far == 0x1000
        assert (stopped.esr >> 26) == 0x24                   # data abort from a lower EL
        assert stopped.elr == 0x40000004                     # the ldr
        assert board.hvc("echo", 1, 2, 3).results["c"] == 3  # the stub keeps serving
        destroy_vm(board, "crasher")
        assert vm_list(board) == []


def test_bad_vm_configs_send_nothing(board, tmp_path):
    before = board.session.stats["frames_out"]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nmemory = [{ ipa = 0x40000000, size = 0x10000000, pa = 0x40000000 }]\n'
                   f'kernel = "{GUEST / "Image"}"\n')
    from hvmon.errors import ConfigError
    with pytest.raises(ConfigError, match=r"bad.toml: memory\[0\].pa: .* overlaps protected range stub"):
        create_vm(board, bad)
    bad.write_text('name = "x"\nmemory = []\nkernel = "nope"\nflavour = 1\n')
    with pytest.raises(ConfigError, match=r"bad.toml: flavour: unknown key"):
        create_vm(board, bad)
    assert board.session.stats["frames_out"] - before <= 2   # INFO and VM_LIST only


def test_vm_commands_from_the_command_line(request, tmp_path):
    import sys
    profile = load_profile("qemu-virt")
    qemu = QemuBoard(profile, smp=2, log_path=results_dir(request) / "qemu.log",
                     lifetime=QEMU_LIFETIME, extra_args=preload_args())
    qemu.start()
    request.addfinalizer(qemu.stop)

    def hvmon(*args):
        return subprocess.run([sys.executable, "-m", "hvmon.cli", "-p", qemu.url, *args],
                              capture_output=True, text=True, timeout=300)

    assert hvmon("bringup").returncode == 0
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
