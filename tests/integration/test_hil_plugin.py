"""The hvmon pytest plugin from the outside: pytest runs test files with it as a user
would (a subprocess, the plugin loaded through its entry point), on QEMU boards it starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.budget import remaining
from tests.conftest import REPO, child_env, run_profile

# Each test runs pytest as a user would, with the QEMU boards and guests its plugin starts.
# The inner runs use the outer run's board (--hvmon-board).
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1)]

STUB_HANGS = '''
import os

B_DOT = 0x14000000                  # `b .`: the stub jumps into it and never answers again

def test_1_the_stub_hangs(board, hvmon_target):
    board.write(0x48000000, B_DOT.to_bytes(4, "little"))
    board.jump(0x48000000)
    assert not hvmon_target.alive()

def test_2_the_next_test_gets_a_recovered_board(board, hvmon_target):
    assert hvmon_target.recoveries == ["the stub stopped answering"]
    assert board.hvc("echo", 7, 8, 9).results == {"a": 7, "b": 8, "c": 9}
    data = os.urandom(4096)
    board.write(0x48000000, data)
    assert board.read(0x48000000, len(data)) == data

def test_3_a_console_that_never_says_it(console):
    console.expect(r"/ # ", timeout=90)
    console.send("echo marker-$((40+2))")
    console.expect(r"marker-42")
    console.expect(r"NEVER-PRINTED", timeout=3)
'''


def run_pytest(folder: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(folder), *args], cwd=folder, capture_output=True,
                          text=True, timeout=timeout or remaining(), env=child_env())


@pytest.mark.budget(processes=1, bringups=3, boots=1, seconds=3)
def test_recovery_runs_the_power_command_and_resets_qemu_and_failures_carry_the_logs(request,
                                                                                      tmp_path):
    board = run_profile(request).name
    mark = tmp_path / "reset-pressed"
    profile = tmp_path / "board.toml"
    profile.write_text((REPO / "boards" / board / "board.toml").read_text()
                       + f'\n[power]\nreset = "echo $HVMON_BOARD >> {mark}"\n')
    (tmp_path / "test_rig.py").write_text(STUB_HANGS)
    results = tmp_path / "results"
    run = run_pytest(tmp_path, "test_rig.py", "--hvmon-board", str(profile),
                     "--hvmon-vm", str(REPO / "boards/qemu-virt/linux.toml"),
                     "--hvmon-results", str(results))
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert re.search(r"1 failed, 2 passed", out), out
    # Recovery: the profile's [power] reset ran (once), then QEMU's reset and a bring-up.
    assert mark.read_text().split() == [board]
    log = (results / "hvmon-main" / "hvmon.log").read_text()
    assert "recovering the board: the stub stopped answering" in log
    assert "[power] reset: echo $HVMON_BOARD" in log
    # The failed expect names pattern and timeout and shows what the guest said last.
    assert "console of linux: no 'NEVER-PRINTED' within 3 s" in out
    assert "last output since the previous match" in out and "marker-42" in out
    # Every test's traffic is in its own folder; the failing test's files are in its report.
    failing = results / "test_rig.py_test_3_a_console_that_never_says_it"
    console_log = failing / "console-0-linux.log"
    assert b"Linux version" in console_log.read_bytes()
    assert f"console of VM 0 linux: {console_log}" in out
    assert f"serial line: {failing / 'serial.log'}" in out
    assert "hvmon console of VM 0 linux (last 3000 bytes of console-0-linux.log)" in out
    hang = results / "test_rig.py_test_1_the_stub_hangs"
    assert (hang / "framed-rx.bin").stat().st_size > 0
    recovered = (results / "test_rig.py_test_2_the_next_test_gets_a_recovered_board"
                 / "serial.log").read_bytes()
    assert b"U-Boot" in recovered and b"hvmon 0." in recovered     # the bring-up, logged


def readme_example_is_in(heading: str, example_file: str) -> None:
    """What README.md shows in the first python block under `heading` is in the example
    file the test runs, line for line."""
    readme = (REPO / "README.md").read_text()
    shown = readme.split(heading)[1].split("```python")[1].split("```")[0]
    example = (REPO / example_file).read_text()
    for line in shown.strip().splitlines():
        assert line in example.splitlines(), line


@pytest.mark.budget(processes=1, bringups=1, boots=1)
def test_the_readme_example_passes_as_written(request):
    readme_example_is_in("## Hardware-in-the-loop tests", "examples/test_board_example.py")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                          "examples/test_board_example.py", "--hvmon-board", run_profile(request).name],
                         cwd=REPO, capture_output=True,
                         text=True, timeout=remaining(), env=child_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"4 passed, 1 skipped", run.stdout), run.stdout
    assert "needs real hardware; this run's board is the QEMU board the hvmon plugin started" \
           in run.stdout
    assert "the RK3588's second UART is wired to a loopback plug" in run.stdout


@pytest.mark.budget(processes=1, bringups=1, boots=1)
def test_a_bring_up_plan_makes_its_vms_and_the_console_fixture_uses_them(request, tmp_path):
    """--hvmon-plan: the plan's [qemu] table and preload shape the QEMU board, its VMs are
    created and waited for after the bring-up, and `console` is the plan's console VM."""
    plan = REPO / "boards" / run_profile(request).name / "demo.toml"
    results = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "examples/test_board_example.py", "-k", "answers or shell",
                          "--hvmon-plan", str(plan), "--hvmon-results", str(results)],
                         cwd=REPO, capture_output=True, text=True, timeout=remaining(),
                         env=child_env(XDG_STATE_HOME=str(tmp_path / "state")))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"2 passed", run.stdout), run.stdout
    log = (results / "hvmon-main" / "hvmon.log").read_text()
    assert "linux: creating from" in log and "linux: started" in log
    assert re.search(r"linux: console showed '/ # ' after [\d.]+ s", log), log
