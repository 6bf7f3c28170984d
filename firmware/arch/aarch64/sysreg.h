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

/* Stage-1+2 TLB entries of the current VMID: on all cores (is) or this one. */
static inline void tlbi_vmalls12e1is(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi vmalls12e1is\n\tdsb ish\n\tisb" ::: "memory");
}

static inline void tlbi_vmalls12e1(void)
{
    __asm__ volatile("dsb ishst\n\ttlbi vmalls12e1\n\tdsb ish\n\tisb" ::: "memory");
}

/* After writing instructions with stores: make the I-side see them. */
static inline void sync_icache_all(void)
{
    __asm__ volatile("dsb sy\n\tic iallu\n\tdsb sy\n\tisb" ::: "memory");
}

#endif
