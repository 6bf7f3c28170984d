"""Seeds for fuzz_traps.c: what a guest's exits look like when a real guest makes them
(Linux's PL011 and GICv3 drivers bringing their devices up, PSCI, SGIs, TLBIs) and the
attacks of the hostile suite (privileged hypercalls from an unprivileged VM, pointers
across the seam of two RAM regions, into the neighbour or the passthrough device).

    python3 traps_seeds.py OUT_DIR        one file per seed

Layout (fuzz_traps.c): byte 0 = privileged | (vcpus - 1) << 1, then 80-byte records
(kind, vcpu, guest_lrs, flags, syndrome, addr, x0..x7)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

RAW, HVC, SMC, GICD, GICR, PL011, SYSREG, IRQ = range(8)
RAM_IPA, SEAM, NEIGHBOUR_PA = 0x40000000, 0x40010000, 0x40080000
DEVICE_IPA, CONSOLE_IPA, SHARE_IPA = 0x20000000, 0x09000000, 0x50000000
FAMILY_HVMON, FAMILY_PSCI32, FAMILY_PSCI64 = 0, 1, 2
SGI_BASE = 0x10000


def record(kind, *, vcpu=0, lrs=0, flags=0, syndrome=0, addr=0, x=()):
    regs = (list(x) + [0] * 8)[:8]
    return struct.pack("<BBBBIQ8Q", kind, vcpu, lrs, flags, syndrome, addr, *regs)


def call(fn, *args, kind=HVC, family=FAMILY_HVMON, vcpu=0):
    """fn: the low bits of the function id (fuzz_traps.c shape_call adds the family)."""
    return record(kind, vcpu=vcpu, syndrome=family, x=(fn, *args))


def access(kind, offset, *, write=False, size=4, value=0, reg=1, wide=None, vcpu=0, lrs=0):
    """A load or store at offset into the device's page (data abort ISS, ISV set)."""
    sas = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    sf = (size == 8) if wide is None else wide
    syndrome = sas | reg << 3 | int(sf) << 8 | int(write) << 9
    x = [0] * 8
    if reg < 8:
        x[reg] = value
    return record(kind, vcpu=vcpu, lrs=lrs, syndrome=syndrome, addr=offset, x=x)


def irq(intid, *, vcpu=0, lrs=0, flags=0, console=b""):
    x = struct.unpack("<8Q", console.ljust(64, b"\0")[:64])
    return record(IRQ, vcpu=vcpu, lrs=lrs, flags=flags, syndrome=len(console), addr=intid, x=x)


def header(privileged=False, vcpus=1):
    return bytes([int(privileged) | (vcpus - 1) << 1])


PRIVILEGED_IDS = [0x3, 0x4, 0x5, 0x7, 0x8, 0x9]      # protocol/hvmon.toml's privileged calls

