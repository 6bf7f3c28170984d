"""Runs integration modules again on the qemu-virt-16550 board: a pytest inside the test,
with --hvmon-board qemu-virt-16550, the same modules and assertions on the other board.

`make test` spreads test files over two workers (--dist loadfile), so the set is cut into
several test_boards_16550*.py files that can run side by side; what each costs on this
board and why some modules are left out is in test_boards_16550.py's docstring."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.budget import doing, remaining
from tests.conftest import REPO, child_env


def passes_on_the_16550_board(tmp_path, targets: list[str], at_least: int) -> None:
    """pytest TARGETS with --hvmon-board qemu-virt-16550: every test passes, none is
    skipped, and at least `at_least` ran (a module that collected nothing fails)."""
    doing(f"pytest {' '.join(t.split('/')[-1] for t in targets)} with --hvmon-board qemu-virt-16550")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "--hvmon-board", "qemu-virt-16550", "--hvmon-results", str(tmp_path / "results"),
         *targets],
        cwd=REPO, capture_output=True, text=True, timeout=remaining(), env=child_env())
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= at_least, run.stdout[-2000:]
    assert not re.search(r"\d+ (failed|skipped|error)", run.stdout), run.stdout[-2000:]
    print(run.stdout.strip().splitlines()[-1])
