#include "idle.h"

#include "gicv3.h"
#include "percpu.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "timer.h"
#include "uart.h"

/* CNTHP_CTL_EL2 bits (ARM ARM D13.8, CNTHP_CTL_EL2): ENABLE, IMASK. */
#define CNTHP_ENABLE (1UL << 0)
#define CNTHP_IMASK  (1UL << 1)

static int ready;
static uint64_t tick;

void idle_init(void)
{
    tick = read_sysreg(cntfrq_el0) / 1000000 * IDLE_TICK_US;
    gic_cpu_init();                                /* kick SGI, group 1 at EL2 */
    gic_private_setup(GIC_HYPTIMER_PPI);
    write_sysreg(cnthp_ctl_el2, CNTHP_ENABLE | CNTHP_IMASK);
    gic_spi_route(BOARD_UART_IRQ, percpus[0].mpidr, 1);
    isb();
    ready = 1;
}

/* PSTATE.I stays set on the boot core: WFI still wakes on a pending IRQ (ARM ARM D1.6.2,
 * "WFI wake-up events" are not gated by the PSTATE masks), and nothing is ever taken as
 * an exception. Acknowledge what woke us so edge-like SGIs do not keep it awake; level
 * sources (UART, timer) are quietened at their origin by the caller or here. */
void idle_wait(void)
{
    if (!ready)
        return;
    write_sysreg(cnthp_cval_el2, timer_now() + tick);
    write_sysreg(cnthp_ctl_el2, CNTHP_ENABLE);
    uart_rx_irq_enable(1);      /* a byte already waiting raises it at once: WFI returns */
    isb();
    wait_for_interrupt();
    uart_rx_irq_enable(0);
    for (unsigned i = 0; i < 4; i++) {
        uint32_t intid = gic_ack();
        if (intid >= GIC_SPURIOUS)
            break;
        if (intid == GIC_HYPTIMER_PPI)
            write_sysreg(cnthp_ctl_el2, CNTHP_ENABLE | CNTHP_IMASK);
        gic_eoi(intid);
        gic_deactivate(intid);
        if (intid == BOARD_UART_IRQ)
            break;                 /* still asserted until the caller drains the FIFO */
    }
}

void idle_kick_boot_core(void)
{
    gic_send_sgi(percpus[0].mpidr, GIC_KICK_SGI);
}
