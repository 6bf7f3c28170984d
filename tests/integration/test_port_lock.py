"""One owner per board, on the real stub in real QEMU: while one `hvmon` holds the board,
another `hvmon` and a pytest run are refused with the owner's name, and `--wait` gets
the board once the owner is done."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from hvmon.bringup.qemu import QemuBoard
from tests.budget import doing, remaining
from tests.conftest import child_env, qemu_lifetime, run_profile
from tests.integration.test_repl import results

pytestmark = [pytest.mark.qemu]

HOLD = '''
import sys, time
print(board.info().board, flush=True)
open(sys.argv[1], "w").close()            # holding the board now
time.sleep(float(sys.argv[2]))
'''


@pytest.mark.budget(bringups=1, processes=5, seconds=8)
def test_a_held_board_is_refused_naming_its_owner_and_waited_for(request, tmp_path):
    board = run_profile(request).name
    qemu = QemuBoard(run_profile(request), lifetime=qemu_lifetime(request),
                     log_path=results(f"test_port_lock/{request.node.name}") / "qemu.log")
    qemu.start()
    request.addfinalizer(qemu.stop)
    env = child_env(HVMON_LOCKS=str(tmp_path / "locks"), HVMON_BOARD=board)
    cli = [sys.executable, "-m", "hvmon.ui.cli"]
    stub_line = ["--stub-port", qemu.stub_url] if qemu.stub_port is not None else []
    up = subprocess.run([*cli, "-p", qemu.url, "bringup", *stub_line], capture_output=True,
                        text=True, timeout=remaining(), env=env)
    assert up.returncode == 0, up.stderr
    url = qemu.stub_url             # the line the stub talks on, and so the one that is held
    script, holding = tmp_path / "hold.py", tmp_path / "holding"
    script.write_text(HOLD)
    owner = subprocess.Popen([*cli, "-p", url, "run", str(script), str(holding), "8"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        doing("waiting for the owner to hold the board")
        while not holding.exists():
            assert owner.poll() is None, owner.communicate()
            time.sleep(0.1)
        refused = subprocess.run([*cli, "-p", url, "info"], capture_output=True, text=True,
                                 timeout=remaining(), env=env)
        assert refused.returncode == 3
        assert re.search(rf"port {re.escape(url)} is in use by pid {owner.pid} \(cli\.py -p "
                         rf"{re.escape(url)} run .*hold\.py .*\) since ", refused.stderr), \
            refused.stderr
        (tmp_path / "test_x.py").write_text("def test_x(board):\n    pass\n")
        plugin = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                 "--rootdir", str(tmp_path), "test_x.py", "--hvmon-port",
                                 url, "--hvmon-board", board], cwd=tmp_path, capture_output=True, text=True,
                                timeout=remaining(), env=env)
        assert plugin.returncode != 0
        assert f"port {url} is in use by pid {owner.pid}" in plugin.stdout + plugin.stderr
        doing("hvmon --wait: waiting for the owner to leave")
        waited = subprocess.run([*cli, "--wait", "60", "-p", url, "info"],
                                capture_output=True, text=True, timeout=remaining(), env=env)
        assert waited.returncode == 0, waited.stderr
        assert f"on {board}" in waited.stdout
        assert owner.wait(remaining()) == 0                 # it had finished first
    finally:
        if owner.poll() is None:
            os.kill(owner.pid, 15)
            owner.wait(10)
