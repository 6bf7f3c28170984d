"""The plugin's `snapshot` fixture from the outside: a pytest run, as a user's, of test
modules that restore one Linux guest before each test, on a QEMU board started here with
the guest's images preloaded and handed to the plugin as a port (so the board, and what
each module leaves on it, outlives the modules).

Every restore here is of a stopped VM (the fixture stops the guest first) and every test
types into its shell at once: the case of a vCPU that is still starting when the input
comes (firmware/vmm/vcpu.c, vcpu_start_on_this_core)."""

from __future__ import annotations

import re

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import doing
from tests.conftest import REPO, qemu_lifetime, results_dir
from tests.integration.hostile import build as build_hostile
from tests.integration.test_hil_plugin import run_pytest

# One bring-up and one Linux boot (the inner run's, on the board started here); the
# bare-metal guest of the third module waits out a pattern it never prints.
pytestmark = [pytest.mark.qemu]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "starts qemu-virt itself, for an inner plugin run given only its port; qemu-virt-16550's "
    "stub talks on a second line, which --hvmon-port cannot name yet"))

LINUX = REPO / "boards" / "qemu-virt" / "linux.toml"
NEVER_TIMEOUT = 5

RESTORES = '''
import pytest

GUEST_PA = 0x50000000                  # linux.toml's RAM
BRK = 0xD4200000                       # BRK #0

pytestmark = pytest.mark.hvmon_snapshot(pattern=r"/ # ", tag="suite")


def shell(snapshot, command, answer):
    snapshot.console.send(command)
    return snapshot.console.expect(answer, timeout=30)


def test_1_changes_the_shell_its_files_and_memory_then_fails(snapshot):
    shell(snapshot, "X=set; busybox dd if=/dev/urandom of=/tmp/blob bs=65536 count=64 "
                    "2>/dev/null; busybox rm -rf /bin/*; echo wrecked-$X", r"wrecked-set")
    shell(snapshot, "echo busybox-$([ -e /bin/busybox ] && echo there || echo gone)",
          r"busybox-gone")
    assert False, "this test fails on purpose, its guest wrecked"


def test_2_finds_the_booted_shell_and_only_its_own_output(snapshot):
    assert "wrecked" not in snapshot.console.text and "Linux version" not in snapshot.console.text
    shell(snapshot, "echo x-${X:-unset} busybox-$([ -e /bin/busybox ] && echo there) "
                    "blob-$([ -e /tmp/blob ] && echo there || echo absent)",
          r"x-unset busybox-there blob-absent")
    assert "wrecked" not in snapshot.console.text


def test_3_crashes_the_kernel(snapshot):
    snapshot.console.send("echo c > /proc/sysrq-trigger")
    snapshot.console.expect(r"Kernel panic", timeout=30)


def test_4_has_the_host_scribble_over_the_guest_kernel(snapshot, board):
    # BRK over the kernel and its vectors: the guest spins through its own exceptions.
    for mib in range(32):
        board.fill(GUEST_PA + (mib << 20), 1 << 20, BRK)
    snapshot.console.send("echo wrecked")


def test_5_gets_the_shell_back_from_one_boot_and_restores_mid_test(
        snapshot, board, hvmon_snapshot_keeper):
    shell(snapshot, "echo x-${X:-unset} $((6 * 7))", r"x-unset 42")
    shell(snapshot, "X=again; echo x-$X", r"x-again")
    snapshot.restore()
    shell(snapshot, "echo x-${X:-unset}", r"x-unset")
    assert bytes(board.consoles[snapshot.id]).count(b"Linux version") == 1   # booted once
    assert hvmon_snapshot_keeper.restores == 6                               # 5 tests + 1
'''

AFTER = '''
from hvmon.target.vms import vm_list, vm_snapshots


def test_the_module_before_left_no_snapshot_and_no_vm(board):
    assert vm_snapshots(board) == []
    assert vm_list(board) == []
'''

NEVER = '''
import pytest

pytestmark = pytest.mark.hvmon_snapshot(vm="hostile.toml", pattern="NEVER-SHOWS-UP",
                                        timeout=''' + str(NEVER_TIMEOUT) + ''')


def test_1(snapshot):
    pass


def test_2(snapshot):
    pass
'''

HOSTILE = '''name = "hostile"
cpus = 1
memory = [{{ ipa = 0x70000000, size = 0x400000, pa = 0x60000000 }}]
kernel = "{image}"
cmdline = "mark"
'''


@pytest.mark.budget(bringups=1, boots=1, processes=1, seconds=NEVER_TIMEOUT)
def test_restore_per_test_survives_wrecks_and_failures_and_leaves_nothing_behind(request, tmp_path):
    out = results_dir(request)
    qemu = QemuBoard(load_profile("qemu-virt"), lifetime=qemu_lifetime(request),
                     log_path=out / "qemu.log", extra_args=preload_args(LINUX, tmp_path))
    qemu.start()
    request.addfinalizer(qemu.stop)
    (tmp_path / "test_a_restores.py").write_text(RESTORES)
    (tmp_path / "test_b_after.py").write_text(AFTER)
    (tmp_path / "test_c_never.py").write_text(NEVER)
    (tmp_path / "test_d_after.py").write_text(AFTER)
    (tmp_path / "hostile.toml").write_text(HOSTILE.format(image=build_hostile()))
    results = tmp_path / "results"
    doing("the inner pytest run: one Linux boot, restores, a pattern that never shows")
    run = run_pytest(tmp_path, "-p", "no:xdist", "-v", "--hvmon-port", qemu.url,
                     "--hvmon-vm", str(LINUX), "--hvmon-results", str(results))
    text = run.stdout + run.stderr
    outcomes = {f"{module}::{test}": outcome for module, test, outcome in
                re.findall(r"^test_(\w)_\w+\.py::(\w+) (PASSED|FAILED|ERROR)", run.stdout, re.M)}
    assert outcomes == {
        "a::test_1_changes_the_shell_its_files_and_memory_then_fails": "FAILED",
        "a::test_2_finds_the_booted_shell_and_only_its_own_output": "PASSED",
        "a::test_3_crashes_the_kernel": "PASSED",
        "a::test_4_has_the_host_scribble_over_the_guest_kernel": "PASSED",
        "a::test_5_gets_the_shell_back_from_one_boot_and_restores_mid_test": "PASSED",
        "b::test_the_module_before_left_no_snapshot_and_no_vm": "PASSED",
        "c::test_1": "ERROR", "c::test_2": "ERROR",
        "d::test_the_module_before_left_no_snapshot_and_no_vm": "PASSED"}, text
    assert "this test fails on purpose, its guest wrecked" in text
    # The pattern that never showed: named, with the timeout and the guest's last words,
    # for the first test; the second is told at once, without a second boot.
    assert re.search(r"hvmon_snapshot: the console of hostile \(.*hostile\.toml\) never "
                     rf"showed the pattern 'NEVER-SHOWS-UP' within {NEVER_TIMEOUT} s, so no "
                     r"snapshot was taken", text), text
    assert "--- last output since the previous match ---" in text and "hostile: done" in text
    assert "as for an earlier test of this module: hvmon_snapshot: the console of hostile" in text
    log = (results / "hvmon-main" / "hvmon.log").read_text()
    assert len(re.findall(r"snapshot suite of linux at '/ # '", log)) == 1, log
    assert "snapshot suite of linux dropped, its VM destroyed, after 6 restore(s)" in log, log
    assert "hostile: no snapshot was taken; its VM destroyed" in log, log
