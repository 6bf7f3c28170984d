/* The EL1/EL0 state a guest writes without trapping to EL2, set to one known value on
 * this core before a vCPU first runs here: the next guest on a core sees nothing of the
 * last one (issue 13, hole 6). */
#ifndef HVMON_GUEST_STATE_H
#define HVMON_GUEST_STATE_H

/* FP/SIMD, thread ID, EL1 translation and exception, timer, PMU, debug and virtual CPU
 * interface registers of this core. SCTLR_EL1 and CPACR_EL1 are the caller's. */
void guest_state_reset(void);

#endif
