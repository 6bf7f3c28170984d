"""The `hvmon` command as a user runs it: real processes, real QEMU, real U-Boot."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvmon.bringup.qemu import QemuBoard
from tests.budget import REPO
from tests.conftest import qemu_lifetime, run_profile
from tests.integration.test_repl import results
from tests.terminal import Terminal

# Each test starts its own QEMU board (or none) and a few CLI processes.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, processes=4)]

HVMON = [sys.executable, "-m", "hvmon.ui.cli"]
HVMON_BIN = Path(sys.executable).with_name("hvmon")     # the console script, as a user runs it


def hvmon(*args, timeout=60):
    return subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def board(request) -> str:
    """The run's board profile (--hvmon-board), which every CLI process here is told."""
    return run_profile(request).name


@pytest.fixture
def qemu(request):
    board = QemuBoard(run_profile(request), log_path=results(f"test_cli/{request.node.name}") / "qemu.log",
                       lifetime=qemu_lifetime(request))
    board.start()
    yield board
    board.stop()


def stub_line(qemu: QemuBoard) -> list[str]:
    """bringup's --stub-port where the profile gives the stub a line of its own."""
    return ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []


def test_bringup_then_monitor_commands_from_the_command_line(qemu, board):
    up = hvmon("-b", board, "-p", qemu.url, "bringup", "--text", *stub_line(qemu))
    assert up.returncode == 0, up.stderr
    assert re.search(rf"stub \S+ up on {board} at EL2: \d+ bytes, .* total [\d.]+ s", up.stderr)
    assert f"hvmon 0.1.0 on {board} at EL2" in up.stdout
    dump = hvmon("-b", board, "-p", qemu.stub_url, "monitor", "md 0x40200038 8; crc 0x40200000 0x40")
    assert dump.returncode == 0, dump.stderr
    assert "|ARMd....|" in dump.stdout and "crc32 0x40200000+0x40 = 0x" in dump.stdout
    refused = hvmon("-b", board, "-p", qemu.stub_url, "monitor", "md 0x1000")
    assert refused.returncode == 5
    assert refused.stderr.strip() == \
        "hvmon: error: stub refused 'md 0x1000': refused: 0x1000 is outside RAM"


def test_bringup_ends_in_framed_mode_and_the_framed_commands_work(qemu, board, tmp_path):
    up = hvmon("-b", board, "-p", qemu.url, "bringup", *stub_line(qemu))
    assert up.returncode == 0, up.stderr
    assert "protected  0x0000000040200000-" in up.stdout and " stub" in up.stdout
    info = hvmon("-b", board, "-p", qemu.stub_url, "info")
    assert info.returncode == 0 and "capabilities: DEFLATE, CRC_LIST, HVC" in info.stdout
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(70_000) + b"\0" * 200_000)
    first = hvmon("-b", board, "-p", qemu.stub_url, "load", str(payload), "0x48000000")
    assert first.returncode == 0, first.stderr
    assert "CRC verified" in first.stdout
    again = hvmon("-b", board, "-p", qemu.stub_url, "load", str(payload), "0x48000000")
    assert f"{payload.stat().st_size} unchanged" in again.stdout
    back = tmp_path / "back.bin"
    read = hvmon("-b", board, "-p", qemu.stub_url, "read", "0x48000000", str(payload.stat().st_size),
                 "-o", str(back))
    assert read.returncode == 0 and back.read_bytes() == payload.read_bytes()
    echo = hvmon("-b", board, "-p", qemu.stub_url, "hvc", "echo", "1", "0x22", "3")
    assert echo.stdout.splitlines() == ["echo: x0 = 0 (OK)", "  a = 0x1 (1)", "  b = 0x22 (34)",
                                        "  c = 0x3 (3)"]
    unknown = hvmon("-b", board, "-p", qemu.stub_url, "hvc", "0xc600ffff")
    assert unknown.returncode == 5 and "NOT_SUPPORTED" in unknown.stdout
    refused = hvmon("-b", board, "-p", qemu.stub_url, "load", str(payload), "0x40200000")
    assert refused.returncode == 2 and "overlaps the protected range stub" in refused.stderr
    bad = hvmon("-b", board, "-p", qemu.stub_url, "read", "0x4800zz", "16", "-o", str(back))
    assert bad.returncode == 2 and "bad number '0x4800zz' for ADDR" in bad.stderr
    back_to_text = hvmon("-b", board, "-p", qemu.stub_url, "text")
    assert back_to_text.returncode == 0
    monitor = hvmon("-b", board, "-p", qemu.stub_url, "monitor", "info")
    assert "at EL2" in monitor.stdout


