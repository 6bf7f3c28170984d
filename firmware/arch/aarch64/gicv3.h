/* The physical GICv3 as the stub uses it on cores that run guests: its own CPU
 * interface at EL2, the list registers that inject virtual interrupts, and SGIs between
 * cores. Register offsets and bits: Arm GICv3/v4 Architecture Specification (IHI 0069),
 * chapters 8 (GICR/GICD maps) and 12 (ICC_/ICH_ system registers). */
#ifndef HVMON_GICV3_H
#define HVMON_GICV3_H

#include <stdint.h>

#define GIC_SPURIOUS        1020u
#define GIC_MAINTENANCE_PPI 25u      /* both boards' DTs: GIC_PPI 9 */
#define GIC_VTIMER_PPI      27u      /* EL1 virtual timer: GIC_PPI 11 */
#define GIC_KICK_SGI        15u      /* the stub's "look at your mailbox" between cores */
#define GIC_HYPTIMER_PPI    26u      /* EL2 physical timer: GIC_PPI 10 in both boards' DTs
                                        (QEMU hw/arm/virt.c ARCH_TIMER_NS_EL2_IRQ,
                                        Linux rk3588-base.dtsi timer node) */

/* ICH_LR<n>_EL2 fields (IHI 0069, 12.5.9). */
#define LR_STATE_PENDING    (1UL << 62)
#define LR_STATE_ACTIVE     (2UL << 62)
#define LR_STATE_MASK       (3UL << 62)
#define LR_HW               (1UL << 61)
#define LR_GROUP1           (1UL << 60)
#define LR_EOI              (1UL << 41)
#define LR_PRIORITY(p)      ((uint64_t)(p) << 48)
#define LR_PINTID(i)        ((uint64_t)(i) << 32)

/* Once, on the boot core: distributor on, affinity routing. */
void gic_dist_init(void);
/* INTIDs the board's distributor implements (0 .. count-1): 32 * (GICD_TYPER.ITLinesNumber
 * + 1), at most 1020 (IHI 0069, GICD_TYPER.ITLinesNumber; INTIDs 1020-1023 are special, 2.2.1). */
unsigned gic_intid_count(void);
/* The raw GICD_TYPER the count comes from, for `info`. */
uint32_t gic_typer(void);
/* On each core that will run a guest: wake its redistributor, take the maintenance PPI,
 * the virtual timer PPI and the kick SGI at EL2, enable the virtual CPU interface. */
void gic_cpu_init(void);
void gic_enable_ppi(unsigned intid, int enable);
/* Take a PPI of this core out of the active state through its redistributor (well
 * defined whether it was active or not, unlike ICC_DIR_EL1 for an inactive one). */
void gic_clear_active_ppi(unsigned intid);
/* An SGI or PPI of this core: group 1, the stub's priority, enabled. */
void gic_private_setup(unsigned intid);

uint32_t gic_ack(void);
void gic_eoi(uint32_t intid);             /* priority drop (EOImode 1) */
void gic_deactivate(uint32_t intid);
void gic_send_sgi(uint64_t mpidr, unsigned intid);

/* Route a physical SPI to the core with this MPIDR and enable or disable it. */
void gic_spi_route(unsigned intid, uint64_t mpidr, int enable);

unsigned gic_lr_count(void);
uint64_t gic_read_lr(unsigned n);
void gic_write_lr(unsigned n, uint64_t value);
uint64_t gic_elrsr(void);                 /* bit n set: LR n is free */
uint64_t gic_misr(void);

#endif
