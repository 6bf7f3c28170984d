"""Snapshots in board RAM: Debian's kernel with a busybox shell under the stub on the QEMU
board, snapshotted at its shell, scribbled over (from inside, and from the host over its
kernel), restored, and asked what it remembers. Through the Board-level functions, the
CLI's `vm` command (in this process, on the plugin's board) and raw requests for what a
hostile host could send."""

from __future__ import annotations

import json
import re
import time

import pytest

from hvmon import protocol as P
from hvmon.errors import ConfigError
from hvmon.hil.console import Console
from hvmon.target.board import Board, StubError
from hvmon.target.monitor import TextMonitor
from hvmon.target.vms import drop_snapshot, restore_vm, snapshot_vm, stop_vm, vm_list, \
    vm_snapshots
from hvmon.ui.commands import Context, GlobalOptions
from hvmon.ui.commands.core import lookup
from hvmon.ui.userconfig import UserConfig
from tests.budget import BOOT_S, doing
from tests.integration.test_guests import GUEST_PA, guest_config

# Core 0 runs the stub, cores 1 and 2 the two-vCPU guest. Each test boots one Linux guest
# (a re-bring-up first restores the preloaded images the last test's guest ran in) and
# copies its 256 MiB a few times inside the board's RAM.
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=3),
              pytest.mark.budget(bringups=1, boots=1, seconds=60)]

GUEST_RAM = 0x10000000
PROMPT = rb"/ # "


def shell(guest, command: str, answer: bytes, timeout: float = 30) -> re.Match:
    """Type a command and wait for its answer (a pattern that the echoed command line
    itself cannot match)."""
    guest.console.send(command)
    return guest.console.expect(answer, timeout)


def booted(vm, tmp_path, cpus: int = 1):
    doing("booting Linux to its shell")
    guest = vm(guest_config(tmp_path, cpus=cpus))
    guest.console.expect(PROMPT, BOOT_S)
    return guest


def uptime(guest, marker: str) -> float:
    return float(shell(guest, f"echo {marker}=$(cat /proc/uptime)",
                       rf"{marker}=(\d+\.\d+) ".encode()).group(1))


class BoardContext(Context):
    """The command line's Context on the plugin's board (it holds the port's lock)."""

    def __init__(self, board, tmp_path):
        super().__init__(GlobalOptions(json=True), UserConfig(tmp_path / "config.toml"))
        self._plugin_board = board

    def board(self):
        return self._plugin_board


def cli(ctx, capsys, *words) -> dict:
    command = lookup(words[0])
    command.run(ctx, command.parse(list(words[1:])))
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_restore_brings_back_the_shell_its_files_and_memory_twice(board, vm, tmp_path, capsys):
    guest = booted(vm, tmp_path)
    shell(guest, "X=before; echo before-file > /tmp/f; busybox dd if=/dev/urandom of=/tmp/blob "
                 "bs=65536 count=64 2>/dev/null; echo made-$X", rb"made-before")
    digest = shell(guest, "busybox md5sum /tmp/blob", rb"([0-9a-f]{32})  /tmp/blob").group(1)
    before = uptime(guest, "U0")
    wall_before = time.monotonic()

    doing("snapshotting the guest at its shell through the command line")
    ctx = BoardContext(board, tmp_path)
    taken = cli(ctx, capsys, "vm", "snapshot", "linux", "--as", "shell")
    assert (taken["tag"], taken["ram"]) == ("shell", GUEST_RAM)
    assert taken["size"] > GUEST_RAM and taken["pa"] % 0x10000 == 0
    snap = range(taken["pa"], taken["pa"] + taken["size"])
    assert GUEST_PA + GUEST_RAM <= snap.start or snap.stop <= GUEST_PA     # clear of the guest
    info = cli(ctx, capsys, "vm", "info", "linux")
    assert [(s["tag"], s["pa"], s["size"]) for s in info["snapshots"]] == \
        [("shell", taken["pa"], taken["size"])]
    assert any(r.name == "snapshot" and (r.base, r.size) == (taken["pa"], taken["size"])
               for r in board.info(refresh=True).protected)
    shell(guest, "echo still-$X", rb"still-before")                   # it went on

    for round_ in (1, 2):
        doing(f"scribbling over the guest from inside, round {round_}")
        shell(guest, "X=after; echo after-file > /tmp/f; busybox dd if=/dev/zero of=/tmp/blob "
                     "bs=65536 count=64 2>/dev/null; echo now-$X-$(cat /tmp/f)",
              rb"now-after-after-file")
        doing(f"restoring the snapshot, round {round_}")
        restored = cli(ctx, capsys, "vm", "restore", "linux")          # its newest: "shell"
        assert (restored["tag"], restored["action"]) == ("shell", "restore")
        shell(guest, f"echo R{round_}-$X-$(cat /tmp/f)", rf"R{round_}-before-before-file".encode())
        shell(guest, "busybox md5sum /tmp/blob", digest + rb"  /tmp/blob")

    # The virtual counter went on from the snapshot's value: never backwards, and by no
    # more than the wall time that passed (the guest stood still between its snapshot and
    # the restores).
    after = uptime(guest, "U1")
    assert before <= after <= before + (time.monotonic() - wall_before) + 1
    assert [e.state for e in vm_list(board)] == ["running"]


