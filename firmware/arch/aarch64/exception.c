#include "exception.h"

#include "percpu.h"
#include "print.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

static const char *const slot_names[16] = {
    "synchronous, current EL with SP_EL0", "IRQ, current EL with SP_EL0",
    "FIQ, current EL with SP_EL0", "SError, current EL with SP_EL0",
    "synchronous, current EL with SP_EL2", "IRQ, current EL with SP_EL2",
    "FIQ, current EL with SP_EL2", "SError, current EL with SP_EL2",
    "synchronous, lower EL (AArch64)", "IRQ, lower EL (AArch64)",
    "FIQ, lower EL (AArch64)", "SError, lower EL (AArch64)",
    "synchronous, lower EL (AArch32)", "IRQ, lower EL (AArch32)",
    "FIQ, lower EL (AArch32)", "SError, lower EL (AArch32)",
};

/* ESR_ELx.EC values: ARM ARM D17.2.37 (ESR_EL2). */
static const char *ec_name(uint32_t ec)
{
    switch (ec) {
    case 0x00: return "unknown reason (undefined instruction)";
    case 0x01: return "WFI/WFE";
    case 0x0e: return "illegal execution state";
    case 0x15: return "SVC";
    case 0x16: return "HVC";
    case 0x17: return "SMC";
    case 0x18: return "MSR/MRS/system instruction";
    case 0x20: return "instruction abort from a lower EL";
    case 0x21: return "instruction abort";
    case 0x22: return "PC alignment fault";
    case 0x24: return "data abort from a lower EL";
    case 0x25: return "data abort";
    case 0x26: return "SP alignment fault";
    case 0x2f: return "SError";
    case 0x3c: return "BRK";
    default: return "other";
    }
}

static volatile int reporting;
static exception_recovery_fn recovery;
static struct exception_record last;

const struct exception_record *exception_last(void)
{
    return &last;
}

static exception_guest_core_fn guest_core_handler;

void exception_set_recovery(exception_recovery_fn recover)
{
    recovery = recover;
}

void exception_set_guest_core_handler(exception_guest_core_fn handler)
{
    guest_core_handler = handler;
}

/* On a guest's core: hand the fault to the VMM, once; a fault while it handles one
 * leaves the core waiting for ever (the boot core sees a vCPU that never stopped). */
static void __attribute__((noreturn)) guest_core_fault(struct percpu *cpu)
{
    if (guest_core_handler && !cpu->faulting) {
        cpu->faulting = 1;
        guest_core_handler(read_sysreg(esr_el2), read_sysreg(elr_el2), read_sysreg(far_el2));
    }
    for (;;)
        wait_for_interrupt();
}

void exception_rearm(void)
{
    reporting = 0;
}

void exception_report(struct exception_frame *f)
{
    struct percpu *cpu = this_cpu();
    if (cpu->index != 0)
        guest_core_fault(cpu);
    if (reporting)       /* faulted while reporting: nothing sane is left to do */
        for (;;)
            wait_for_event();
    reporting = 1;

    uint64_t esr = read_sysreg(esr_el2), elr = read_sysreg(elr_el2);
    uint64_t far = read_sysreg(far_el2), spsr = read_sysreg(spsr_el2);
    uint32_t ec = (uint32_t)(esr >> 26) & 0x3f;
    last = (struct exception_record){esr, elr, far, spsr};

    printf_("\n*** EL2 exception: %s\n", slot_names[f->kind & 15]);
    printf_("*** ESR_EL2=0x%016lx (EC 0x%02x: %s, ISS 0x%07lx)\n", esr, ec, ec_name(ec),
            esr & 0x1ffffff);
    printf_("*** ELR_EL2=0x%016lx FAR_EL2=0x%016lx SPSR_EL2=0x%016lx\n", elr, far, spsr);
    for (int i = 0; i < 31; i += 3) {
        printf_("***");
        for (int j = i; j < i + 3 && j < 31; j++)
            printf_(" x%d%s=0x%016lx", j, j < 10 ? " " : "", f->x[j]);
        printf_("\n");
    }
    printf_("*** sp =0x%016lx; back to the monitor\n", f->sp);
    if (recovery)
        recovery();
    for (;;)
        wait_for_event();
}
