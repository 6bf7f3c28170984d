"""VM_MAP from a hostile host against the real stub in QEMU (issue 13, holes 1 and 2):
passthrough ranges beyond the physical address range, outside the VM's IPA space or
already another VM's are refused with a reason naming what is at fault, and a mapping the
stage-2 table pool cannot hold leaves nothing behind. `board` is the plugin's fixture."""

from __future__ import annotations

import pytest

from hvmon import protocol as P
from hvmon.target.board import StubError
from tests.budget import doing

# Three cores: two VMs of one vCPU each besides the stub's core.
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=3),
              pytest.mark.budget(bringups=1, line_bytes=20_000)]

MIB2 = 2 << 20
STUB = 0x40200000
DEVICE = 0x09010000                 # QEMU virt's PL031 RTC: a device nobody else uses
CONSOLE_IPA, CONSOLE_IRQ = 0x09000000, 33


@pytest.fixture
def make_vm(board):
    """VM_CREATE with one vCPU (never started); every VM made is destroyed afterwards."""
    made = []

    def make(name: str) -> int:
        # gicd_ipa, gicr_ipa 0: the vGIC where the board's GIC is.
        (vm,), _ = board.call(P.Command.VM_CREATE, 1, 0, CONSOLE_IRQ, CONSOLE_IPA, 0,
                              0x40000000, 0x40000000, 0, 0, data=name.encode())
        made.append(vm)
        return vm

    yield make
    for vm in made:
        board.call(P.Command.VM_DESTROY, vm)


def vm_map(board, vm: int, kind: int, ipa: int, pa: int, size: int) -> None:
    board.call(P.Command.VM_MAP, vm, kind, ipa, pa, size)


def refused(board, vm, kind, ipa, pa, size) -> StubError:
    with pytest.raises(StubError) as caught:
        vm_map(board, vm, kind, ipa, pa, size)
    return caught.value


def test_info_reports_the_address_sizes(board):
    info = board.info()
    assert (info.pa_bits, info.ipa_bits) == (40, 34)    # cortex-a76: PARange 0b0010


def test_passthrough_beyond_the_pa_range_is_refused(board, make_vm):
    vm = make_vm("alias")
    doing("mapping 0x100_4020_0000, the stub's address plus bit 40, as a device")
    error = refused(board, vm, 1, 0x10000000, (1 << 40) + STUB, 0x1000)
    assert error.status == P.Status.REFUSED_RANGE
    assert "pa 0x10040200000+0x1000 is beyond the board's 40-bit physical address range" in error.reason
    error = refused(board, vm, 1, 0x10000000, (1 << 40) - 0x1000, 0x2000)
    assert "beyond the board's 40-bit physical address range" in error.reason
    error = refused(board, vm, 1, 0x10000000, 0xFFFFFFFFFFFFF000, 0x2000)    # wraps
    assert "beyond the board's 40-bit physical address range" in error.reason
    error = refused(board, vm, 1, (1 << 34) - 0x1000, DEVICE, 0x2000)
    assert "ipa 0x3fffff000+0x2000 is beyond the VM's 34-bit guest-physical space" in error.reason
    error = refused(board, vm, 1, 0xFFFFFFFFFFFFF000, DEVICE, 0x2000)
    assert "guest-physical space" in error.reason


def test_a_device_belongs_to_one_vm(board, make_vm):
    first, second = make_vm("rtc-owner"), make_vm("rtc-thief")
    vm_map(board, first, 1, 0x10000000, DEVICE, 0x1000)
    error = refused(board, second, 1, 0x10000000, DEVICE, 0x2000)
    assert error.status == P.Status.REFUSED_RANGE
    assert (f"pa {DEVICE:#x}+0x2000 overlaps device {DEVICE:#x}-{DEVICE + 0xfff:#x} "
            f"of VM {first} (rtc-owner)") in error.reason
    error = refused(board, first, 1, 0x20000000, DEVICE, 0x1000)     # not twice in one VM
    assert "of VM" in error.reason


def test_a_mapping_the_table_pool_cannot_hold_leaves_nothing_behind(board, make_vm):
    vm = make_vm("tables")
    # A device range above the board's 1 GiB of RAM (the stub cannot tell what is there),
    # its IPA 4 KiB off the PA's 2 MiB alignment: every 2 MiB takes a level-3 table. The
    # pool holds 4 roots and at most 528 tables; this needs 601.
    too_many = 600 * MIB2
    doing("a mapping that needs more stage-2 tables than the pool has")
    error = refused(board, vm, 1, 0x80001000, 0x100000000, too_many)
    assert error.status == P.Status.TOO_LARGE
    # Had the refused mapping kept what it mapped before the pool ran dry, its tables
    # would still be taken and a mapping that needs one more would fail too.
    vm_map(board, vm, 0, 0x1000, 0x7FF00000, 0x1000)
    vm_map(board, vm, 1, 0x200000000, 0x100000000, 0x1000)
    assert "not enough stage-2 table pages left for ipa 0x80001000+0x4b000000" in error.reason
