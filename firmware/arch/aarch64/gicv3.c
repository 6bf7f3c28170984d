#include "gicv3.h"

#include <mmio.h>   /* <>: host tests shadow it */
#include "protocol.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

#define GICD_CTLR       0x0000
#define GICD_TYPER      0x0004
#define GICD_ISENABLER  0x0100
#define GICD_ICENABLER  0x0180
#define GICD_IGROUPR    0x0080
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER    0x6000
#define CTLR_RWP        (1u << 31)
#define CTLR_ARE        (1u << 4)
#define CTLR_GRP1       (1u << 1)

#define GICR_FRAME      0x20000
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000
#define GICR_IGROUPR0   (GICR_SGI + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100)
#define GICR_ICENABLER0 (GICR_SGI + 0x0180)
#define GICR_ICACTIVER0 (GICR_SGI + 0x0380)   /* IHI 0069, 12.11.6 */
#define GICR_IPRIORITYR (GICR_SGI + 0x0400)
#define TYPER_LAST      (1UL << 4)
#define WAKER_SLEEP     (1u << 1)
#define WAKER_ASLEEP    (1u << 2)

#define STUB_PRIORITY   0x80
#define TYPER_ITLINES   0x1Fu

/* INTIDs 1020..1023 are special, never interrupts: no GIC has more than 1020 (IHI 0069,
 * 2.2.1). The vGIC's state is sized by the protocol's limit, so that must cover them. */
_Static_assert(LIMIT_MAX_INTIDS == 1020, "the vGIC must have state for every SPI a GICv3 can have");

static uint64_t read64(uintptr_t a)
{
    return (uint64_t)mmio_read32(a) | (uint64_t)mmio_read32(a + 4) << 32;
}

static void wait_rwp(void)
{
    while (mmio_read32(BOARD_GICD_BASE + GICD_CTLR) & CTLR_RWP)
        ;
}

void gic_dist_init(void)
{
    uint32_t ctlr = mmio_read32(BOARD_GICD_BASE + GICD_CTLR);
    mmio_write32(BOARD_GICD_BASE + GICD_CTLR, ctlr | CTLR_ARE | CTLR_GRP1);
    wait_rwp();
    gic_typer();                               /* read here, before any guest core asks */
}

/* Read once, like gic_lr_count: the count is fixed, and on QEMU each GIC register read
 * takes its global lock. */
uint32_t gic_typer(void)
{
    static uint32_t typer;
    static int read;
    if (!read) {
        typer = mmio_read32(BOARD_GICD_BASE + GICD_TYPER);
        read = 1;
    }
    return typer;
}

unsigned gic_intid_count(void)
{
    unsigned count = 32 * ((gic_typer() & TYPER_ITLINES) + 1);
    return count < LIMIT_MAX_INTIDS ? count : LIMIT_MAX_INTIDS;
}

/* This core's redistributor: the frame whose GICR_TYPER affinity matches MPIDR. */
static uintptr_t my_redistributor(void)
{
    uint64_t mpidr = read_sysreg(mpidr_el1);
    uint32_t aff = (uint32_t)((mpidr & 0xFFFFFF) | ((mpidr >> 32) & 0xFF) << 24);
    for (uintptr_t frame = BOARD_GICR_BASE;; frame += GICR_FRAME) {
        uint64_t typer = read64(frame + GICR_TYPER);
        if ((uint32_t)(typer >> 32) == aff)
            return frame;
        if (typer & TYPER_LAST)
            return 0;
    }
}

static uintptr_t rd;

void gic_enable_ppi(unsigned intid, int enable)
{
    uintptr_t r = my_redistributor();
    mmio_write32(r + (enable ? GICR_ISENABLER0 : GICR_ICENABLER0), 1u << intid);
}

void gic_clear_active_ppi(unsigned intid)
{
    mmio_write32(my_redistributor() + GICR_ICACTIVER0, 1u << intid);
}

void gic_private_setup(unsigned intid)
{
    uintptr_t r = my_redistributor();
    mmio_write32(r + GICR_IGROUPR0, mmio_read32(r + GICR_IGROUPR0) | 1u << intid);
    uintptr_t prio = r + GICR_IPRIORITYR + (intid & ~3u);
    uint32_t shift = (intid & 3) * 8;
    mmio_write32(prio, (mmio_read32(prio) & ~(0xFFu << shift)) | (uint32_t)STUB_PRIORITY << shift);
    mmio_write32(r + GICR_ISENABLER0, 1u << intid);
}

