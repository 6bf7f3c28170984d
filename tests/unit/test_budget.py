"""The test budgets (tests/budget.py): computed from the work a test declares, and a test
that outlives its budget fails saying what it was doing and where."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import budget as B
from tests.conftest import child_env

REPO = Path(__file__).resolve().parents[2]


def test_a_budget_adds_up_the_work_declared():
    b = B.Budget()
    b.add(bringups=1, line_bytes=200_000)
    b.add(boots=2, sim_bytes=1_500_000, sim_baud=3_000_000, processes=1, seconds=5)
    expected = (B.BASE_S + B.BRINGUP_S + 200_000 / B.QEMU_LINE_BYTES_PER_S + 2 * B.BOOT_S
                + 1_500_000 / (300_000 * B.SIM_LINE_SHARE) + B.PROCESS_S + 5)
    assert b.total == pytest.approx(expected)
    assert "2 Linux boot(s)" in b.describe() and "3 Mbaud simulated line" in b.describe()


def test_an_unknown_amount_is_a_usage_error():
    with pytest.raises(pytest.UsageError, match="unknown amount"):
        B.Budget().add(bytes=3)


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    (folder / "conftest.py").write_text(
        "import tests.budget\n"
        "from tests.budget import (pytest_collection_modifyitems, pytest_configure,\n"
        "                          pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown)\n"
        "tests.budget.BASE_S = 0.5   # a budget small enough to run out here\n"
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'qemu: x')\n"
        "    tests.budget.pytest_configure(config)\n")
    env = child_env(PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hvmon",
                           "--rootdir", str(folder), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_test_that_outlives_its_budget_says_what_it_was_doing(tmp_path):
    (tmp_path / "test_slow.py").write_text(
        "import time\n"
        "import pytest\n"
        "from tests.budget import doing\n"
        "@pytest.mark.budget(seconds=0.5)\n"
        "def test_slow():\n"
        "    doing('waiting for a prompt that never comes')\n"
        "    time.sleep(30)\n")
    run = run_pytest(tmp_path, "test_slow.py")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BudgetExceeded" in run.stdout
    assert "ran out of its budget after 1 s, during the test" in run.stdout
    assert "doing: waiting for a prompt that never comes" in run.stdout
    assert "budget 1 s = base 0 s + waits the test provokes 0 s" in run.stdout
    assert "1 failed" in run.stdout


def test_a_qemu_test_without_a_budget_is_refused_at_collection(tmp_path):
    (tmp_path / "test_unbudgeted.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.qemu\n"
        "def test_unbudgeted():\n"
        "    pass\n")
    run = run_pytest(tmp_path, "test_unbudgeted.py")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "these QEMU tests state no budget" in run.stderr
    assert "test_unbudgeted.py::test_unbudgeted" in run.stderr