def test_unreachable_port_is_one_line_and_exit_code_3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens there once closed
    result = hvmon("-p", f"socket://127.0.0.1:{port}", "bringup")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hvmon: error: cannot open socket://127.0.0.1:{port}")


@pytest.mark.budget(seconds=1)
def test_a_silent_line_times_out_naming_the_step():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        result = hvmon("-p", url, "bringup", "--timeout", "1")
    assert result.returncode == 4
    assert "wait for the U-Boot prompt: no prompt '=> ' within 1 s" in result.stderr


def test_missing_port_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "HVMON_PORT"}
    result = subprocess.run([*HVMON, "bringup"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "no port: give -p PORT" in result.stderr


def test_hvmon_qemu_prints_the_url_and_stops_by_itself(board):
    process = subprocess.Popen([*HVMON, "-b", board, "qemu", "--for", "3", "--no-wait"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    assert re.fullmatch(r"socket://127\.0\.0\.1:\d+", url)
    port = int(url.rsplit(":", 1)[1])
    seen = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:      # until QEMU stops and closes the line
            try:
                chunk = conn.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                break
            seen += chunk
    assert seen, "the board printed nothing on its serial line"
    assert process.wait(timeout=30) == 0
    assert "QEMU stopped" in process.stderr.read()


def test_demo_monitor_leaves_the_user_at_the_monitor_prompt(board):
    """`hvmon demo --monitor` in a real terminal (tmux): prompt, a command, Ctrl-] out."""
    term = Terminal("hvmon-demo", [str(HVMON_BIN), "-b", board, "demo", "--monitor"], width=160)
    try:
        screen = term.wait(r"^hvmon>$")
        assert f"hvmon 0.1.0 on {board} at EL2" in screen
        term.keys("info", "Enter")
        term.wait(r"MIDR_EL1 .*\n(.*\n)*hvmon>$")
        term.keys("C-]")
        screen = term.wait(r"terminal-exited-0")
        assert "QEMU stopped" in screen
    finally:
        term.close()


def demo_board() -> str:
    """The board `make demo` runs on: the Makefile's DEMO_BOARD."""
    found = re.search(r"^DEMO_BOARD \?= (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert found, "Makefile: no `DEMO_BOARD ?= ...` line"
    return found.group(1)


def demo_reaches_the_shell(board: str) -> None:
    """`hvmon -b BOARD demo` in a real terminal (tmux): the guest's shell, a command
    there, Ctrl-] out and QEMU stopped."""
    term = Terminal("hvmon-demo-linux", [str(HVMON_BIN), "-b", board, "demo"], width=160)
    try:
        # The shell's prompt; tmux may answer its cursor-position query, which the guest
        # then echoes after it (`/ # ^[[50;5R`).
        term.wait(r"^/ #( \^\[\[\d+;\d+R)?$")
        term.keys("echo guest-$((40+2)); uname -m", "Enter")
        term.wait(r"guest-42\s*\n\s*aarch64")
        term.keys("C-]")
        screen = term.wait(r"terminal-exited-0")
        assert "QEMU stopped" in screen
    finally:
        term.close()


# Debian's kernel and the initramfs go over the stub's line, compressed (about 8 MB
# for the 6.1 Image, 1 MB of initramfs: cache/guest/), then one boot: 60-90 s, so in the
# run on the demo's board, where it replaces test_demo_on_the_runs_board.
@pytest.mark.runs_on_board("qemu-virt-16550", "runs the Makefile's DEMO_BOARD "
                           "(qemu-virt-16550), whatever the run's board: the run on that board "
                           "has it (make test-16550), make test runs hvmon demo on qemu-virt")
@pytest.mark.budget(boots=1, line_bytes=9_500_000)
def test_make_demo_ends_at_the_linux_guest_shell():
    """What `make demo` runs: the stub through U-Boot, Debian's kernel pushed over the
    stub's line and booted as a guest, and the terminal on its console."""
    demo_reaches_the_shell(demo_board())


# The run's board's demo: on qemu-virt its images are preloaded. On qemu-virt-16550 this
# would be `make demo` again, which test_make_demo_ends_at_the_linux_guest_shell runs there.
@pytest.mark.board_specific("on qemu-virt-16550 test_make_demo_ends_at_the_linux_guest_shell "
                            "runs make demo itself, the same guest over the same line")
@pytest.mark.budget(boots=1, line_bytes=9_500_000)
def test_demo_on_the_runs_board(board):
    """`hvmon demo` on the run's board, from the shell prompt to Ctrl-]."""
    demo_reaches_the_shell(board)