SEEDS = {
    "hvc_echo": header() + call(0x1, 1, 2, 3) + call(0x0) + call(0x2) + call(0x6)
    + call(0xA, RAM_IPA)
    + call(0xA, SHARE_IPA + 0xFFF) + call(0xA, SHARE_IPA + 0x1000),        # ivc_ring
    "privileged_calls_unprivileged": header() + b"".join(
        call(fn, RAM_IPA, 0x100, 0) for fn in PRIVILEGED_IDS),
    "pointers_privileged": header(privileged=True) + b"".join(
        call(fn, ipa, size) for fn in (0x4, 0x5) for ipa, size in [
            (RAM_IPA, 0x100), (SEAM - 0x800, 0x1000), (SEAM + 0x7000, 0x1000),
            (NEIGHBOUR_PA, 0x10), (DEVICE_IPA, 0x10), (CONSOLE_IPA, 4), (RAM_IPA, 0),
            (0xFFFFFFFFFFFFF000, 0x2000), (RAM_IPA, 2**64 - 1), (SEAM, 0x8000)]),
    "vm_calls_privileged": header(privileged=True) + call(0x7, 1) + call(0x7, 9) + call(0x9, 5)
    + call(0x8, 0) + call(0x8, 1) + call(0x3),
    "psci": header(vcpus=2) + call(0x0, family=FAMILY_PSCI32)
    + call(0x3, 1, RAM_IPA, 0, family=FAMILY_PSCI64)
    + call(0x3, 5, RAM_IPA, 0, family=FAMILY_PSCI64) + call(0x4, 1, family=FAMILY_PSCI64)
    + call(0x6, family=FAMILY_PSCI32) + call(0x3, 1, RAM_IPA, 0, kind=SMC, family=FAMILY_PSCI64)
    + call(0x1, kind=SMC, family=FAMILY_PSCI64) + call(0x2, vcpu=1, family=FAMILY_PSCI32)
    + call(0x8, family=FAMILY_PSCI32),
    # vCPU 1 faults, stopping the VM; vCPU 0 starts it again before its own exit parks it:
    # the started core must find the stop and park (vcpu.c), or the VM never stops.
    "cpu_on_during_stop": header(vcpus=2) + call(0x3, 1, RAM_IPA, 0, family=FAMILY_PSCI64)
    + record(RAW, vcpu=1, syndrome=1) + call(0x3, 1, RAM_IPA, 0, kind=SMC, family=FAMILY_PSCI64),
    "pl011_bringup": header() + b"".join([
        access(PL011, 0xFE0), access(PL011, 0xFE4), access(PL011, 0xFF0),
        access(PL011, 0x30, write=True, value=0), access(PL011, 0x2C, write=True, value=0x70),
        access(PL011, 0x24, write=True, value=1), access(PL011, 0x28, write=True, value=0x1A),
        access(PL011, 0x34, write=True, value=0x12), access(PL011, 0x38, write=True, value=0x50),
        access(PL011, 0x30, write=True, value=0x301), access(PL011, 0x18),
        access(PL011, 0x0, write=True, value=ord("h"), size=1),
        access(PL011, 0x44, write=True, value=0x7FF), access(PL011, 0x40),
        access(PL011, 0x3C, size=2), access(PL011, 0x18, size=1, reg=31),
        access(PL011, 0x1000)]),
    "console_input": header() + access(PL011, 0x38, write=True, value=0x50)
    + irq(15, flags=4 | 2 << 4, console=b"root\nls -l /\n" * 4) + access(PL011, 0x0)
    + access(PL011, 0x0, size=1) + access(PL011, 0x18) + access(PL011, 0x40),
    "gicd_bringup": header(vcpus=2) + b"".join([
        access(GICD, 0x0), access(GICD, 0x4), access(GICD, 0xFFE8),
        access(GICD, 0x0, write=True, value=0x12),
        access(GICD, 0x84, write=True, value=0xFFFFFFFF),
        access(GICD, 0x104, write=True, value=1 << 1 | 1 << 8),     # INTIDs 33 (console), 40
        access(GICD, 0x6000 + 8 * 40, write=True, size=8, value=1),
        access(GICD, 0x6000 + 8 * 33 + 4, write=True, value=0xFF),
        access(GICD, 0x400 + 40, write=True, size=1, value=0x80),
        access(GICD, 0xC08, write=True, value=0x55555555),
        access(GICD, 0x204, write=True, value=1 << 9),
        access(GICD, 0x3FC, write=True, size=4, value=0xA0A0A0A0), access(GICD, 0x7FD8, size=8),
        irq(40), irq(40, lrs=0xFF), irq(25, lrs=0xAA, flags=2),
        access(GICD, 0x7FF8, size=8)]),                              # IROUTER<1023>: reserved
    "gicr_bringup": header(vcpus=2) + b"".join([
        access(GICR, 0x8, size=8), access(GICR, 0x20008, size=8), access(GICR, 0xC),
        access(GICR, 0x14, write=True, value=0), access(GICR, 0x14),
        access(GICR, SGI_BASE + 0x100, write=True, value=1 << 27),
        access(GICR, SGI_BASE + 0x180, write=True, value=0xFFFFFFFF),
        access(GICR, SGI_BASE + 0x200, write=True, value=0xFFFF),
        access(GICR, SGI_BASE + 0x41C, write=True, size=4, value=0x80808080),
        access(GICR, SGI_BASE + 0xC04, write=True, value=0xFFFFFFFF),
        irq(27), irq(27, lrs=0x55), irq(25, lrs=0xAA, flags=2),
        access(GICR, 0x40000)]),                                     # a third vCPU's frame
    "sgis_and_tlbis": header(vcpus=2) + call(0x3, 1, RAM_IPA, 0, family=FAMILY_PSCI64)
    + record(SYSREG, flags=1, syndrome=2, x=(0, 0, 1 << 24 | 0b10))            # SGI 1 to vCPU 1
    + record(SYSREG, flags=1, syndrome=3, x=(0, 0, 0, 1 << 40 | 5 << 24))      # SGI 5 to all others
    + record(SYSREG, syndrome=1 << 20 | 8 << 10 | 3 << 1 | 1 << 17 | 2 << 5, x=(0, 0, 0x1234))
    + irq(15, vcpu=1, flags=4 << 4) + record(RAW, syndrome=0x01 << 26 | 1 << 25)
    + record(SYSREG, syndrome=3 << 20 | 12 << 10 | 11 << 1 | 5 << 17 | 1),    # a read of SGI1R
    "raw_faults": header() + record(RAW, syndrome=0x24 << 26 | 1 << 25, addr=NEIGHBOUR_PA),
    "raw_instruction_abort": header() + record(RAW, syndrome=0x20 << 26, addr=DEVICE_IPA),
    "raw_mmio_to_console": header()
    + record(RAW, syndrome=0x24 << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 3 << 16,
             addr=CONSOLE_IPA + 0x18)
    + record(RAW, syndrome=0),
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
