/* The board under the trap harness (fuzz_traps.c): what a guest's core sees of the
 * hardware around the stub's exit handler, in software. System registers per core (the
 * syndrome registers the harness fills before each exit, the GIC's list registers as the
 * guest leaves them), PSCI, a RAM map at a fixed low address (so that its addresses fit
 * the stub's 40-bit stage 2 as a board's do) and the parts of the stub below the VMM that
 * the harness does not build (guest_resume, the boot core's kick, the link). */
#ifndef TRAPS_BOARD_H
#define TRAPS_BOARD_H

#include <setjmp.h>
#include <stdint.h>

#define BOARD_CORES 8
#define BOARD_LRS 4                      /* ICH_VTR_EL2.ListRegs + 1 */
#define RAM_BASE 0x40000000UL
#define RAM_SIZE 0x100000UL

struct fake_core {
    uint64_t esr, far, hpfar, elr;
    uint64_t par;                        /* PAR_EL1: what the last AT S1E1R gave */
    uint64_t lr[16];                     /* ICH_LR<n>_EL2 */
    uint64_t ich_hcr;
    uint32_t iar;                        /* what the next ICC_IAR1_EL1 read returns, once */
};

extern struct fake_core cores[BOARD_CORES];
extern unsigned current_core;            /* the core the stub code runs on (TPIDR_EL2) */

/* Where a parked core's PSCI CPU_OFF and a started core's guest_resume go. */
extern jmp_buf *core_exit;
enum core_exit_reason { CORE_PARKED = 1, CORE_ENTERED_GUEST = 2 };

/* PSCI CPU_ON calls since the last take: bit n set, core n was asked to start. */
uint32_t board_take_started_cores(void);
/* A PSCI CPU_ON from a guest's core named a core outside the allowed set (the harness
 * sets it to the trapping VM's cores before each exit; 0 means: anything goes). */
extern uint32_t board_cpu_on_allowed;

/* A physical interrupt stops being active: the guest EOIed the HW list register holding
 * it, or the stub deactivated it. Only an inactive one is acknowledged again. */
void board_guest_deactivate(uint32_t pintid);
void board_reset_interrupts(void);

/* Console bytes the boot core took out of each VM's rings. */
extern uint64_t board_console_bytes[4];
void board_drain_consoles(void);

/* Maps the RAM (once) and builds the boot DTB describing it; returns the DTB. */
const void *board_init(void);
uint8_t *board_ram(void);
/* After memmap_init: every core of the board present. */
void board_cores_present(void);

#endif
