/* firmware/arch/aarch64/exception.c compiled for the host (issue 13, hole 4): a fault of
 * the stub on a guest's core goes to the VMM's handler with ESR/ELR/FAR -- not printed,
 * not to the monitor's recovery -- while a fault on the boot core is still reported and
 * recovered from. System registers come from tests/fuzz/host/sysreg.h's hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exception.h"
#include "percpu.h"
#include "print.h"

struct percpu percpus[MAX_CPUS];
static struct percpu *current;
static int printed, recovered, handled;
static uint64_t got_esr, got_elr, got_far;
static jmp_buf back;

uint64_t fake_sysreg_read(const char *name)
{
    if (!strcmp(name, "tpidr_el2")) return (uint64_t)(uintptr_t)current;
    if (!strcmp(name, "esr_el2")) return 0x96000010;     /* data abort at EL2 */
    if (!strcmp(name, "elr_el2")) return 0x40201234;
    if (!strcmp(name, "far_el2")) return 0xdead0000;
    return 0;
}
void fake_sysreg_write(const char *name, uint64_t value) { (void)name; (void)value; }
void harness_jump(void) { abort(); }

void printf_(const char *fmt, ...) { (void)fmt; printed++; }

static void __attribute__((noreturn)) recover(void)
{
    recovered++;
    longjmp(back, 1);
}

static void __attribute__((noreturn)) guest_core(uint64_t esr, uint64_t elr, uint64_t far)
{
    handled++;
    got_esr = esr, got_elr = elr, got_far = far;
    longjmp(back, 1);
}

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); return 1; } } while (0)

int main(void)
{
    struct exception_frame frame = {.kind = 8};
    for (unsigned i = 0; i < MAX_CPUS; i++)
        percpus[i].index = i;
    exception_set_recovery(recover);
    exception_set_guest_core_handler(guest_core);

    current = &percpus[2];                      /* a guest's core */
    if (!setjmp(back))
        exception_report(&frame);
    CHECK(handled == 1 && recovered == 0 && printed == 0);
    CHECK(got_esr == 0x96000010 && got_elr == 0x40201234 && got_far == 0xdead0000);
    CHECK(percpus[2].faulting == 1);

    current = &percpus[0];                      /* the boot core: report, then the monitor */
    if (!setjmp(back))
        exception_report(&frame);
    CHECK(recovered == 1 && handled == 1 && printed > 0);
    puts("ok");
    return 0;
}