def test_a_snapshot_is_refused_when_board_ram_runs_out_and_restores_a_wrecked_guest(
        board, vm, tmp_path):
    guest = booted(vm, tmp_path)
    shell(guest, "Y=kept; echo set-$Y", rb"set-kept")
    first = snapshot_vm(board, "linux", "one").snapshot
    # QEMU's 1 GiB board: the guest holds 256 MiB at 0x50000000, the first snapshot a
    # little more than that above it; what is left on either side is less than another.
    doing("asking for a second snapshot with no room left for it")
    with pytest.raises(StubError) as refused:
        snapshot_vm(board, "linux", "two")
    assert refused.value.status == P.Status.TOO_LARGE
    assert "no free board RAM for a snapshot of VM" in str(refused.value)
    assert "1 snapshot(s) hold" in str(refused.value)
    assert [s.tag for s in vm_snapshots(board)] == ["one"]
    shell(guest, "echo alive-$Y", rb"alive-kept")                      # not paused for nothing

    doing("checking that the host cannot write into the snapshot")
    with pytest.raises(StubError, match="overlaps snapshot one of VM"):
        board.call(P.Command.MEM_FILL, first.pa + 0x10000, 0x1000, 0)
    with pytest.raises(ConfigError, match="protected range"):
        board.write(first.pa, b"\0" * 64)

    doing("wrecking the guest's kernel from the host, then restoring it")
    # BRK #0 over the kernel and its exception vectors: the guest spins through its own
    # exceptions at EL1, where no trap reaches the stub; the pause's SGI still does.
    for mib in range(32):
        board.fill(GUEST_PA + (mib << 20), 1 << 20, 0xD4200000)
    guest.console.send("echo wrecked")
    tag, _ = restore_vm(board, "linux", "one")
    assert tag == "one"
    shell(guest, "echo back-$Y", rb"back-kept")

    doing("powering the guest off, then restoring the stopped VM")
    guest.console.send("poweroff -f")
    assert guest.wait_stopped(60).reason == "SYSTEM_OFF"
    restore_vm(board, "linux", "one")                      # a stopped VM runs again
    assert [e.state for e in vm_list(board)] == ["running"]
    shell(guest, "echo again-$Y", rb"again-kept")

    doing("dropping the snapshot, which frees its RAM for another")
    drop_snapshot(board, "linux", "one")
    assert vm_snapshots(board) == []
    assert not any(r.name == "snapshot" for r in board.info().protected)
    second = snapshot_vm(board, "linux", "two").snapshot
    assert second.pa == first.pa
    restore_vm(board, "linux", "two")
    shell(guest, "echo two-$Y", rb"two-kept")


