/* The stub's entry in C (arch/aarch64/entry.h): the one file that sees every layer. It
 * installs the hooks through which lower layers reach upper ones, sets the boot core up
 * and hands it to the text monitor; other cores go to their guest. */
#include <stdint.h>

#include "commands.h"
#include "console.h"
#include "el2_mmu.h"
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

extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

/* A fault in the stub or the end of a host session: the monitor starts over. A fault may
 * come from code `go` called: close the window that made RAM executable for it. */
static void __attribute__((noreturn)) restart_monitor(void)
{
    el2_mmu_ram_exec(0);
    restart_on_fresh_stack(monitor_run);
}

/* The stub's EL2 stage 1 (arch/aarch64/el2_mmu.h): built from the RAM map the DTB gave
 * memmap and the image's section boundaries, then switched on. Until here the stub ran
 * with its MMU and data cache off, as booti started it. */
static void mmu_on(void)
{
    const struct memmap *m = memmap_get();
    struct el2_layout layout = {m->ram, m->ram_count, (uintptr_t)__image_start,
                                (uintptr_t)__text_end, (uintptr_t)__rodata_end,
                                (uintptr_t)__image_end};
    char why[96];
    int r = el2_mmu_build(&layout, why, sizeof why);
    if (r != 0)
        printf_("hvmon: EL2 MMU: %s\n", why);
    if (r < 0) {
        printf_("hvmon: running with the EL2 MMU and caches off\n");
        return;
    }
    el2_mmu_enable_boot();
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
    write_sysreg(sctlr_el2, EL2_SCTLR_OFF);    /* what booti promises, whatever it left */
    isb();
    memmap_init(dtb);
    mmu_on();
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
