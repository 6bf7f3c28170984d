#include "percpu.h"

struct percpu percpus[MAX_CPUS];
static uint8_t stacks[MAX_CPUS][CPU_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t exception_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));

void percpu_init_boot(void)
{
    for (unsigned i = 0; i < MAX_CPUS; i++) {
        percpus[i].index = i;
        percpus[i].stack_top = (uintptr_t)&stacks[i][CPU_STACK_SIZE];
        percpus[i].exception_stack_top = (uintptr_t)&exception_stacks[i][4096];
    }
    percpus[0].mpidr = read_sysreg(mpidr_el1) & 0xFF00FFFFFFUL;
    write_sysreg(tpidr_el2, &percpus[0]);
}