def test_bad_snapshot_requests_are_refused_with_one_clear_reason(board, vm, tmp_path):
    guest = booted(vm, tmp_path)
    vm_id = guest.id
    snapshot_vm(board, "linux", "base")

    def refused(command, *fields, data=b""):
        with pytest.raises(StubError) as error:
            board.call(command, *fields, data=data)
        return error.value

    doing("restoring tags the VM does not have")
    error = refused(P.Command.VM_RESTORE, vm_id, data=b"nosuch")
    assert error.status == P.Status.BAD_REQUEST and "has no snapshot nosuch" in str(error)
    with pytest.raises(StubError, match="has no snapshot gone"):
        restore_vm(board, "linux", "gone")
    doing("sending hostile tags and VM ids")
    assert "1..15 bytes, not 16" in str(refused(P.Command.VM_SNAPSHOT, vm_id, data=b"x" * 16))
    assert "1..15 bytes, not 0" in str(refused(P.Command.VM_RESTORE, vm_id))
    assert "a NUL byte" in str(refused(P.Command.VM_RESTORE, vm_id, data=b"ba\0se"))
    assert "is not a letter" in str(refused(P.Command.VM_SNAPSHOT, vm_id, data=b"../x"))
    assert "no VM with id 3" in str(refused(P.Command.VM_SNAPSHOT, 3, data=b"base"))
    assert "no VM with id 4294967295" in str(refused(P.Command.VM_RESTORE, 0xFFFFFFFF, data=b"base"))
    assert "has no snapshot base2" in str(refused(P.Command.VM_SNAPSHOT_DROP, vm_id, data=b"base2"))
    with pytest.raises(ConfigError, match="snapshot tag"):
        snapshot_vm(board, "linux", "has space")
    assert [s.tag for s in vm_snapshots(board)] == ["base"]            # nothing half-done

    doing("restoring after all of that")
    shell(guest, "Z=later; echo z-$Z", rb"z-later")
    restore_vm(board, "linux", "base")
    shell(guest, "echo z-[$Z]", rb"z-\[\]")
    guest.stop()
    guest.wait_stopped(30)
    board.call(P.Command.VM_DESTROY, vm_id)
    assert vm_snapshots(board) == []                       # a destroyed VM's snapshots go too
    assert not any(r.name == "snapshot" for r in board.info(refresh=True).protected)


@pytest.mark.budget(seconds=30)
def test_two_vcpus_a_core_taken_offline_comes_back_with_the_snapshot(board, vm, tmp_path):
    guest = booted(vm, tmp_path, cpus=2)
    shell(guest, "echo cpus-$(cat /sys/devices/system/cpu/online)", rb"cpus-0-1")
    snapshot_vm(board, "linux", "both")
    doing("taking vCPU 1 offline (PSCI CPU_OFF parks its core)")
    shell(guest, "echo 0 > /sys/devices/system/cpu/cpu1/online; echo off-$(cat "
                 "/sys/devices/system/cpu/online)", rb"off-0\r?\n")
    doing("restoring: vCPU 1 is started again with its saved state")
    restore_vm(board, "linux", "both")
    shell(guest, "echo on-$(cat /sys/devices/system/cpu/online)", rb"on-0-1")
    # Both vCPUs work: a process pinned to each prints.
    shell(guest, "for c in 0 1; do busybox taskset -c $c sh -c \"echo ran-on-$c\"; done",
          rb"ran-on-0\r?\nran-on-1")
    assert board.hvc("core_stats", 2).results["exits"] > 0


