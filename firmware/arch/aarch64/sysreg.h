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

/* After writing instructions with stores: make the I-side see them. */
static inline void sync_icache_all(void)
{
    __asm__ volatile("dsb sy\n\tic iallu\n\tdsb sy\n\tisb" ::: "memory");
}

#endif
