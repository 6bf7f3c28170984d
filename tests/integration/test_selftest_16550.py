"""`hvmon selftest` on qemu-virt-16550: U-Boot on the PL011, the stub's line on QEMU's
PCI 16550, each on a port of its own; the same checks and report as on the PL011 board
(tests/integration/test_selftest.py). A file of its own, so that `make test`'s workers
(--dist loadfile) can run the two boards' selftests side by side."""

from __future__ import annotations

import pytest

from tests.integration.test_selftest import BUDGET, check_selftest_on

pytestmark = [pytest.mark.qemu, BUDGET]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "`hvmon selftest` on qemu-virt-16550, which the selftest starts itself: make test "
    "runs it, on this same board"))


def test_selftest_passes_on_the_16550_board_and_saves_its_report(tmp_path, monkeypatch, capsys):
    check_selftest_on("qemu-virt-16550", "16550", tmp_path, monkeypatch, capsys)
