"""The integration tests that exercise the link, run again on the qemu-virt-16550 board:
the stub's 16550 driver on QEMU's PCI 16550 (8-bit registers, its 16-byte FIFO, the
receive interrupt through PCI INTx), brought up through U-Boot on the PL011 with the stub
on a line of its own. Each file is a pytest run inside the test (tests/integration/
boards_16550.py), and there are several files so that `make test`'s two workers
(--dist loadfile) can run them side by side:

    test_boards_16550.py          test_protocol.py, four of test_guests.py     83 s
    test_boards_16550_link.py     test_uart_stats, test_request_faults,        25 s
                                  test_vm_map_limits
    test_boards_16550_monitor.py  test_monitor, test_text_mode_guests          22 s
    test_selftest_16550.py        `hvmon selftest` on the board                21 s

(seconds of one file alone, on the shared 2-core machine at load 4-5). Here: test_protocol
moves data every way the protocol can; of test_guests, the tests where guests' consoles and
a passed-through interrupt share the link with requests, and the CLI's own bring-up
(`bringup --stub-port`); the others there (a faulting guest, configs refused on the host)
do not touch the UART.

Left out, by what each costs on this board against what it would add (module alone):
test_robustness (53 s: host killed mid-transfer, reset mid-transfer, missed output; the
session's recovery is the same engine code on both boards), test_lifecycle (30 s: a second
bring-up through U-Boot after a reset), test_faults (its 1 MiB noisy push ran past its
249 s budget at load 8), test_hostile_guests (24 s, 37 tests of guest isolation that does
not involve the stub's UART), test_el2_mmu (12 s), test_ivc (7 s: guest to guest),
test_reserved_and_intids (U-Boot's DTB edits, the same on both boards). Run alone with
--hvmon-board qemu-virt-16550 each of them passed, except test_faults, which ran out of its
budget at load 8 there, as it also did on the PL011 board at that load (with main's stub
it lost the link instead); that stub polled the 16550 byte by byte. Since it sleeps until
the receive interrupt and reads the FIFO's trigger level after one IIR read, the module
takes 44 s there at load 6 (its push 32 s), and the PL011 board is the slow one.
`make test-16550` runs all of them, and every other module that runs on the board the run
names, on this board."""

from __future__ import annotations

import pytest

from tests.integration.boards_16550 import passes_on_the_16550_board

GUEST_TESTS = ("test_debian_linux_boots_to_a_shell_and_powers_off",
               "test_two_vcpus_come_up_through_psci_cpu_on",
               "test_a_passed_through_device_and_its_interrupt_reach_the_guest",
               "test_vm_commands_from_the_command_line")

# The two modules' own budgets, run one after the other: test_protocol.py (its board, a
# stub of one test's own, 700 KB), test_guests.py's four (its board, the CLI's board, four
# guest boots, nine hvmon processes), and the inner pytest process.
pytestmark = [pytest.mark.qemu,
              pytest.mark.budget(bringups=4, boots=4, line_bytes=700_000, processes=10)]
# Left out, with this reason, of a run on another board (tests/board_specific.py).
pytestmark.append(pytest.mark.board_specific(
    "a pytest of other modules on qemu-virt-16550, make test's own check of that "
    "board; make test-16550 runs those modules directly"))


def test_protocol_and_guests_pass_on_the_16550_board(tmp_path):
    passes_on_the_16550_board(
        tmp_path, ["tests/integration/test_protocol.py",
                   *(f"tests/integration/test_guests.py::{name}" for name in GUEST_TESTS)],
        at_least=20 + len(GUEST_TESTS))
