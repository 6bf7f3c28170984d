"""pytest-xdist with the hvmon plugin: every worker gets a QEMU board of its own, at the
same time, and a declared pool is never shared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.budget import remaining
from tests.conftest import REPO, child_env, run_profile

# pytest with two workers inside: a process each, and a board each brought up at once.
pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=2, processes=3)]

RECORD_AND_WAIT = '''
import json, os, time
from pathlib import Path

OUT = Path(os.environ["HVMON_XDIST_OUT"])

def test_my_board(board, hvmon_target):
    me = os.environ.get("PYTEST_XDIST_WORKER", "main")
    info = board.info(refresh=True)
    (OUT / f"{me}.json").write_text(json.dumps({
        "worker": me, "pid": hvmon_target.qemu.pid, "url": hvmon_target.url,
        "board": info.board, "up_at": time.time()}))
    # Hold this board until the other worker's board answers too: both run at once.
    deadline = time.monotonic() + 240
    while len(list(OUT.glob("gw*.json"))) < 2:
        assert time.monotonic() < deadline, "the other worker's board never came up"
        time.sleep(0.2)
    assert board.hvc("echo", 1, 2, 3).results["c"] == 3        # and ours still answers
    assert os.path.exists(f"/proc/{hvmon_target.qemu.pid}")
'''


def test_two_workers_get_two_qemu_boards_at_once(request, tmp_path):
    board = run_profile(request).name           # the inner run's QEMU boards are this run's
    (tmp_path / "test_pool.py").write_text(RECORD_AND_WAIT)
    out = tmp_path / "records"
    out.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "-n", "2", "--dist", "each", "test_pool.py", "--hvmon-results", str(tmp_path / "results"),
         "--hvmon-vm", str(REPO / "boards/qemu-virt/linux.toml"), "--hvmon-board", board],
        cwd=tmp_path, capture_output=True, text=True, timeout=remaining(),
        env=child_env(HVMON_XDIST_OUT=str(out)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"2 passed", run.stdout), run.stdout
    records = {r["worker"]: r for r in (json.loads(p.read_text()) for p in out.glob("*.json"))}
    assert set(records) == {"gw0", "gw1"}
    a, b = records["gw0"], records["gw1"]
    assert a["pid"] != b["pid"] and a["url"] != b["url"]         # two QEMUs, two ports
    assert a["board"] == b["board"] == board
    for worker in ("gw0", "gw1"):                                 # each worker's own logs
        assert (tmp_path / "results" / f"hvmon-{worker}" / "qemu-1.log").exists()
    print(f"gw0: QEMU {a['pid']} on {a['url']}, gw1: QEMU {b['pid']} on {b['url']}, "
          f"up {abs(a['up_at'] - b['up_at']):.1f} s apart")


def run_workers(folder: Path, *args: str, env: dict | None = None, timeout: float | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder),
         "--hvmon-results", str(folder / "results"), *args],
        cwd=folder, capture_output=True, text=True, timeout=timeout or remaining(),
        env=child_env(**(env or {})))


@pytest.mark.board_specific("a pool of qemu-virt boards the test starts: a pool entry is one "
                            "line, and qemu-virt-16550's stub talks on a second one that a pool "
                            "entry cannot name yet")
@pytest.mark.budget(processes=6)
def test_a_declared_pool_gives_worker_n_entry_n_and_never_shares_a_port(request, tmp_path):
    """Two boards declared in a pool file (here: two QEMU boards on loopback ports, as a
    rack of real boards would be two serial URLs): worker gw0 gets entry 0, gw1 entry 1.
    A port another run holds is refused, naming the holder; more workers than entries is
    one clear error."""
    from hvmon.bringup.board_profile import load_profile
    from hvmon.bringup.qemu import QemuBoard
    from hvmon.hil.pool import PortLock
    from tests.conftest import qemu_lifetime, results_dir

    out = results_dir(request)
    boards = []
    for i in range(2):
        qemu = QemuBoard(load_profile("qemu-virt"), log_path=out / f"qemu-{i}.log",
                         lifetime=qemu_lifetime(request))
        qemu.start()
        request.addfinalizer(qemu.stop)
        boards.append(qemu)
    pool = tmp_path / "pool.toml"
    pool.write_text("".join(f'[[board]]\nport = "{q.url}"\nboard = "qemu-virt"\n' for q in boards))
    (tmp_path / "test_pool.py").write_text(RECORD_AND_WAIT.replace("hvmon_target.qemu.pid",
                                                                   "os.getpid()"))
    records = tmp_path / "records"
    records.mkdir()
    run = run_workers(tmp_path, "-n", "2", "--dist", "each", "test_pool.py", "--hvmon-pool",
                      str(pool), env={"HVMON_XDIST_OUT": str(records)})
    assert run.returncode == 0, run.stdout + run.stderr
    got = {r["worker"]: r["url"] for r in (json.loads(p.read_text()) for p in records.glob("*.json"))}
    assert got == {"gw0": boards[0].url, "gw1": boards[1].url}

    lock = PortLock(boards[0].url)                 # another run holds board 0
    try:
        held = run_workers(tmp_path, "test_pool.py", "--hvmon-pool", str(pool),
                           env={"HVMON_XDIST_OUT": str(records)})
    finally:
        lock.release()
    assert held.returncode != 0
    assert f"port {boards[0].url} is in use by pid {os.getpid()}" in held.stdout
    assert "no two workers may share a board" in held.stdout

    one = tmp_path / "one.toml"
    one.write_text(f'[[board]]\nport = "{boards[0].url}"\n')
    short = run_workers(tmp_path, "-n", "2", "--dist", "each", "test_pool.py", "--hvmon-pool",
                        str(one), env={"HVMON_XDIST_OUT": str(records)})
    assert short.returncode != 0
    assert "one.toml: worker gw1 needs board[1], the pool has 1 (run fewer workers: -n 1)" \
        in short.stdout
