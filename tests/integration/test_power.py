"""Power verbs on the real stub in real QEMU: `hvmon power`, `up` from a board that is
off, and the `power` fixture. The board's [power] commands here start and stop a QEMU
board (`hvmon qemu` in the background, stopped by its PID), as a relay would a real one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hvmon.bringup.qemu import free_loopback_port
from tests.budget import remaining
from tests.conftest import REPO, child_env, run_profile

pytestmark = [pytest.mark.qemu]

POWER_FIXTURE = '''
def test_1_off_and_on_again(board, power, hvmon_target):
    power.off()
    assert not hvmon_target.alive() and not hvmon_target.qemu.running()
    power.on()
    again = power.boot_stub()
    assert again.hvc("echo", 1, 2, 3).results == {"a": 1, "b": 2, "c": 3}

def test_2_a_cycle_leaves_the_board_at_u_boot(power):
    power.cycle()

def test_3_the_next_test_finds_the_stub_again(board, hvmon_target):
    assert board.hvc("echo", 4, 5, 6).results == {"a": 4, "b": 5, "c": 6}
    assert hvmon_target.recoveries == ["the stub stopped answering"]
'''


def powered_profile(tmp_path: Path, port: int) -> dict[str, str]:
    """A copy of the qemu-virt profile whose [power] on starts its QEMU board in the
    background and off stops it; the environment that makes hvmon use it."""
    boards = tmp_path / "boards"
    shutil.copytree(REPO / "boards/qemu-virt", boards / "qemu-virt")
    pid = tmp_path / "qemu.pid"
    # `on` returns once the board's line is there, as a relay's command that waits for the
    # board's USB serial port would: `hvmon qemu` prints its URL when QEMU listens.
    on = (f"{sys.executable} -m hvmon.ui.cli -b qemu-virt qemu --tcp-port {port} --for 600 "
          f"> {tmp_path}/qemu-out.log 2>&1 & echo $! > {pid}; for i in $(seq 150); do "
          f"grep -q socket:// {tmp_path}/qemu-out.log && break; sleep 0.1; done")
    off = f"kill $(cat {pid}); while kill -0 $(cat {pid}) 2>/dev/null; do sleep 0.1; done"
    with open(boards / "qemu-virt/board.toml", "a") as f:
        f.write(f"\n[power]\non = {on!r}\noff = {off!r}\ntimeout = 20\n".replace("'", '"'))
    return child_env(HVMON_BOARDS=str(boards))


def hvmon(env, *args):
    return subprocess.run([sys.executable, "-m", "hvmon.ui.cli", *args], capture_output=True,
                          text=True, timeout=remaining(), env=env)


@pytest.mark.board_specific(
    "a copy of qemu-virt's profile whose [power] on starts it, and `up` from off on the one "
    "line power gives: qemu-virt-16550's stub talks on a second line, which `up` with "
    "reach = \"off\" cannot take yet (up --stub-port refuses it)")
@pytest.mark.budget(bringups=2, processes=6)
def test_power_verbs_and_up_from_off(tmp_path):
    port = free_loopback_port()
    env = powered_profile(tmp_path, port)
    url = f"socket://127.0.0.1:{port}"
    plan = tmp_path / "plan.toml"
    plan.write_text('board = "qemu-virt"\nreach = "off"\n')
    try:
        up = hvmon(env, "-p", url, "up", str(plan), "--no-terminal")
        assert up.returncode == 0, up.stderr
        assert "[power] on: " in up.stderr and "stub " in up.stderr
        info = hvmon(env, "-p", url, "info")
        assert info.returncode == 0 and "on qemu-virt" in info.stdout, info.stderr
        # No reset or power_cycle command: reset is a cycle, off then on.
        reset = hvmon(env, "-p", url, "power", "reset")
        assert reset.returncode == 0, reset.stderr
        assert reset.stdout.strip() == "power reset: qemu-virt (off + on)"
        again = hvmon(env, "-p", url, "bringup")      # the new board is at U-Boot
        assert again.returncode == 0, again.stderr
        off = hvmon(env, "power", "off")
        assert off.returncode == 0, off.stderr
        gone = hvmon(env, "-p", url, "info")
        assert gone.returncode == 3 and "cannot open" in gone.stderr
    finally:
        pid = tmp_path / "qemu.pid"
        if pid.exists():                              # the hvmon qemu this test started
            try:
                os.kill(int(pid.read_text()), 15)
            except ProcessLookupError:
                pass


@pytest.mark.budget(bringups=3, processes=1)
def test_the_power_fixture_switches_the_board_and_the_next_test_recovers(request, tmp_path):
    (tmp_path / "test_power_rig.py").write_text(POWER_FIXTURE)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir",
                          str(tmp_path), "test_power_rig.py", "--hvmon-results",
                          str(tmp_path / "results"), "--hvmon-board", run_profile(request).name], cwd=tmp_path, capture_output=True,
                         text=True, timeout=remaining(), env=child_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"3 passed", run.stdout), run.stdout
