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

from hvmon.boards import load_profile
from hvmon.qemu import QemuBoard
from tests.conftest import QEMU_LIFETIME, results_dir

pytestmark = pytest.mark.qemu

HVMON = [sys.executable, "-m", "hvmon.cli"]


def hvmon(*args, timeout=60):
    return subprocess.run([*HVMON, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def qemu(request):
    board = QemuBoard(load_profile("qemu-virt"), log_path=results_dir(request) / "qemu.log",
                       lifetime=QEMU_LIFETIME)
    board.start()
    yield board
    board.stop()


def test_bringup_then_monitor_commands_from_the_command_line(qemu):
    up = hvmon("-p", qemu.url, "bringup")
    assert up.returncode == 0, up.stderr
    assert re.search(r"stub \S+ up on qemu-virt at EL2: \d+ bytes, .* total [\d.]+ s", up.stderr)
    assert "hvmon 0.1.0 on qemu-virt at EL2" in up.stdout
    dump = hvmon("-p", qemu.url, "monitor", "md 0x40200038 8; crc 0x40200000 0x40")
    assert dump.returncode == 0, dump.stderr
    assert "|ARMd....|" in dump.stdout and "crc32 0x40200000+0x40 = 0x" in dump.stdout
    refused = hvmon("-p", qemu.url, "monitor", "md 0x1000")
    assert refused.returncode == 5
    assert refused.stderr.strip() == \
        "hvmon: error: stub refused 'md 0x1000': refused: 0x1000 is outside RAM"


def test_unreachable_port_is_one_line_and_exit_code_3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens there once closed
    result = hvmon("-p", f"socket://127.0.0.1:{port}", "bringup")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hvmon: error: cannot open socket://127.0.0.1:{port}")


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


def test_hvmon_qemu_prints_the_url_and_stops_by_itself():
    process = subprocess.Popen([*HVMON, "qemu", "--for", "3", "--no-wait"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    assert re.fullmatch(r"socket://127\.0\.0\.1:\d+", url)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(10)
        seen = b""
        while b"U-Boot" not in seen:
            seen += conn.recv(4096)
    assert process.wait(timeout=30) == 0
    assert "QEMU stopped" in process.stderr.read()


def test_make_demo_leaves_the_user_at_the_monitor_prompt(tmp_path):
    """What `make demo` runs, in a real terminal (tmux): prompt, a command, Ctrl-] out."""
    session = f"hvmon-demo-{os.getpid()}"
    hvmon_bin = Path(sys.executable).with_name("hvmon")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                    f"{hvmon_bin} demo; echo demo-exited-$?; sleep 30"], check=True)
    try:
        screen = wait_screen(session, r"^hvmon>$", 60)
        assert "hvmon 0.1.0 on qemu-virt at EL2" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "info", "Enter"], check=True)
        screen = wait_screen(session, r"MIDR_EL1 .*\n(.*\n)*hvmon>$", 20)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-]"], check=True)
        screen = wait_screen(session, r"demo-exited-0", 20)
        assert "QEMU stopped" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def wait_screen(session: str, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                text=True).stdout.rstrip("\n") + "\n"
        screen = "\n".join(line.rstrip() for line in screen.splitlines())
        if re.search(pattern, screen, re.M):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"terminal never showed {pattern!r}; screen:\n{screen}")
