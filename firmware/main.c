/* The stub's entry in C (arch/aarch64/entry.h): the one file that sees every layer. It
 * installs the hooks through which lower layers reach upper ones, sets the boot core up
 * and hands it to the text monitor; other cores go to their guest. */
#include <stdint.h>

#include "commands.h"
#include "console.h"
#include "entry.h"
#include "exception.h"
#include "gicv3.h"
#include "idle.h"
#include "memmap.h"
#include "monitor.h"
#include "print.h"
#include "requests.h"
#include "restart.h"
#include "session.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "uart.h"
#include "vm.h"

/* SCTLR_EL2 with the MMU and data cache off, I-cache and SP alignment checks on; bits
 * 4,5,11,16,18,22,23,28,29 are RES1 (ARM ARM D17.2.119, SCTLR_EL2 with HCR_EL2.E2H 0). */
#define SCTLR_EL2_STUB 0x30C51838UL

/* A fault in the stub or the end of a host session: the monitor starts over. */
static void __attribute__((noreturn)) restart_monitor(void)
{
    restart_on_fresh_stack(monitor_run);
}

/* After a fault, on the fresh stack: in framed mode the host hears of it (the request it
 * cut short answered FAULTED, an EVENT FAULT) before the session carries on. */
static void __attribute__((noreturn)) resume_after_fault(void)
{
    if (session_active()) {
        const struct exception_record *f = exception_last();
        request_faulted(f->esr, f->elr, f->far, f->spsr);
    }
    monitor_run();
}

static void __attribute__((noreturn)) recover_from_fault(void)
{
    restart_on_fresh_stack(resume_after_fault);
}

/* The lower layers reach the ones above them only through what is installed here
 * (firmware/README.md, "Layers"). */
static void install_hooks(void)
{
    console_attach(&session_console_link);
    session_on_request(request_handle);
    print_set_output(console_putc);
    exception_set_recovery(recover_from_fault); /* a fault in the stub, once reported */
    exception_set_guest_core_handler(vcpu_stub_fault);   /* ... on a guest's core */
    session_on_exit(restart_monitor);           /* BYE or Ctrl-C x3 */
    guest_exit_handler = guest_trap;
}

void stub_main(const void *dtb, uint64_t el)
{
    uart_init();
    install_hooks();
    if (el != 2) {
        printf_("\nhvmon: entered at EL%lu, but the stub needs EL2.\n"
                "hvmon: start it from a boot loader running at EL2 with booti "
                "(QEMU: -M virt,virtualization=on).\n", el);
        uart_flush();
        return;
    }
    write_sysreg(sctlr_el2, SCTLR_EL2_STUB);
    isb();
    memmap_init(dtb);
    /* Guests' interrupts (their timers, our kicks between cores) pass the distributor:
     * it must forward group 1 with affinity routing whatever the boot loader left. */
    gic_dist_init();
    idle_init();
    printf_("\n");
    print_info();
    puts_("type 'help' for commands");
    monitor_run();
}

/* Only PC-relative code runs here: no globals, no function pointers, so not
 * printf_ (its output goes through one); the text is formatted on the stack and written
 * to the UART directly. */
void report_wrong_load_address(uint64_t actual, uint64_t linked)
{
    char text[192];
    snprintf_(text, sizeof text, "\nhvmon: running at 0x%lx but linked for 0x%lx; load it "
              "there and use booti (its Image header keeps it in place).\n", actual, linked);
    uart_init();
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            uart_putc('\r');
        uart_putc(*p);
    }
    uart_flush();
}

void secondary_main(struct percpu *cpu)
{
    vcpu_start_on_this_core(cpu);
}
