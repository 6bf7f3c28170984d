/* One record per physical core, found through TPIDR_EL2. The first fields are shared
 * with assembly (vectors.S, start.S): keep the offsets in step. */
#ifndef HVMON_PERCPU_H
#define HVMON_PERCPU_H

#define MAX_CPUS 8
#define CPU_STACK_SIZE 16384
#define PERCPU_STACK_TOP 248
#define PERCPU_EXC_STACK_TOP 256

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include <sysreg.h>   /* <>: host tests may shadow it */

struct vcpu;

struct percpu {
    uint64_t regs[31];              /* guest x0..x30 while the stub handles an exit */
    uint64_t stack_top;             /* this core's EL2 stack */
    uint64_t exception_stack_top;   /* for faults in the stub itself */
    uint64_t index;
    uint64_t mpidr;
    struct vcpu *vcpu;              /* the guest vCPU pinned to this core, if any */
    uint64_t exits, irqs, kicks, sgis_sent;   /* counters for the core_stats hypercall */
    volatile uint32_t faulting;     /* the stub faulted on this core (exception.c) */
};

_Static_assert(offsetof(struct percpu, stack_top) == PERCPU_STACK_TOP, "asm offset");
_Static_assert(offsetof(struct percpu, exception_stack_top) == PERCPU_EXC_STACK_TOP, "asm offset");

extern struct percpu percpus[MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
    return (struct percpu *)read_sysreg(tpidr_el2);
}

/* Fill in the boot core's record (called from start.S before anything can fault). */
void percpu_init_boot(void);

#endif /* __ASSEMBLER__ */
#endif
