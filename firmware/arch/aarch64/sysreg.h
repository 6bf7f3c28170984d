#ifndef HVMON_SYSREG_H
#define HVMON_SYSREG_H

#include <stdint.h>

#define read_sysreg(name) ({                                   \
    uint64_t _v;                                               \
    __asm__ volatile("mrs %0, " #name : "=r"(_v));             \
    _v;                                                        \
})

#define write_sysreg(name, v) \
    __asm__ volatile("msr " #name ", %x0" : : "rZ"((uint64_t)(v)) : "memory")

static inline void isb(void) { __asm__ volatile("isb" ::: "memory"); }
static inline void dsb_sy(void) { __asm__ volatile("dsb sy" ::: "memory"); }

static inline void dsb_ishst(void) { __asm__ volatile("dsb ishst" ::: "memory"); }
static inline void wait_for_event(void) { __asm__ volatile("wfe" ::: "memory"); }
static inline void wait_for_interrupt(void) { __asm__ volatile("wfi" ::: "memory"); }

/* The current guest's stage-1 translation of a VA for a read, the result in PAR_EL1
 * (ARM ARM C5.5, AT S1E1R; PAR_EL1 D17.2.109). */
static inline void at_s1e1r(uint64_t va) { __asm__ volatile("at s1e1r, %0" :: "r"(va) : "memory"); }

/* Stage-1+2 TLB entries of the current VMID: on all cores (is) or this one. */
static inline void tlbi_vmalls12e1is(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi vmalls12e1is\n\tdsb ish\n\tisb" ::: "memory");
}

static inline void tlbi_vmalls12e1(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi vmalls12e1\n\tdsb ish\n\tisb" ::: "memory");
}

/* EL2 stage-1 TLB entries (the stub's own translation): this core only, before its
 * MMU is first switched on; or every core, after a table change (el2_mmu.c). */
static inline void tlbi_alle2(void)
{
    __asm__ volatile("dsb nsh\n\ttlbi alle2\n\tdsb nsh\n\tisb" ::: "memory");
}

static inline void tlbi_alle2is(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi alle2is\n\tdsb ish\n\tisb" ::: "memory");
}

/* Before `go` and JUMP branch into code the host wrote: invalidate this core's
 * instruction cache, with a DSB before (the data side's cleaning, done where the code was
 * written, complete) and a DSB and ISB after (no instruction fetched from a stale line):
 * the instruction-cache half of "DC CVAU + DSB + IC IVAU + DSB + ISB" (Arm ARM B2,
 * "Concurrent modification and execution of instructions"; D7, instruction cache
 * maintenance). The writers (requests.c MEM_WRITE, MEM_INFLATE, MEM_UNLZMA, MEM_FILL,
 * the monitor's mw) clean to PoC, beyond PoU, as they write: the range is not known
 * here. */
static inline void sync_icache_all(void)
{
    __asm__ volatile("dsb sy\n\tic iallu\n\tdsb sy\n\tisb" ::: "memory");
}

#endif
