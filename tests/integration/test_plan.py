"""`hvmon up PLAN.toml` against the QEMU board: the first run brings the stub up through
U-Boot and boots the guest to its shell; a second run finds everything unchanged and
skips it, fast; a changed VM config is recreated; bad plans and a silent line fail with
one line and the documented exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import remaining
from tests.conftest import qemu_lifetime, run_profile
from tests.integration.test_repl import HVMON, LINUX, results

# The module's board at U-Boot; `up` brings the stub in and boots the plan's guest.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, processes=3)]


@pytest.fixture(scope="module")
def qemu(request) -> QemuBoard:
    """A QEMU board left at U-Boot: `up` itself must bring the stub in."""
    board = QemuBoard(run_profile(request), smp=3, log_path=results("test_plan") / "qemu.log",
                      lifetime=qemu_lifetime(request), extra_args=preload_args(LINUX))
    board.start()
    request.addfinalizer(board.stop)
    return board


def stub_line(qemu: QemuBoard) -> list[str]:
    """up's --stub-port where the profile gives the stub a line of its own."""
    return ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []


@pytest.fixture(scope="module")
def board(request) -> str:
    return run_profile(request).name


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("state")
    env = {k: v for k, v in os.environ.items() if k not in ("HVMON_PORT", "HVMON_BOARD")}
    env.update(XDG_CONFIG_HOME=str(state / "config"), XDG_STATE_HOME=str(state / "state"))
    return env


def hvmon(env, *args, timeout=None):
    started = time.monotonic()
    result = subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=timeout or remaining(), env=env)
    result.seconds = time.monotonic() - started
    return result


def write_plan(folder: Path, board: str, config: Path = LINUX, reach: str = "uboot") -> Path:
    plan = folder / "plan.toml"
    plan.write_text(f'board = "{board}"\nreach = "{reach}"\n'
                    f'[[vm]]\nconfig = "{config}"\nwait_for = "/ # "\ntimeout = 120\n')
    return plan


@pytest.mark.budget(boots=1)
def test_up_twice_the_second_run_skips_unchanged_work(qemu, board, env, tmp_path):
    plan = write_plan(tmp_path, board)
    first = hvmon(env, "-p", qemu.url, "up", str(plan), *stub_line(qemu))
    assert first.returncode == 0, first.stderr
    assert f"no stub answers on {qemu.stub_url}: bringing it up through U-Boot" in first.stderr
    assert "linux: creating from" in first.stderr
    assert "linux: console showed '/ # ' after" in first.stderr
    assert first.stdout.startswith("up: created linux, started linux in ")

    second = hvmon(env, "-p", qemu.url, "--json", "up", str(plan), *stub_line(qemu))
    assert second.returncode == 0, second.stderr
    assert "the stub answers on" in second.stderr and "U-Boot" not in second.stderr
    assert "linux: running and unchanged since it was created on this boot: skipped" in second.stderr
    report = json.loads(second.stdout)
    assert (report["created"], report["skipped"], report["started"]) == ([], ["linux"], [])
    # What was skipped is asserted above; how long each run took is only reported (a
    # timed assert would pass or fail by the machine's load).
    print(f"first up {first.seconds:.1f} s, second up {second.seconds:.1f} s")

    # The guest really is the one the first run started, still at its shell.
    listed = hvmon(env, "-b", board, "-p", qemu.stub_url, "vm", "list")
    assert listed.stdout.split()[:3] == ["0", "linux", "running"]


def spinner(folder: Path, memory: int) -> Path:
    """A guest that only spins (an ELF: nothing for a running Linux to scribble over, so
    a re-push is quick)."""
    source = folder / "spin.S"
    source.write_text(".global _start\n_start:\n    wfi\n    b _start\n")
    subprocess.run(["aarch64-linux-gnu-as", str(source), "-o", str(folder / "spin.o")], check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start",
                    str(folder / "spin.o"), "-o", str(folder / "spin.elf")], check=True)
    config = folder / "spin.toml"
    config.write_text(f'name = "spin"\nmemory = [{{ ipa = 0x40000000, size = {memory:#x} }}]\n'
                      'kernel = "spin.elf"\n')
    return config


@pytest.mark.budget(boots=2)
def test_a_changed_config_is_recreated_and_an_unchanged_one_skipped(qemu, board, env, tmp_path):
    config = spinner(tmp_path, 0x800000)
    plan = tmp_path / "spin-plan.toml"
    plan.write_text(f'board = "{board}"\n[[vm]]\nconfig = "spin.toml"\n')
    first = hvmon(env, "-p", qemu.url, "up", str(plan), *stub_line(qemu))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("up: created spin, started spin")
    assert "skipped spin (unchanged)" in hvmon(env, "-p", qemu.url, "up", str(plan),
                                               *stub_line(qemu)).stdout
    config.write_text(config.read_text().replace("0x800000", "0xa00000"))
    changed = hvmon(env, "-p", qemu.url, "up", str(plan), *stub_line(qemu))
    assert changed.returncode == 0, changed.stderr
    assert "spin: exists (running; changed, or not created by a plan on this boot): destroying" \
        in changed.stderr
    assert changed.stdout.startswith("up: created spin, started spin")
    listed = hvmon(env, "-b", board, "-p", qemu.stub_url, "vm", "list", "+", "vm", "destroy", "spin")
    assert [line.split()[1:3] for line in listed.stdout.splitlines()[:2]] == \
        [["linux", "running"], ["spin", "running"]]


@pytest.mark.budget(seconds=60)
def test_bad_plans_and_a_silent_line(board, env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'board = "{board}"\nreach = "telepathy"\n')
    result = hvmon(env, "up", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == \
        [f"hvmon: error: {bad}: reach: must be one of running, uboot, off, not 'telepathy'"]
    plan = write_plan(tmp_path, board, reach="running")
    with socket.socket() as server:                 # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        result = hvmon(env, "-p", url, "up", str(plan), timeout=60)
    assert result.returncode == 4
    assert result.stderr.strip().splitlines()[-1].startswith(
        "hvmon: error: reach the stub: no answer from the stub on socket://127.0.0.1:")
