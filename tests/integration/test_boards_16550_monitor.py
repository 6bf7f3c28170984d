"""Text-monitor and guest-console modules again on qemu-virt-16550 (tests/integration/
boards_16550.py runs them): every monitor command and its errors, line editing and line
noise through the 16550 (test_monitor), and a guest flooding its console while the stub
sits at the text monitor, its output kept or counted as lost (test_text_mode_guests)."""

from __future__ import annotations

import pytest

from tests.integration.boards_16550 import passes_on_the_16550_board
from tests.integration.test_text_mode_guests import LOSS_WAIT

MODULES = ["tests/integration/test_monitor.py", "tests/integration/test_text_mode_guests.py"]

# The two modules' own budgets (a bring-up each; one Linux boot, the flood's 1.5 MB and its
# wait) and the inner pytest process.
pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=2, boots=1, line_bytes=1_500_000, seconds=LOSS_WAIT,
                                 processes=1)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "a pytest of other modules on qemu-virt-16550, make test's own check of that "
    "board; make test-16550 runs those modules directly"))


def test_monitor_and_guest_console_modules_pass_on_the_16550_board(tmp_path):
    passes_on_the_16550_board(tmp_path, MODULES, at_least=36)
