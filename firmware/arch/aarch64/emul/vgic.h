/* The GICv3 a guest sees: a distributor and one redistributor per vCPU, emulated in
 * software (their pages are left out of stage 2, so every access traps), and virtual
 * interrupts delivered through the list registers. Register map: Arm IHI 0069, 12.9
 * (GICD) and 12.10-12.11 (GICR). */
#ifndef HVMON_VGIC_H
#define HVMON_VGIC_H

#include <stdint.h>

#include "protocol.h"

/* State for every INTID a GICv3 can have (the largest board's, RK3588: 512); a guest
 * sees as many as its board has (gic_intid_count), the rest read as zero. */
#define VGIC_MAX_INTIDS LIMIT_MAX_INTIDS
#define VGIC_WORDS ((VGIC_MAX_INTIDS + 31) / 32)   /* one bit per INTID */
#define VGIC_DIST_SIZE 0x10000
#define VGIC_REDIST_FRAME LIMIT_GICR_FRAME

struct vgic_dist {
    uint32_t ctlr;
    uint32_t group[VGIC_WORDS];
    uint32_t enabled[VGIC_WORDS];
    uint32_t pending[VGIC_WORDS];          /* set through ISPENDR (edge SPIs) */
    uint32_t config[2 * VGIC_WORDS];       /* two bits per INTID */
    uint8_t priority[VGIC_MAX_INTIDS];
    /* GICD_IROUTER<n> bits 31:0 (IRM, Aff2.Aff1.Aff0): Aff3 (39:32) is RES0 because the
     * guest's GICD_TYPER.A3V is 0 (IHI 0069, GICD_IROUTER<n>.Aff3), so 4 bytes per
     * INTID hold it all. */
    uint32_t route[VGIC_MAX_INTIDS];
};

struct vgic_cpu {
    uint32_t waker;
    uint32_t group0, enabled0, config1;
    volatile uint32_t pending_sgis;       /* bit n: SGI n raised by some vCPU */
    /* The list register holding the console interrupt until the guest EOIs it, or -1.
     * Kept here so that most exits need not read the list registers: on QEMU every
     * GIC system register access takes the emulator's global lock. */
    int8_t console_lr;
    uint8_t priority[32];
};

struct vm;
struct vcpu;

/* Guest access to the distributor / redistributor page at byte offset off. Returns 0, or
 * -1 for an access the guest must not make (it is then stopped with a fault). */
int vgic_dist_access(struct vm *vm, uint64_t off, unsigned size, int write, uint64_t *value);
int vgic_redist_access(struct vm *vm, uint64_t off, unsigned size, int write, uint64_t *value);

void vgic_init(struct vm *vm);
void vgic_cpu_init(struct vcpu *v);
/* On the vCPU's core: move what is pending and enabled into free list registers, and
 * retire the console interrupt if its line dropped. */
void vgic_flush(struct vcpu *v);
/* Any core: make edge SPI intid pending in vm (an IVC doorbell) and kick the vCPU it is
 * routed to, whose core moves it into a list register on its way back to the guest. */
void vgic_raise_spi(struct vm *vm, uint32_t intid);
/* A guest wrote ICC_SGI1R_EL1 (trapped): raise the SGI on every targeted vCPU. */
void vgic_send_sgi(struct vcpu *from, uint64_t sgi1r);
/* A physical interrupt of this core arrived while its guest ran. */
void vgic_physical_irq(struct vcpu *v, uint32_t intid);
/* Maintenance interrupt: a level interrupt was EOIed, or list registers emptied. */
void vgic_maintenance(struct vcpu *v);
/* Empty every list register (before a guest first runs on this core, or when the core
 * leaves its guest; v may be NULL then). */
void vgic_clear_lrs(struct vcpu *v);

#endif
