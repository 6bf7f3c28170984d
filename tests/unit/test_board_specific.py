"""Tests of one board left out of a run on another (tests/board_specific.py): deselected,
not skipped, and listed with their reasons, with and without xdist's workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import child_env

REPO = Path(__file__).resolve().parents[2]

TESTS = '''
import pytest

def test_on_every_board():
    assert 1 + 1 == 2

@pytest.mark.board_specific("starts qemu-virt itself: its one serial line")
def test_of_one_board():
    assert 2 + 2 == 4
'''


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    (folder / "conftest.py").write_text(
        "from tests.board_specific import BoardSpecific\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(BoardSpecific(), 'hvmon-board-specific')\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(folder), *args], cwd=folder,
                          env=child_env(PYTHONPATH=str(REPO)), capture_output=True, text=True,
                          timeout=120)


def test_another_board_deselects_them_and_says_why(tmp_path):
    (tmp_path / "test_boards.py").write_text(TESTS)
    run = run_pytest(tmp_path, "--hvmon-board", "qemu-virt-16550", "test_boards.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 deselected" in run.stdout
    assert "skipped" not in run.stdout
    assert ("test_boards.py: starts qemu-virt itself: its one serial line "
            "(run on qemu-virt-16550)  [1 test(s)]") in run.stdout


def test_xdist_workers_report_what_they_deselected(tmp_path):
    (tmp_path / "test_boards.py").write_text(TESTS)
    run = run_pytest(tmp_path, "-n", "2", "--hvmon-board", "qemu-virt-16550", "test_boards.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "deselected: specific to another board" in run.stdout
    assert "test_boards.py: starts qemu-virt itself: its one serial line" in run.stdout


def test_the_default_board_runs_them(tmp_path):
    (tmp_path / "test_boards.py").write_text(TESTS)
    run = run_pytest(tmp_path, "test_boards.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "deselected" not in run.stdout


def test_a_run_left_with_nothing_fails_with_status_5(tmp_path):
    (tmp_path / "test_boards.py").write_text(TESTS)
    run = run_pytest(tmp_path, "--hvmon-board", "qemu-virt-16550", "test_boards.py",
                     "-k", "one_board")
    assert run.returncode == 5, run.stdout + run.stderr


def test_a_marker_without_a_reason_is_refused(tmp_path):
    (tmp_path / "test_unexplained.py").write_text(
        "import pytest\n"
        "@pytest.mark.board_specific()\n"
        "def test_unexplained():\n"
        "    pass\n")
    run = run_pytest(tmp_path, "--hvmon-board", "qemu-virt-16550", "test_unexplained.py")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "test_unexplained.py::test_unexplained: board_specific needs a reason" in run.stderr


ONLY_16550 = '''
import pytest

def test_on_every_board():
    assert 1 + 1 == 2

@pytest.mark.runs_on_board("qemu-virt-16550", "a guest's RAM across two lines")
def test_of_the_16550_run():
    assert 2 + 2 == 4
'''


def test_runs_on_board_keeps_a_test_to_the_run_on_that_board(tmp_path):
    (tmp_path / "test_only.py").write_text(ONLY_16550)
    default = run_pytest(tmp_path, "test_only.py")
    assert default.returncode == 0, default.stdout + default.stderr
    assert "1 passed, 1 deselected" in default.stdout and "skipped" not in default.stdout
    assert ("test_only.py: runs on qemu-virt-16550 only: a guest's RAM across two lines "
            "(run on qemu-virt)  [1 test(s)]") in default.stdout
    on_16550 = run_pytest(tmp_path, "--hvmon-board", "qemu-virt-16550", "test_only.py")
    assert on_16550.returncode == 0, on_16550.stdout + on_16550.stderr
    assert "2 passed" in on_16550.stdout and "deselected" not in on_16550.stdout


def test_runs_on_board_without_a_reason_is_a_usage_error(tmp_path):
    (tmp_path / "test_only.py").write_text(ONLY_16550.replace(', "a guest\'s RAM across two lines"', ""))
    run = run_pytest(tmp_path, "test_only.py")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "runs_on_board needs a board and a reason" in run.stdout + run.stderr
