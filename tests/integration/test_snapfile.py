"""VM_STATE_PUT, the request `vm load` ends with: a state record the stub wrote for a
booted Linux guest, read back and handed to a created VM with one field made hostile at a
time, is refused with BAD_DATA naming the field, and the VM stays as it was created."""

from __future__ import annotations

import struct

import pytest

from hvmon import protocol as P
from hvmon.target.board import StubError
from hvmon.target.snapfile import record_facts
from hvmon.target.vms import destroy_vm, drop_snapshot, snapshot_vm, vm_list
from tests.budget import BOOT_S, doing
from tests.integration.snapshot_layout import Record
from tests.integration.test_guests import GUEST_PA, guest_config
from tests.integration.test_snapshots import PROMPT, shell

# Core 0: the stub, core 1: the guest; one Linux boot, a snapshot in board RAM.
pytestmark = [pytest.mark.qemu, pytest.mark.hvmon_qemu(smp=2),
              pytest.mark.budget(bringups=1, boots=1)]


def test_hostile_state_records_are_refused_naming_the_field(board, vm, tmp_path):
    doing("booting Linux to its shell")
    guest = vm(guest_config(tmp_path))
    guest.console.expect(PROMPT, BOOT_S)
    shell(guest, "H=kept; echo h-$H", rb"h-kept")
    doing("a snapshot's record, read back")
    snap = snapshot_vm(board, "linux", "rec").snapshot
    head = board.read(snap.pa, 4096)
    size = struct.unpack_from("<Q", head, 8)[0]
    raw = head + board.read(snap.pa + 4096, size - 4096)
    drop_snapshot(board, "linux", "rec")
    Record.parse(raw).check(raw)
    facts = record_facts(raw, "the snapshot")
    guest.stop()
    guest.wait_stopped(30)
    destroy_vm(board, "linux")

    doing("a created VM like the snapshot's, then hostile records for it")
    (vm_id,), _ = board.call(P.Command.VM_CREATE, facts.vcpus, facts.privileged, facts.console_irq,
                             facts.console_ipa, 0, 0x40000000, 0x40000000, facts.gicd_ipa,
                             facts.gicr_ipa, data=b"hostile")
    board.call(P.Command.VM_MAP, vm_id, 0, 0x40000000, GUEST_PA, 0x10000000)

    def refused(record: bytes) -> str:
        for at in range(0, len(record), 4096):
            board.call(P.Command.MEM_STAGE, at, data=record[at:at + 4096])
        with pytest.raises(StubError) as error:
            board.call(P.Command.VM_STATE_PUT, vm_id, len(record))
        assert error.value.status == P.Status.BAD_DATA
        assert [(e.name, e.state) for e in vm_list(board)] == [("hostile", "created")]
        return error.value.reason

    rec = Record.parse(raw)
    rec.vm_name[0] ^= 1
    assert "state record: CRC-32" in refused(rec.sealed(fix_crc=False))
    rec = Record.parse(raw)
    rec.format = 1
    assert "format 1" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.vcpus[0].regs.sctlr &= ~1                     # MMU off: the PC is an IPA
    rec.vcpus[0].regs.pc = 0x30000000
    assert "vCPU 0: PC 0x30000000 (MMU off, so an IPA) is outside the VM's RAM" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.vcpus[0].regs.pstate = (rec.vcpus[0].regs.pstate & ~0x1F) | 0x9     # EL2h
    assert "mode M[4:0] 0x9 is not AArch64 EL0t, EL1t or EL1h" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.vcpus[0].regs.lr[0] = (1 << 62) | 2000         # pending, vINTID 2000
    assert "vCPU 0: list register 0 holds INTID 2000, beyond the vGIC's 256" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.vgic.enabled[300 // 32] |= 1 << (300 % 32)
    assert "enabled state for INTID 300, beyond the board's 256 INTIDs" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.console.rx_head = 1000
    assert "console receive FIFO at 1000" in refused(rec.sealed())
    rec = Record.parse(raw)
    rec.vcpus[0].regs.ich_hcr |= 1 << 12               # TALL1
    assert "ICH_HCR_EL2" in refused(rec.sealed())
    assert "state record: 4096 bytes" in refused(raw[:4096])
    board.call(P.Command.VM_DESTROY, vm_id)