void gic_cpu_init(void)
{
    rd = my_redistributor();
    mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~WAKER_SLEEP);
    while (mmio_read32(rd + GICR_WAKER) & WAKER_ASLEEP)
        ;
    unsigned ours[] = {GIC_MAINTENANCE_PPI, GIC_VTIMER_PPI, GIC_KICK_SGI};
    for (unsigned i = 0; i < sizeof ours / sizeof ours[0]; i++)
        gic_private_setup(ours[i]);
    /* System register interface, at EL2 and for EL1 (IHI 0069 12.2). */
    write_sysreg(S3_4_C12_C9_5, 0xF);          /* ICC_SRE_EL2: SRE, DFB, DIB, Enable */
    isb();
    write_sysreg(S3_0_C4_C6_0, 0xFF);          /* ICC_PMR_EL1: let everything through */
    write_sysreg(S3_0_C12_C12_4, 1UL << 1);    /* ICC_CTLR_EL1: EOImode 1 */
    write_sysreg(S3_0_C12_C12_7, 1);           /* ICC_IGRPEN1_EL1 */
    write_sysreg(S3_4_C12_C11_0, 1);           /* ICH_HCR_EL2: En */
    isb();
}

uint32_t gic_ack(void)
{
    uint64_t v = read_sysreg(S3_0_C12_C12_0);  /* ICC_IAR1_EL1 */
    dsb_sy();
    return (uint32_t)v & 0xFFFFFF;
}

void gic_eoi(uint32_t intid)
{
    write_sysreg(S3_0_C12_C12_1, intid);       /* ICC_EOIR1_EL1 */
    isb();
}

void gic_deactivate(uint32_t intid)
{
    write_sysreg(S3_0_C12_C11_1, intid);       /* ICC_DIR_EL1 */
    isb();
}

void gic_send_sgi(uint64_t mpidr, unsigned intid)
{
    uint64_t aff1 = (mpidr >> 8) & 0xFF, aff2 = (mpidr >> 16) & 0xFF, aff3 = (mpidr >> 32) & 0xFF;
    uint64_t target = 1UL << (mpidr & 0xF);
    uint64_t rs = (mpidr & 0xFF) >> 4;
    uint64_t v = target | aff1 << 16 | (uint64_t)intid << 24 | aff2 << 32 | rs << 44 | aff3 << 48;
    dsb_ishst();
    write_sysreg(S3_0_C12_C11_5, v);           /* ICC_SGI1R_EL1 */
    isb();
}

void gic_spi_route(unsigned intid, uint64_t mpidr, int enable)
{
    uintptr_t d = BOARD_GICD_BASE;
    uint64_t route = (mpidr & 0xFFFFFF) | ((mpidr >> 32) & 0xFF) << 32;
    mmio_write32(d + GICD_IROUTER + 8 * intid, (uint32_t)route);
    mmio_write32(d + GICD_IROUTER + 8 * intid + 4, (uint32_t)(route >> 32));
    mmio_write32(d + GICD_IGROUPR + 4 * (intid / 32),
                 mmio_read32(d + GICD_IGROUPR + 4 * (intid / 32)) | 1u << (intid % 32));
    mmio_write32(d + (enable ? GICD_ISENABLER : GICD_ICENABLER) + 4 * (intid / 32), 1u << (intid % 32));
    wait_rwp();
}

/* Read once: the count is fixed, and on QEMU each GIC register read takes its global lock. */
unsigned gic_lr_count(void)
{
    static unsigned count;
    if (count == 0)
        count = (unsigned)(read_sysreg(S3_4_C12_C11_1) & 0x1F) + 1;   /* ICH_VTR_EL2.ListRegs */
    return count;
}

/* ICH_LR<n>_EL2 is S3_4_C12_C12_<n> for n < 8 and S3_4_C12_C13_<n-8> above. */
#define LR_CASE(n, crm, op2)                                                  \
    case n:                                                                   \
        if (write) write_sysreg(S3_4_C12_##crm##_##op2, value);              \
        else value = read_sysreg(S3_4_C12_##crm##_##op2);                    \
        break;

static uint64_t lr_access(unsigned n, int write, uint64_t value)
{
    switch (n) {
    LR_CASE(0, C12, 0) LR_CASE(1, C12, 1) LR_CASE(2, C12, 2) LR_CASE(3, C12, 3)
    LR_CASE(4, C12, 4) LR_CASE(5, C12, 5) LR_CASE(6, C12, 6) LR_CASE(7, C12, 7)
    LR_CASE(8, C13, 0) LR_CASE(9, C13, 1) LR_CASE(10, C13, 2) LR_CASE(11, C13, 3)
    LR_CASE(12, C13, 4) LR_CASE(13, C13, 5) LR_CASE(14, C13, 6) LR_CASE(15, C13, 7)
    default: break;
    }
    return value;
}

uint64_t gic_read_lr(unsigned n)
{
    return lr_access(n, 0, 0);
}

void gic_write_lr(unsigned n, uint64_t value)
{
    lr_access(n, 1, value);
    isb();
}

uint64_t gic_elrsr(void)
{
    return read_sysreg(S3_4_C12_C11_5);        /* ICH_ELRSR_EL2 */
}

uint64_t gic_misr(void)
{
    return read_sysreg(S3_4_C12_C11_2);        /* ICH_MISR_EL2 */
}
