/* The hypercall table of protocol/hvmon.toml. Host HVC requests and (later) guest HVC
 * traps both go through hypercall_dispatch, so both see the same numbers and checks. */
#ifndef HVMON_HYPERCALL_H
#define HVMON_HYPERCALL_H

#include <stdint.h>

struct hvc_regs {
    uint64_t x[7];   /* in: x[0] function id, x[1..6] arguments; out: x[0..3] */
};

/* SMCCC: x0 = -1 for an unknown function. hvmon statuses come back negated in x0. */
#define HVC_RESULT_NOT_SUPPORTED ((uint64_t)-1)

struct vm;

/* caller: the VM that issued HVC, or NULL for the host (which is fully privileged). */
void hypercall_dispatch(struct hvc_regs *regs, struct vm *caller);

#endif
