"""The plugin's command-line options: loaded through the pytest11 entry point, and wrong
values stop the run at once with one line and pytest's usage exit code (4)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hvmon.hil.artifacts import LogRouter, folder_for_test
from tests.conftest import child_env


def pytest_run(folder, *args):
    (folder / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(folder), "test_nothing.py", *args],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env=child_env())


def test_the_plugin_is_registered_by_its_entry_point(tmp_path):
    run = pytest_run(tmp_path, "--help")
    assert run.returncode == 0
    for option in ("--hvmon-board", "--hvmon-port", "--hvmon-plan", "--hvmon-pool", "--hvmon-vm"):
        assert option in run.stdout
    markers = pytest_run(tmp_path, "--markers").stdout
    assert "@pytest.mark.hardware(reason): needs a real board" in markers


@pytest.mark.parametrize("args, error", [
    (["--hvmon-board", "nope"], "ERROR: no board profile"),
    (["--hvmon-pool", "missing.toml"], "ERROR: missing.toml: No such file or directory"),
    (["--hvmon-pool", "p.toml", "--hvmon-port", "/dev/ttyUSB0"],
     "ERROR: --hvmon-pool and --hvmon-port exclude each other"),
])
def test_bad_options_are_one_line_and_exit_code_4(tmp_path, args, error):
    (tmp_path / "p.toml").write_text('[[board]]\nport = "/dev/ttyUSB0"\n')
    run = pytest_run(tmp_path, *args)
    assert run.returncode == 4
    assert error in run.stderr


def test_a_tests_logs_go_to_its_own_folder_and_back(tmp_path):
    router = LogRouter(tmp_path / "between" / "serial.log")
    router.write(b"before ")
    router.switch(tmp_path / folder_for_test("tests/x.py::test_a[1-2]") / "serial.log", "wb")
    router.write(b"during")
    router.switch(tmp_path / "between" / "serial.log")
    router.write(b"after")
    router.close()
    assert (tmp_path / "tests_x.py_test_a_1-2_" / "serial.log").read_bytes() == b"during"
    assert (tmp_path / "between" / "serial.log").read_bytes() == b"before after"
