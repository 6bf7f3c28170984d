"""A request that faults in framed mode (issue 13, hole 5): the stub answers it or reports
it once, and then carries on with the requests that follow, none of them replaced by an
old one. `board` is the plugin's fixture: one QEMU board for the module."""

from __future__ import annotations

import struct

import pytest

from hvmon import protocol as P
from hvmon.target.board import parse_fault
from tests.budget import doing

pytestmark = [pytest.mark.qemu, pytest.mark.budget(bringups=1, line_bytes=40_000)]

CODE = 0x48000000
COUNTER = 0x48000100          # what the JUMP target bumps before it faults
UNMAPPED = 0xDEAD00000000     # beyond the QEMU board's 40-bit physical addresses

# The JUMP target: bump the counter, then load from an address nothing decodes.
FAULTING_CODE = (
    0xD2A90001,               # movz x1, #0x4800, lsl #16
    0xF2802001,               # movk x1, #0x100
    0xB9400022,               # ldr  w2, [x1]
    0x11000442,               # add  w2, w2, #1
    0xB9000022,               # str  w2, [x1]
    0xD2DBD5A3,               # movz x3, #0xdead, lsl #32
    0xF9400060,               # ldr  x0, [x3]           <- data abort at CODE + 0x18
    0xD65F03C0,               # ret
)
LOAD_AT = CODE + 4 * 6
EC_DATA_ABORT_SAME_EL = 0x25  # Arm ARM D17.2.37, ESR_EL2.EC


def counter(board) -> int:
    return struct.unpack("<I", board.read(COUNTER, 4))[0]


def test_a_jump_that_faults_is_reported_once_and_never_runs_again(board):
    board.write(CODE, struct.pack(f"<{len(FAULTING_CODE)}I", *FAULTING_CODE))
    board.write(COUNTER, bytes(4))
    events_before = len(board.events)
    faults_before = len(board.faults)

    doing("jumping into code that faults")
    board.jump(CODE)        # answered before the branch (protocol/spec.md, JUMP)

    doing("sending requests through every window slot three times")
    for i in range(3 * P.WINDOW):
        assert board.hvc("echo", i, i + 1, i + 2).results == {"a": i, "b": i + 1, "c": i + 2}
    assert counter(board) == 1, "the old JUMP ran again"

    doing("waiting for the FAULT event")
    fault = parse_fault(board.wait_event(P.Event.FAULT, timeout=10, start=events_before))
    assert fault.esr >> 26 == EC_DATA_ABORT_SAME_EL
    assert (fault.elr, fault.far) == (LOAD_AT, UNMAPPED)
    assert fault.command_name == "JUMP"
    assert len(board.faults) == faults_before + 1
