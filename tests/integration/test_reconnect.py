"""Living through a board reset and an unplugged line, on the real stub in real QEMU:
a REPL sees QEMU's reset button pressed (QMP system_reset on the test's own unix
socket) and, with --reup, brings the stub up again and applies the last plan again;
a REPL whose serial server goes away (a loopback TCP relay the test closes and opens
again, as ser2net or a replugged USB adapter would) waits for it and reconnects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import doing, remaining
from tests.conftest import child_env, qemu_lifetime, run_profile
from tests.integration.test_repl import LINUX, results
from tests.terminal import Terminal
from tests.relay import Relay

pytestmark = [pytest.mark.qemu]
# The reset tests belong to qemu-virt (tests/board_specific.py): the REPL learns of a reset
# from U-Boot's banner on its line, and --reup goes through U-Boot on that line; the host
# cannot yet be told U-Boot's line beside the stub's. The unplugged-line tests run anywhere.
RESET_ON_ONE_LINE = pytest.mark.board_specific(
    "a reset seen, and --reup done, on the one line U-Boot and the stub share on qemu-virt; "
    "on qemu-virt-16550 the REPL holds the stub's own line, where U-Boot never speaks")

HVMON = [sys.executable, "-m", "hvmon.ui.cli"]


def spinning_guest(folder: Path) -> Path:
    """A bare-metal guest that only loops: a VM for a plan, booted in no time."""
    (folder / "spin.S").write_text(".global _start\n_start:\n    wfi\n    b _start\n")
    subprocess.run(["aarch64-linux-gnu-as", str(folder / "spin.S"), "-o", str(folder / "spin.o")],
                   check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-N", "-Ttext=0x40000000", "-e", "_start",
                    str(folder / "spin.o"), "-o", str(folder / "spin.elf")], check=True)
    config = folder / "spin.toml"
    config.write_text('name = "spin"\nmemory = [{ ipa = 0x40000000, size = 0x800000 }]\n'
                      'kernel = "spin.elf"\n')
    plan = folder / "plan.toml"
    plan.write_text('board = "qemu-virt"\nreach = "running"\n[[vm]]\nconfig = "spin.toml"\n')
    return plan


def start_board(request, tmp_path: Path, qmp: bool = False,
                preload: bool = False) -> tuple[QemuBoard, dict]:
    profile = run_profile(request)
    qemu = QemuBoard(profile, lifetime=qemu_lifetime(request),
                     log_path=results(f"test_reconnect/{request.node.name}") / "qemu.log",
                     extra_args=preload_args(LINUX) if preload else None)
    if qmp:
        qemu.enable_qmp()
    qemu.start()
    request.addfinalizer(qemu.stop)
    env = child_env(HVMON_LOCKS=str(tmp_path / "locks"), XDG_STATE_HOME=str(tmp_path / "state"),
                    XDG_CONFIG_HOME=str(tmp_path / "config"), HVMON_BOARD=profile.name)
    doing("bringing the stub up through U-Boot")
    stub_line = ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []
    up = subprocess.run([*HVMON, "-p", qemu.url, "bringup", *stub_line], capture_output=True,
                        text=True, timeout=remaining(), env=env)
    assert up.returncode == 0, up.stderr
    return qemu, env


def terminal(request, command: list[str], env: dict) -> Terminal:
    term = Terminal("hvmon-reconnect", command, {k: env[k] for k in (
        "HVMON_LOCKS", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "HVMON_BOARD")} | {"PYTHONPATH": env.get("PYTHONPATH", "")},
        results("test_reconnect") / f"{request.node.name}.screen")
    request.addfinalizer(term.close)
    return term


@RESET_ON_ONE_LINE
@pytest.mark.budget(bringups=2, processes=3)
def test_a_reset_board_is_reported_and_with_reup_the_stub_and_plan_come_back(request, tmp_path):
    qemu, env = start_board(request, tmp_path, qmp=True)
    plan = spinning_guest(tmp_path)
    doing("applying the plan once, so that --reup has one to apply again")
    applied = subprocess.run([*HVMON, "-p", qemu.url, "up", str(plan), "--no-terminal"],
                             capture_output=True, text=True, timeout=remaining(), env=env)
    assert applied.returncode == 0, applied.stderr
    term = terminal(request, [*HVMON, "--reup", "-p", qemu.url, "repl"], env)
    term.wait(r"^hvmon>$")
    term.type("vm li")                                  # half typed when the board resets
    assert qemu.qmp("system_reset") == {"return": {}}
    term.wait(r"^hvmon: board reset: U-Boot's banner seen on the line$")
    term.wait(r"^hvmon: --reup: bringing the stub up again$")
    screen = term.wait(r"^hvmon: --reup: stub \S+ back on \S+ with plan\.toml applied$")
    assert "created spin" in screen, screen[-2000:]
    term.wait(r"^hvmon> vm li$")                        # what was typed is still there
    term.type("st")
    term.keys("Enter")
    term.wait(r"^\d+  spin +running +1 vCPU\nhvmon>$")
    term.type("hvc echo 4 5 6")
    term.keys("Enter")
    term.wait(r"c = 0x6 \(6\)\n\s*hvmon>$")
    term.keys("C-d")
    term.wait(r"terminal-exited-0")


@RESET_ON_ONE_LINE
@pytest.mark.budget(bringups=1, processes=2, seconds=3)
def test_without_reup_a_reset_is_reported_and_the_repl_carries_on(request, tmp_path):
    qemu, env = start_board(request, tmp_path, qmp=True)
    term = terminal(request, [*HVMON, "-p", qemu.url, "repl"], env)
    term.wait(r"^hvmon>$")
    assert qemu.qmp("system_reset") == {"return": {}}
    term.wait(r"^hvmon: board reset: U-Boot's banner seen on the line$")
    term.wait(r"^hvmon: the stub is gone: `bringup` brings it up again \(--reup does it by "
              r"itself\)\nhvmon>$")
    term.type("bringup")                                # and the REPL does just that
    term.keys("Enter")
    term.wait(r"^hvmon: stub \S+ up on qemu-virt at EL2")
    term.type("hvc echo 1 2 3")
    term.keys("Enter")
    term.wait(r"c = 0x3 \(3\)\n\s*hvmon>$")
    term.keys("C-d")
    term.wait(r"terminal-exited-0")


@pytest.mark.budget(bringups=1, processes=3)
def test_an_unplugged_line_is_waited_for_and_the_repl_reconnects(request, tmp_path):
    qemu, env = start_board(request, tmp_path)
    relay = Relay(qemu.stub_port or qemu.port)     # the stub's line
    request.addfinalizer(relay.unplug)
    term = terminal(request, [*HVMON, "-p", relay.url, "repl"], env)
    term.wait(r"^hvmon>$")
    term.type("hvc echo 1 2 3")
    term.keys("Enter")
    term.wait(r"c = 0x3 \(3\)\n\s*hvmon>$")
    relay.unplug()
    term.wait(rf"^hvmon: port {relay.url} gone; waiting for it to come back$")
    doing("another hvmon while the line is unplugged: the waiting REPL still owns the board")
    other = subprocess.run([*HVMON, "-p", relay.url, "info"], capture_output=True, text=True,
                           timeout=remaining(), env=env)
    assert other.returncode == 3 and f"port {relay.url} is in use by pid" in other.stderr, \
        other.stderr
    assert "reconnected" not in term.screen()
    relay.plug()
    term.wait(rf"^hvmon: reconnected to the stub on {relay.url}\nhvmon>$")
    term.type("hvc echo 7 8 9")
    term.keys("Enter")
    term.wait(r"c = 0x9 \(9\)\n\s*hvmon>$")
    term.keys("C-d")
    term.wait(r"terminal-exited-0")


@pytest.mark.budget(bringups=1, boots=1, processes=3)
def test_an_attached_console_waits_for_its_unplugged_line_and_attaches_again(request, tmp_path):
    qemu, env = start_board(request, tmp_path, preload=True)
    relay = Relay(qemu.stub_port or qemu.port)     # the stub's line
    request.addfinalizer(relay.unplug)
    created = subprocess.run([*HVMON, "-p", relay.url, "vm", "create", str(LINUX), "--start"],
                             capture_output=True, text=True, timeout=remaining(), env=env)
    assert created.returncode == 0, created.stderr
    term = terminal(request, [*HVMON, "-p", relay.url, "console", "linux"], env)
    term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---")
    term.wait(r"^/ #$")
    relay.unplug()
    term.wait(rf"^hvmon: port {relay.url} gone; waiting for it to come back$")
    relay.plug()
    term.wait(rf"^hvmon: reconnected to the stub on {relay.url}$")
    term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---(.|\n)*--- console of "
              r"linux")
    term.type("echo back-$((40 + 2))")
    term.keys("Enter")
    term.wait(r"^back-42$")
    term.keys("C-]")
    term.wait(r"--- detached ---\n(.|\n)*terminal-exited-0")


@pytest.mark.budget(bringups=1, processes=3)
def test_term_waits_for_its_unplugged_line_and_attaches_again(request, tmp_path):
    qemu, env = start_board(request, tmp_path)
    relay = Relay(qemu.stub_port or qemu.port)     # the stub's line
    request.addfinalizer(relay.unplug)
    text = subprocess.run([*HVMON, "-p", relay.url, "text"], capture_output=True, text=True,
                          timeout=remaining(), env=env)
    assert text.returncode == 0, text.stderr
    term = terminal(request, [*HVMON, "-p", relay.url, "term"], env)
    term.wait(r"--- hvmon terminal on .* --- Ctrl-\] leaves ---\n(.|\n)*^hvmon>$")
    relay.unplug()
    term.wait(rf"hvmon: port {relay.url} gone; waiting for it to come back")
    relay.plug()
    term.wait(rf"^hvmon: port {relay.url} back$")
    term.type("crc 0x40200000 0x40")
    term.keys("Enter")
    term.wait(r"0x[0-9a-f]{8}\s*\nhvmon>$")
    term.keys("C-]")
    term.wait(r"--- left the terminal ---\n(.|\n)*terminal-exited-0")


@RESET_ON_ONE_LINE
@pytest.mark.budget(bringups=2, boots=2, processes=3)
def test_a_console_with_reup_comes_back_to_its_guest_after_a_reset(request, tmp_path):
    qemu, env = start_board(request, tmp_path, qmp=True, preload=True)
    plan = tmp_path / "linux-plan.toml"
    plan.write_text(f'board = "qemu-virt"\nreach = "running"\n[[vm]]\nconfig = "{LINUX}"\n'
                    'wait_for = "/ # "\ntimeout = 120\n')
    doing("applying the Linux plan once, so that --reup has one to apply again")
    applied = subprocess.run([*HVMON, "-p", qemu.url, "up", str(plan), "--no-terminal"],
                             capture_output=True, text=True, timeout=remaining(), env=env)
    assert applied.returncode == 0, applied.stderr
    term = terminal(request, [*HVMON, "--reup", "-p", qemu.url, "console", "linux"], env)
    term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---")
    term.keys("Enter")
    term.wait(r"^/ #$")
    assert qemu.qmp("system_reset") == {"return": {}}
    term.wait(r"^hvmon: board reset: U-Boot's banner seen on the line$")
    term.wait(r"^hvmon: --reup: stub \S+ back on \S+ with linux-plan\.toml applied$")
    screen = term.wait(r"--- console of linux \(VM \d+\) --- Ctrl-\] detaches ---(.|\n)*"
                       r"--- console of linux \(VM \d+\)")
    assert "created linux" in screen, screen[-2000:]
    term.wait(r"/ #\s*$")
    term.type("echo after-reset-$((40 + 2))")
    term.keys("Enter")
    term.wait(r"^after-reset-42$")
    term.keys("C-]")
    term.wait(r"--- detached ---\n(.|\n)*terminal-exited-0")