def test_older_snapshots_restore_whole_and_the_latest_from_its_dirty_pages(board, vm, tmp_path):
    """A restore copies back only the pages written since the VM last equalled that
    snapshot; restoring any other one copies all of its RAM. Both must come back whole."""
    config = guest_config(tmp_path).read_text().replace("size = 0x10000000", "size = 0x8000000")
    (tmp_path / "small.toml").write_text(config)               # 128 MiB: room for two
    doing("booting Linux to its shell")
    guest = vm(tmp_path / "small.toml")
    guest.console.expect(PROMPT, BOOT_S)
    shell(guest, "X=a; echo a-data > /tmp/f; echo at-$X", rb"at-a")
    snapshot_vm(board, "linux", "a")
    shell(guest, "X=b; echo b-data > /tmp/f; echo at-$X", rb"at-b")
    snapshot_vm(board, "linux", "b")
    shell(guest, "X=c; echo c-data > /tmp/f; echo at-$X", rb"at-c")
    assert [s.tag for s in vm_snapshots(board)] == ["a", "b"]
    for tag in ("a", "b", "b", "a"):          # older (whole), then older, latest, older again
        doing(f"restoring snapshot {tag}")
        restore_vm(board, "linux", tag)
        shell(guest, "echo got-$X-$(cat /tmp/f)", f"got-{tag}-{tag}-data".encode())
        shell(guest, "X=z; echo z-data > /tmp/f; echo at-$X", rb"at-z")


def test_the_text_monitor_lists_snapshots_and_a_new_session_restores_them(board, vm, tmp_path,
                                                                          hvmon_target):
    guest = booted(vm, tmp_path)
    shell(guest, "W=kept; echo w-$W", rb"w-kept")
    taken = snapshot_vm(board, "linux", "mon").snapshot
    shell(guest, "W=lost; echo w-$W", rb"w-lost")
    doing("BYE: the text monitor's info")
    board.bye()
    board.session.close()
    hvmon_target.port.timeout = 0.05
    hvmon_target.link.drain()
    info = TextMonitor(hvmon_target.link).check("info")
    assert (f"snapshot mon of VM {guest.id}: 0x{taken.pa:016x}-0x{taken.pa + taken.size - 1:016x} "
            f"({taken.size >> 10} KiB, {GUEST_RAM >> 10} KiB of guest RAM)") in info
    doing("HELLO again, then a restore through the new session")
    board = Board.attach(hvmon_target.port, trace=hvmon_target.framed_sink)
    hvmon_target.board = board             # the vm fixture cleans up through it
    assert [(s.tag, s.pa) for s in vm_snapshots(board)] == [("mon", taken.pa)]
    restore_vm(board, "linux", "mon")
    console = Console(board, guest.id, guest.name)
    console.send("echo again-$W")
    console.expect(rb"again-kept", 30)


# Stops that land while the guest prints: the vCPU is then often inside the stub handling
# a write to its UART, sees the stop at the end of that exit and parks without taking the
# stop's kick. Eight rounds: on 2026-12-01 the first restored guest to be typed at went
# deaf within two rounds, its core parked by the stale kick of the stop before the restore.
STOPS_WHILE_PRINTING = 8


@pytest.mark.budget(seconds=60)
def test_a_guest_stopped_while_it_prints_answers_after_each_restore(board, vm, tmp_path):
    guest = booted(vm, tmp_path)
    snapshot_vm(board, "linux", "quiet")
    for round_ in range(STOPS_WHILE_PRINTING):
        doing(f"round {round_}: the guest prints without pause, then is stopped")
        guest.console.send("i=0; while :; do i=$((i+1)); echo spam-$i; done")
        guest.console.expect(rb"spam-200\r?\n", 30)
        stop_vm(board, "linux")
        doing(f"round {round_}: restored after a stop that landed while it printed; "
              "typing at it")
        restore_vm(board, "linux", "quiet")
        guest.console = Console(board, guest.id, guest.name)   # after the restore's output
        shell(guest, f"echo alive-{round_}-$((6 * 7))", rf"alive-{round_}-42".encode())
    assert [e.state for e in vm_list(board)] == ["running"]
