"""The test API beside pytest-embedded's, on the real stub in real QEMU: console.expect
with lists, expect_exact, not_matching and `before`; the `boards` fixture with two QEMU
boards whose logs are kept apart."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO, run_profile
from tests.integration.test_hil_plugin import run_pytest

pytestmark = [pytest.mark.qemu]

TESTS = '''
import pytest

SCRATCH = 0x48000000


def test_console_api(console):
    index, _ = console.expect([r"NEVER-PRINTED", r"/ # "], timeout=90)
    assert index == 1
    console.send("echo a-$((1+1))-b")
    console.expect_exact("a-2-b")
    assert "echo a-$((1+1))-b" in console.before
    console.send("echo ok; echo FORBID''' + '''DEN-$((1+1)); echo done-$((2+2))")
    with pytest.raises(AssertionError, match="'FORBIDDEN-2' showed up while waiting for 'done-4'"):
        console.expect_exact("done-4", not_matching=["FORBIDDEN-2"])


def test_two_boards(boards):
    first, second = boards(2)
    assert first.url != second.url
    first.board.write(SCRATCH, b"A" * 4096)
    second.board.write(SCRATCH, b"B" * 4096)
    assert first.board.read(SCRATCH, 4096) == b"A" * 4096
    assert second.board.read(SCRATCH, 4096) == b"B" * 4096
'''


@pytest.mark.budget(processes=1, bringups=3, boots=1)
def test_console_expect_api_and_two_boards_with_their_own_logs(request, tmp_path):
    (tmp_path / "test_api.py").write_text(TESTS)
    results = tmp_path / "results"
    run = run_pytest(tmp_path, "test_api.py", "--hvmon-vm", str(REPO / "boards/qemu-virt/linux.toml"),
                     "--hvmon-results", str(results), "--hvmon-board", run_profile(request).name)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"2 passed", run.stdout), run.stdout
    two = results / "test_api.py_test_two_boards"
    for n in (0, 1):
        serial = (two / f"board-{n}" / "serial.log").read_text()
        assert serial.count("U-Boot SPL") + serial.count("U-Boot 20") >= 1, serial[:500]
        assert "framed mode on socket://127.0.0.1:" in (two / f"board-{n}" / "events.log").read_text()
    urls = {re.search(r"framed mode on (\S+)", (two / f"board-{n}" / "events.log").read_text()).group(1)
            for n in (0, 1)}
    assert len(urls) == 2                                   # each folder has its own board's line
