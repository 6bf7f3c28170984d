"""examples/test_snapshot_example.py as a user runs it (`pytest examples/...`, the plugin
starting its own QEMU board): one Linux boot for the module, a restore before each test,
every test passing after the ones before it wrecked the shell and crashed the kernel."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.budget import remaining
from tests.conftest import REPO, child_env
from tests.integration.test_hil_plugin import readme_example_is_in

pytestmark = [pytest.mark.qemu]


@pytest.mark.budget(processes=1, bringups=1, boots=1)
def test_the_snapshot_example_passes_as_written(tmp_path):
    readme_example_is_in("### Restore per test", "examples/test_snapshot_example.py")
    results = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "examples/test_snapshot_example.py", "--hvmon-results", str(results)],
                         cwd=REPO, capture_output=True, text=True, timeout=remaining(),
                         env=child_env())
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b5 passed\b", run.stdout), run.stdout
    log = (results / "hvmon-main" / "hvmon.log").read_text()
    assert len(re.findall(r"snapshot shell of linux at '/ # '", log)) == 1, log     # one boot
    assert "snapshot shell of linux dropped, its VM destroyed, after 6 restore(s)" in log, log
