/* Host shadow of firmware/arch/aarch64/sysreg.h for the fuzz harness: system registers
 * become values the harness controls, barriers do nothing, and the instruction-cache sync
 * that JUMP performs right before branching leaves the input instead. */
#ifndef HVMON_SYSREG_H
#define HVMON_SYSREG_H

#include <stdint.h>

uint64_t fake_sysreg_read(const char *name);
void fake_sysreg_write(const char *name, uint64_t value);
void harness_jump(void) __attribute__((noreturn));

#define read_sysreg(name) fake_sysreg_read(#name)
#define write_sysreg(name, v) fake_sysreg_write(#name, (uint64_t)(v))

static inline void isb(void) {}
static inline void dsb_sy(void) {}
static inline void dsb_ishst(void) {}
static inline void wait_for_event(void) {}
static inline void wait_for_interrupt(void) {}
/* A guest with its stage-1 MMU off: the VA is the IPA (PAR_EL1.F clear, PA [51:12]). */
static inline void at_s1e1r(uint64_t va) { write_sysreg(par_el1, va & 0x000FFFFFFFFFF000UL); }
static inline void tlbi_vmalls12e1is(void) {}
static inline void tlbi_vmalls12e1(void) {}
static inline void tlbi_alle2(void) {}
static inline void tlbi_alle2is(void) {}
static inline void sync_icache_all(void) { harness_jump(); }

#endif
