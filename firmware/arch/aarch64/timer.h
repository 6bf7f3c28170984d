#ifndef HVMON_TIMER_H
#define HVMON_TIMER_H

#include <stdint.h>

#include <sysreg.h>   /* <>: host tests may shadow it */

/* The generic timer: CNTPCT_EL0 counts at CNTFRQ_EL0 Hz (ARM ARM D11.1); the frequency
 * differs per board (QEMU 62.5 MHz, RK3588 24 MHz), so always read it. */
static inline uint64_t timer_now(void)
{
    isb();
    return read_sysreg(cntpct_el0);
}

static inline uint64_t timer_ms(uint64_t ms)
{
    return read_sysreg(cntfrq_el0) / 1000 * ms;
}

static inline uint64_t timer_us(uint64_t us)
{
    return read_sysreg(cntfrq_el0) / 1000000 * us;
}

#endif
