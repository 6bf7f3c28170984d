"""Link and protocol-engine modules again on qemu-virt-16550 (tests/integration/
boards_16550.py runs them): the UART's counters through a paced line (test_uart_stats),
a request that faults and its one answer (test_request_faults), and VM_MAP's refusals,
the stub's PCI UART among what no guest may map (test_vm_map_limits)."""

from __future__ import annotations

import pytest

from tests.integration.boards_16550 import passes_on_the_16550_board
from tests.integration.test_uart_stats import SIZE

MODULES = ["tests/integration/test_uart_stats.py", "tests/integration/test_request_faults.py",
           "tests/integration/test_vm_map_limits.py"]

# The three modules' own budgets: a bring-up each, test_uart_stats' push and read back
# (QEMU line and simulator), test_request_faults' 40 KB and test_vm_map_limits' 20 KB,
# and the inner pytest process.
pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=3, line_bytes=3 * SIZE + 60_000, sim_bytes=3 * SIZE,
                                 processes=1)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "a pytest of other modules on qemu-virt-16550, make test's own check of that "
    "board; make test-16550 runs those modules directly"))


def test_link_modules_pass_on_the_16550_board(tmp_path):
    passes_on_the_16550_board(tmp_path, MODULES, at_least=6)
