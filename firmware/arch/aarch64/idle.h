/* The boot core's sleep between bytes. Core 0 serves the host link and polls the guests'
 * console rings; spinning there steals a whole core from the guests (on QEMU, a host
 * thread from the vCPUs that run them). Instead it waits in WFI for one of: the stub's
 * UART receive interrupt, a kick SGI from a core running a guest, or a tick of the EL2
 * physical timer (CNTHP) that bounds every wait, so timeouts still fire on time. */
#ifndef HVMON_IDLE_H
#define HVMON_IDLE_H

#include <stdint.h>

#define IDLE_TICK_US 5000   /* the shortest timeout on the boot core is 150 ms (NAK repeat) */

/* On the boot core, once: GIC CPU interface, UART interrupt routed here, CNTHP armed. */
void idle_init(void);
/* Sleep until an interrupt is pending or the tick passes. Returns at once when the
 * UART already holds a byte: level interrupts keep the wake-up from being lost. */
void idle_wait(void);
/* From a core running a guest: wake the boot core (it has output to forward). */
void idle_kick_boot_core(void);

#endif
