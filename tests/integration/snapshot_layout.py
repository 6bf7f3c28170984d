"""The stub's snapshot state record as ctypes structures, for tests that hand the stub a
record with one field made hostile. It mirrors firmware/vmm/snapshot.h and the structs it
holds (guest_context.h, vgic.h, vpl011.h, ring.h) in the stub's own layout (AArch64 LP64,
natural alignment); `Record.check` proves it against a record the stub wrote: same size,
and its CRC where the mirror puts the CRC field."""

from __future__ import annotations

import ctypes as C
import zlib

from hvmon import protocol as P

U8, U32, U64, I8 = C.c_uint8, C.c_uint32, C.c_uint64, C.c_int8
VGIC_WORDS = (P.MAX_INTIDS + 31) // 32


class GuestContext(C.Structure):
    _fields_ = [("x", U64 * 31), ("pc", U64), ("pstate", U64)] + \
        [(n, U64) for n in ("sp_el0", "sp_el1", "elr_el1", "spsr_el1", "sctlr", "cpacr", "ttbr0",
                            "ttbr1", "tcr", "mair", "amair", "vbar", "contextidr", "tpidr_el0",
                            "tpidrro_el0", "tpidr_el1", "esr", "far", "par", "afsr0", "afsr1",
                            "csselr", "cntkctl", "mdscr", "cntv_ctl", "cntv_cval", "cntp_ctl",
                            "cntp_cval", "fpcr", "fpsr")] + \
        [("q", U64 * 64), ("ich_hcr", U64), ("ich_vmcr", U64), ("ich_ap0r", U64 * 4),
         ("ich_ap1r", U64 * 4), ("lr", U64 * 16), ("nlrs", U32), ("npmu", U32), ("nbrps", U32),
         ("nwrps", U32)] + \
        [(n, U64) for n in ("pmcr", "pmcnten", "pminten", "pmovs", "pmuserenr", "pmccfiltr",
                            "pmccntr", "pmselr")] + \
        [("pmevcntr", U64 * 31), ("pmevtyper", U64 * 31), ("dbgbcr", U64 * 16), ("dbgbvr", U64 * 16),
         ("dbgwcr", U64 * 16), ("dbgwvr", U64 * 16)]


class VgicCpu(C.Structure):
    _fields_ = [("waker", U32), ("group0", U32), ("enabled0", U32), ("config1", U32),
                ("pending_sgis", U32), ("console_lr", I8), ("priority", U8 * 32)]


class SnapshotVcpu(C.Structure):
    _fields_ = [("on", U32), ("reserved", U32), ("regs", GuestContext), ("vgic", VgicCpu)]


class VgicDist(C.Structure):
    _fields_ = [("ctlr", U32), ("group", U32 * VGIC_WORDS), ("enabled", U32 * VGIC_WORDS),
                ("pending", U32 * VGIC_WORDS), ("config", U32 * (2 * VGIC_WORDS)),
                ("priority", U8 * P.MAX_INTIDS), ("route", U32 * P.MAX_INTIDS)]


class Vpl011(C.Structure):
    _fields_ = [("tx", U64), ("ctx", U64), ("rx", U8 * 32)] + \
        [(n, U32) for n in ("rx_head", "rx_count", "ris", "imsc", "cr", "lcr_h", "ibrd", "fbrd",
                            "ifls", "ilpr", "dmacr")]


class ByteRing(C.Structure):
    _fields_ = [("head", U32), ("tail", U32), ("data", U8 * 4096)]


class Record(C.Structure):
    _fields_ = [("magic", U32), ("format", U32), ("record_size", U64), ("total_size", U64),
                ("vm_name", U8 * 16), ("tag", U8 * 16), ("nvcpus", U32), ("nregions", U32),
                ("ram", U64 * (2 * P.MAX_REGIONS)), ("vcount", U64), ("cntfrq", U64),
                ("console_ipa", U64), ("gicd_ipa", U64), ("gicr_ipa", U64), ("console_irq", U32),
                ("privileged", U32), ("vgic", VgicDist), ("console", Vpl011),
                ("console_in", ByteRing), ("vcpus", SnapshotVcpu * P.MAX_VCPUS),
                ("record_crc", U32)]

    CRC_AT = None

    @classmethod
    def parse(cls, raw: bytes) -> "Record":
        rec = cls.from_buffer_copy(raw[:C.sizeof(cls)])
        rec.tail = raw[C.sizeof(cls):]
        return rec

    def check(self, raw: bytes) -> None:
        at = Record.record_crc.offset
        assert self.record_size == len(raw) == (C.sizeof(Record) + 4095) // 4096 * 4096
        assert self.record_crc == zlib.crc32(raw[:at]), "the mirror's layout is not the stub's"

    def sealed(self, fix_crc: bool = True) -> bytes:
        """The record's bytes, its CRC made right again unless fix_crc is False."""
        if fix_crc:
            self.record_crc = zlib.crc32(bytes(self)[:Record.record_crc.offset])
        return bytes(self) + self.tail
