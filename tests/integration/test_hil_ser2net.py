"""A remote board through ser2net: QEMU's serial line on a pty, exported by ser2net (the
Debian package) as RFC 2217 on loopback, and the hvmon plugin given only
--hvmon-port rfc2217://127.0.0.1:PORT: it brings the stub up through U-Boot over the
network port and runs framed tests on it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from hvmon.bringup.board_profile import load_profile
from hvmon.bringup.qemu import QemuBoard, free_loopback_port
from tests.budget import remaining
from tests.conftest import child_env, qemu_lifetime, results_dir

# ser2net, a pytest inside, one bring-up through RFC 2217 and 70 KB each way.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, processes=2, line_bytes=200_000)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "starts qemu-virt itself: its one pty behind ser2net as RFC 2217, for a plugin run "
    "given only that port; qemu-virt-16550's stub talks on a second line, which "
    "--hvmon-port cannot name yet"))

REMOTE_TESTS = '''
import os

def test_the_stub_answers_over_rfc2217(board, hvmon_target):
    assert hvmon_target.url.startswith("rfc2217://127.0.0.1:")
    assert hvmon_target.qemu is None                 # a port, not a board the plugin started
    assert hvmon_target.bringup is not None          # brought up through U-Boot over the network
    info = board.info(refresh=True)
    assert info.board == "qemu-virt"
    data = os.urandom(32 * 1024) + bytes(range(256)) * 16     # every byte value, IAC 0xff too
    board.write(0x48000000, data, compress=False, skip_unchanged=False)
    assert board.read(0x48000000, len(data)) == data
'''


def ser2net_config(path, pty: str, port: int) -> None:
    path.write_text(f"""%YAML 1.1
---
connection: &qemu
    accepter: telnet(rfc2217),tcp,127.0.0.1,{port}
    connector: serialdev,{pty},115200n81,local
    options:
      kickolduser: true
""")


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"ser2net exited with {process.returncode}"
        needle = f":{port:04X} "
        with open("/proc/net/tcp") as f:
            if any(needle in line and line.split()[3] == "0A" for line in f):
                return
        time.sleep(0.05)
    raise AssertionError(f"ser2net did not listen on 127.0.0.1:{port} within {timeout} s")


def test_a_board_behind_ser2net_over_rfc2217(request, tmp_path):
    assert shutil.which("ser2net"), "ser2net missing: make setup (Debian package ser2net)"
    out = results_dir(request)
    qemu = QemuBoard(load_profile("qemu-virt"), serial="pty", log_path=out / "qemu.log",
                     lifetime=qemu_lifetime(request))
    qemu.start()
    request.addfinalizer(qemu.stop)
    assert qemu.pty and qemu.pty.startswith("/dev/pts/"), qemu.pty
    port = free_loopback_port()
    config = tmp_path / "ser2net.yaml"
    ser2net_config(config, qemu.pty, port)
    log = open(out / "ser2net.log", "wb")
    ser2net = subprocess.Popen(["ser2net", "-d", "-u", "-P", str(tmp_path / "ser2net.pid"),
                                "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)

    def stop_ser2net():
        if ser2net.poll() is None:
            os.kill(ser2net.pid, signal.SIGTERM)
            try:
                ser2net.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(ser2net.pid, signal.SIGKILL)
                ser2net.wait(5)
        log.close()
    request.addfinalizer(stop_ser2net)
    wait_listening(port, ser2net)

    (tmp_path / "test_remote.py").write_text(REMOTE_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "test_remote.py", "--hvmon-port", f"rfc2217://127.0.0.1:{port}",
         "--hvmon-board", "qemu-virt", "--hvmon-results", str(out / "remote")],
        cwd=tmp_path, capture_output=True, text=True, timeout=remaining(), env=child_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"1 passed", run.stdout), run.stdout
    hvmon_log = (out / "remote" / "hvmon-main" / "hvmon.log").read_text()
    assert "loady" in hvmon_log and "stub 0." in hvmon_log
