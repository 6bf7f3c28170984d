"""The integration tests that exercise the link and its interrupts, run again on the
qemu-virt-16550 board: the stub's 16550 driver on QEMU's PCI 16550 (8-bit registers, its
16-byte FIFO, the receive interrupt through PCI INTx), brought up through U-Boot on the
PL011 with the stub on a line of its own.

A pytest run inside this test, with --hvmon-board qemu-virt-16550: the same modules, the
same assertions, on the other board. test_protocol.py moves data every way the protocol
can; of test_guests.py the tests where guests' consoles and a passed-through interrupt
share the link with requests, and the CLI's own bring-up (`bringup --stub-port`). The
others there (a faulting guest, configs refused on the host) do not touch the UART."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.budget import doing, remaining
from tests.conftest import REPO, child_env

GUEST_TESTS = ("test_debian_linux_boots_to_a_shell_and_powers_off",
               "test_two_vcpus_come_up_through_psci_cpu_on",
               "test_a_passed_through_device_and_its_interrupt_reach_the_guest",
               "test_vm_commands_from_the_command_line")

# The two modules' own budgets, run one after the other: test_protocol.py (its board, a
# stub of one test's own, 700 KB), test_guests.py's four (its board, the CLI's board, four
# guest boots, nine hvmon processes), and the inner pytest process.
pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=4, boots=4, line_bytes=700_000, processes=10)]


def test_protocol_and_guests_pass_on_the_16550_board(tmp_path):
    doing("pytest test_protocol.py and four of test_guests.py with --hvmon-board qemu-virt-16550")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "--hvmon-board", "qemu-virt-16550", "--hvmon-results", str(tmp_path / "results"),
         "tests/integration/test_protocol.py",
         *(f"tests/integration/test_guests.py::{name}" for name in GUEST_TESTS)],
        cwd=REPO, capture_output=True, text=True, timeout=remaining(), env=child_env())
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= 20 + len(GUEST_TESTS), run.stdout[-2000:]
    assert not re.search(r"\d+ (failed|skipped|error)", run.stdout), run.stdout[-2000:]
    print(run.stdout.strip().splitlines()[-1])
