"""`hvmon --log-dir`: a folder of stamped text logs per run, one per channel, in the
layout of the pytest plugin's artifacts; on the real stub in real QEMU."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hvmon.bringup.preload import preload_args
from hvmon.bringup.qemu import QemuBoard
from tests.budget import remaining
from tests.conftest import REPO, qemu_lifetime, run_profile
from tests.integration.test_repl import results

pytestmark = [pytest.mark.qemu]

STAMP = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+ *\d+\.\d{3}\] "
LINUX = REPO / "boards/qemu-virt/linux.toml"


@pytest.mark.budget(bringups=1, boots=1, processes=1)
def test_log_dir_keeps_serial_line_events_stub_log_and_guest_console_apart(request, tmp_path):
    folder = results(f"test_cli_logs/{request.node.name}")
    profile = run_profile(request)
    qemu = QemuBoard(profile, log_path=folder / "qemu.log",
                     lifetime=qemu_lifetime(request),
                     extra_args=preload_args(LINUX, tmp_path / "preload"))
    qemu.start()
    request.addfinalizer(qemu.stop)
    plan = tmp_path / "plan.toml"
    plan.write_text(f'board = "{profile.name}"\nreach = "running"\n[[vm]]\nconfig = "{LINUX}"\n'
                    'wait_for = "/ # "\ntimeout = 120\n')
    logs = tmp_path / "logs"
    # A stub with a line of its own (qemu-virt-16550) is framed there after the bring-up.
    stub_line = ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []
    run = subprocess.run([sys.executable, "-m", "hvmon.ui.cli", "-b", profile.name, "--log-dir", str(logs),
                          "-p", qemu.url, "bringup", *stub_line, "+", "up", str(plan), "--no-terminal"],
                         capture_output=True, text=True, timeout=remaining())
    assert run.returncode == 0, run.stderr
    (run_folder,) = logs.iterdir()                      # one folder for the run
    assert f"logs in {run_folder}" in run.stderr
    assert re.fullmatch(r"\d{8}-\d{6}-\d+", run_folder.name)
    names = sorted(p.name for p in run_folder.iterdir())
    # stub.log appears when the stub's log channel says something; here it stays silent.
    assert {"console-0-linux.log", "events.log", "serial.log"} <= set(names) <= \
        {"console-0-linux.log", "events.log", "serial.log", "stub.log"}, names
    for name in names:
        lines = (run_folder / name).read_text().splitlines()
        assert lines and all(re.match(STAMP, line) for line in lines), (name, lines[:5])
    serial = (run_folder / "serial.log").read_text()
    assert "U-Boot" in serial and "hvmon 0." in serial        # the bring-up, as text
    assert f"--- framed mode on {qemu.stub_url}" in (run_folder / "events.log").read_text()
    console = (run_folder / "console-0-linux.log").read_text()
    assert "Linux version" in console and "/ # " in console
    assert "\r" not in console and "\x1b" not in console     # readable in an editor
