#include "vgic.h"

#include "gicv3.h"
#include "libc.h"
#include "spinlock.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "vm.h"

/* GICD offsets (IHI 0069, table 12-25). */
#define GICD_CTLR       0x0000
#define GICD_TYPER      0x0004
#define GICD_IIDR       0x0008
#define GICD_IGROUPR    0x0080
#define GICD_ISENABLER  0x0100
#define GICD_ICENABLER  0x0180
#define GICD_ISPENDR    0x0200
#define GICD_ICPENDR    0x0280
#define GICD_ISACTIVER  0x0300
#define GICD_ICACTIVER  0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR      0x0C00
#define GICD_IROUTER    0x6000
#define GICD_PIDR2      0xFFE8
#define ROUTE_BITS      0x80FFFFFFu      /* IRM (31), Aff2.Aff1.Aff0 (23:0) */
#define CTLR_DS         (1u << 6)        /* one security state, as on both boards' guests */
#define CTLR_RWP        (1u << 31)
#define PIDR2_GICV3     0x3B
#define IIDR_ARM        0x0000043B

/* GICR offsets (IHI 0069, tables 12-27 and 12-29). */
#define GICR_CTLR       0x0000
#define GICR_IIDR       0x0004
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_PIDR2      0xFFE8
#define SGI_BASE        0x10000
#define WAKER_SLEEP     (1u << 1)
#define WAKER_ASLEEP    (1u << 2)
#define TYPER_LAST      (1UL << 4)

#define ICH_HCR_UIE     (1UL << 1)
#define ICH_EISR()      read_sysreg(S3_4_C12_C11_3)

static void set_bits(uint32_t *word, uint32_t bits, int set)
{
    if (set)
        *word |= bits;
    else
        *word &= ~bits;
}

/* Byte-wide registers (the GICR's SGI/PPI priorities) accept 1-, 2- and 4-byte accesses. */
static void bytes_access(uint8_t *array, unsigned index, unsigned size, int write, uint64_t *value)
{
    if (write) {
        for (unsigned i = 0; i < size; i++)
            array[index + i] = (uint8_t)(*value >> (8 * i));
    } else {
        *value = 0;
        for (unsigned i = 0; i < size; i++)
            *value |= (uint64_t)array[index + i] << (8 * i);
    }
}

/* The bits of bit-per-INTID word `word` whose INTIDs the board implements. */
static uint32_t implemented_bits(unsigned word, unsigned limit)
{
    if (32 * word >= limit)
        return 0;
    unsigned left = limit - 32 * word;
    return left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1;
}

void vgic_init(struct vm *vm)
{
    memset(&vm->vgic, 0, sizeof vm->vgic);
    for (unsigned i = 0; i < VGIC_MAX_INTIDS; i++)
        vm->vgic.priority[i] = 0xA0;
}

void vgic_cpu_init(struct vcpu *v)
{
    memset(&v->vgic, 0, sizeof v->vgic);
    v->vgic.waker = WAKER_SLEEP | WAKER_ASLEEP;
    v->vgic.enabled0 = 0xFFFF;           /* SGIs are always enabled on GICv3 parts */
    v->vgic.console_lr = -1;
    for (unsigned i = 0; i < 32; i++)
        v->vgic.priority[i] = 0xA0;
}

/* GICD_IPRIORITYR<n>, byte n per INTID: SGIs and PPIs live in the GICR, INTIDs the board
 * does not have read as zero and ignore writes (IHI 0069, GICD_IPRIORITYR<n>). */
static void priority_access(struct vgic_dist *d, unsigned first, unsigned size, int write,
                            uint64_t *value, unsigned limit)
{
    if (!write)
        *value = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned irq = first + i;
        if (irq < 32 || irq >= limit)
            continue;
        if (write)
            d->priority[irq] = (uint8_t)(*value >> (8 * i));
        else
            *value |= (uint64_t)d->priority[irq] << (8 * i);
    }
}

/* GICD_IROUTER<n>: 64-bit, or either 32-bit half. */
static int route_access(struct vgic_dist *d, uint64_t off, unsigned size, int write, uint64_t *value,
                        unsigned limit)
{
    unsigned irq = (unsigned)((off - GICD_IROUTER) / 8);
    if (!((size == 8 && !(off & 7)) || (size == 4 && !(off & 3))))
        return -1;
    uint64_t route = irq < limit ? d->route[irq] : 0;     /* beyond the board's: RAZ/WI */
    unsigned shift = size == 4 && (off & 4) ? 32 : 0;
    uint64_t mask = size == 8 ? ~0UL : 0xFFFFFFFFUL << shift;
    if (!write) {
        *value = (route & mask) >> shift;
        return 0;
    }
    if (irq < limit)
        d->route[irq] = (uint32_t)(((route & ~mask) | (*value << shift & mask)) & ROUTE_BITS);
    return 0;
}

int vgic_dist_access(struct vm *vm, uint64_t off, unsigned size, int write, uint64_t *value)
{
    struct vgic_dist *d = &vm->vgic;
    unsigned limit = gic_intid_count();
    uint32_t v32 = (uint32_t)*value;
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 32 * VGIC_WORDS) {   /* a byte per INTID */
        unsigned irq = (unsigned)(off - GICD_IPRIORITYR);
        if (irq + size > 32 * VGIC_WORDS)
            return -1;
        priority_access(d, irq, size, write, value, limit);
        return 0;
    }
    if (off >= GICD_IROUTER + 8 * 32 && off < GICD_IROUTER + 8 * VGIC_MAX_INTIDS)
        return route_access(d, off, size, write, value, limit);
    if (size != 4 || (off & 3))
        return -1;
    unsigned word = (unsigned)(off & 0x7F) / 4;    /* for the bit-per-interrupt banks */
    uint32_t valid = word > 0 ? implemented_bits(word, limit) : 0;   /* word 0 lives in the GICR */
    switch (off & ~0x7FUL) {
    case GICD_IGROUPR:
        if (write)
            d->group[word] = (d->group[word] & ~valid) | (v32 & valid);
        else
            *value = d->group[word] & valid;
        return 0;
    case GICD_ISENABLER:
    case GICD_ICENABLER:
        if (write) {
            int set = (off & ~0x7FUL) == GICD_ISENABLER;
            set_bits(&d->enabled[word], v32 & valid, set);
            /* Handed-over SPIs follow the guest's enable (routed to vCPU 0's core). */
            for (uint32_t bit = 0; bit < 32; bit++)
                if ((v32 & valid) >> bit & 1 && vm_owns_irq(vm, 32 * word + bit))
                    gic_spi_route(32 * word + bit, percpus[vm->vcpus[0].pcpu].mpidr, set);
        } else {
            *value = d->enabled[word] & valid;
        }
        return 0;
    case GICD_ISPENDR:
    case GICD_ICPENDR:
        /* Atomic: a doorbell (vgic_raise_spi) may set bits from another core. */
        if (write && (off & ~0x7FUL) == GICD_ISPENDR)
            __atomic_fetch_or(&d->pending[word], v32 & valid, __ATOMIC_SEQ_CST);
        else if (write)
            __atomic_fetch_and(&d->pending[word], ~(v32 & valid), __ATOMIC_SEQ_CST);
        else
            *value = d->pending[word] & valid;
        return 0;
    default:
        break;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 8 * VGIC_WORDS) {   /* two bits per INTID */
        unsigned idx = (unsigned)(off - GICD_ICFGR) / 4;    /* 16 INTIDs per register */
        int implemented = idx >= 2 && 16 * idx < limit;     /* 0 and 1: SGIs and PPIs, the GICR's */
        if (write && implemented)
            d->config[idx] = v32;
        else if (!write)
            *value = implemented ? d->config[idx] : 0;
        return 0;
    }
    if (write) {
        if (off == GICD_CTLR)
            d->ctlr = v32 & 0x13;          /* EnableGrp0, EnableGrp1, ARE */
        return 0;                          /* everything else: write-ignored */
    }
    switch (off) {
    case GICD_CTLR: *value = d->ctlr | CTLR_DS; break;
    /* ITLinesNumber: the board's, so the guest sees the INTIDs its board has; IDbits = 9
     * (10-bit INTIDs); no LPIs; A3V 0. */
    case GICD_TYPER: *value = ((limit + 31) / 32 - 1) | 9u << 19; break;
    case GICD_IIDR: *value = IIDR_ARM; break;
    case GICD_PIDR2: *value = PIDR2_GICV3; break;
    default: *value = 0; break;            /* ISACTIVER, IGRPMODR, NSACR, ...: RAZ */
    }
    return 0;
}

int vgic_redist_access(struct vm *vm, uint64_t off, unsigned size, int write, uint64_t *value)
{
    unsigned index = (unsigned)(off / VGIC_REDIST_FRAME);
    if (index >= vm->nvcpus)
        return -1;
    struct vcpu *v = &vm->vcpus[index];
    struct vgic_cpu *c = &v->vgic;
    off %= VGIC_REDIST_FRAME;
    uint32_t v32 = (uint32_t)*value;

    if (off >= SGI_BASE + 0x400 && off < SGI_BASE + 0x420) {
        unsigned irq = (unsigned)(off - SGI_BASE - 0x400);
        if (irq + size > 32)
            return -1;
        bytes_access(c->priority, irq, size, write, value);
        return 0;
    }
    if (off == GICR_TYPER && !write && (size == 8 || size == 4)) {
        /* Affinity = the vCPU's MPIDR (VMPIDR_EL2: Aff0 = index), Processor_Number. */
        uint64_t typer = (uint64_t)index << 32 | (uint64_t)index << 8;
        if (index == vm->nvcpus - 1)
            typer |= TYPER_LAST;
        *value = size == 8 ? typer : (uint32_t)typer;
        return 0;
    }
    if (off == GICR_TYPER + 4 && !write && size == 4) {
        *value = index;
        return 0;
    }
    if (size != 4 || (off & 3))
        return -1;
    switch (off) {
    case GICR_WAKER:
        if (write)
            c->waker = (v32 & WAKER_SLEEP) ? (WAKER_SLEEP | WAKER_ASLEEP) : 0;
        else
            *value = c->waker;
        return 0;
    case SGI_BASE + 0x080:                 /* IGROUPR0 */
        if (write)
            c->group0 = v32;
        else
            *value = c->group0;
        return 0;
    case SGI_BASE + 0x100:                 /* ISENABLER0 */
    case SGI_BASE + 0x180:                 /* ICENABLER0 */
        if (write) {
            int set = off == SGI_BASE + 0x100;
            set_bits(&c->enabled0, v32 & 0xFFFF0000u, set);   /* SGIs stay enabled */
            if ((v32 & (1u << GIC_VTIMER_PPI)) && this_cpu()->vcpu == v)
                gic_enable_ppi(GIC_VTIMER_PPI, set);
        } else {
            *value = c->enabled0;
        }
        return 0;
    case SGI_BASE + 0x200:                 /* ISPENDR0: a guest may raise its own SGIs */
        if (write)
            __atomic_fetch_or(&c->pending_sgis, v32 & 0xFFFF, __ATOMIC_SEQ_CST);
        else
            *value = c->pending_sgis;
        return 0;
    case SGI_BASE + 0xC00:                 /* ICFGR0: SGIs are edge, read-only */
        if (!write)
            *value = 0xAAAAAAAAu;
        return 0;
    case SGI_BASE + 0xC04:                 /* ICFGR1 */
        if (write)
            c->config1 = v32;
        else
            *value = c->config1;
        return 0;
    case GICR_PIDR2:
        if (!write)
            *value = PIDR2_GICV3;
        return 0;
    case GICR_IIDR:
        if (!write)
            *value = IIDR_ARM;
        return 0;
    default:
        if (!write)
            *value = 0;                    /* CTLR (no LPIs, RWP 0), PENDR, ACTIVER, ... */
        return 0;
    }
}

/* A list register holding vINTID intid, or -1. */
static int find_lr(uint32_t intid)
{
    uint64_t empty = gic_elrsr();
    for (unsigned n = 0; n < gic_lr_count(); n++)
        if (!(empty & (1UL << n)) && (uint32_t)gic_read_lr(n) == intid)
            return (int)n;
    return -1;
}

/* The list register used, or -1 when all are taken. */
static int inject(uint32_t intid, uint8_t priority, uint64_t extra)
{
    uint64_t empty = gic_elrsr();
    for (unsigned n = 0; n < gic_lr_count(); n++) {
        if (!(empty & (1UL << n)))
            continue;
        gic_write_lr(n, LR_STATE_PENDING | LR_GROUP1 | LR_PRIORITY(priority) | extra | intid);
        return (int)n;
    }
    /* No room: ask for a maintenance interrupt when the list registers run empty. */
    write_sysreg(S3_4_C12_C11_0, read_sysreg(S3_4_C12_C11_0) | ICH_HCR_UIE);
    return -1;
}

/* The vCPU that a level SPI goes to: IROUTER Aff0 (IRM, "any", means vCPU 0). */
static unsigned spi_target(struct vm *vm, uint32_t intid)
{
    uint32_t route = vm->vgic.route[intid];
    if (route & (1u << 31))
        return 0;
    unsigned index = (unsigned)(route & 0xFF);
    return index < vm->nvcpus ? index : 0;
}

/* Edge SPIs made pending (GICD_ISPENDR, or a doorbell) and enabled, routed to this vCPU:
 * into list registers. They go in with EOI maintenance (ICH_LR<n>_EL2.EOI, IHI 0069),
 * so that one raised again while its list register is still in use is injected after the
 * guest's EOI instead of being lost. Physical SPIs of the VM and its console have their
 * own paths and are left out. */
static void flush_pending_spis(struct vcpu *v)
{
    struct vgic_dist *d = &v->vm->vgic;
    for (unsigned w = 1; w < VGIC_WORDS; w++) {
        uint32_t bits = d->pending[w] & d->enabled[w] & ~v->vm->hw_irqs[w];
        while (bits) {
            uint32_t bit = (uint32_t)__builtin_ctz(bits), intid = 32 * w + bit;
            bits &= bits - 1;
            if (intid == v->vm->console_irq || spi_target(v->vm, intid) != v->index)
                continue;
            if (find_lr(intid) >= 0)
                continue;                  /* still in use: its EOI brings us back here */
            if (inject(intid, d->priority[intid], LR_EOI) < 0)
                return;                    /* full: inject() asked for a maintenance IRQ */
            __atomic_fetch_and(&d->pending[w], ~(1u << bit), __ATOMIC_SEQ_CST);
        }
    }
}

void vgic_raise_spi(struct vm *vm, uint32_t intid)
{
    if (intid < 32 || intid >= VGIC_MAX_INTIDS)
        return;
    __atomic_fetch_or(&vm->vgic.pending[intid / 32], 1u << (intid % 32), __ATOMIC_SEQ_CST);
    struct vcpu *t = &vm->vcpus[spi_target(vm, intid)];
    if (t->state != VCPU_ON)
        return;                            /* flushed when it next enters its guest */
    /* One SGI per kick is enough: a kick already under way flushes after taking it. */
    uint32_t before = __atomic_fetch_or(&t->kick, KICK_VIRQ, __ATOMIC_SEQ_CST);
    if (!(before & KICK_VIRQ))
        gic_send_sgi(percpus[t->pcpu].mpidr, GIC_KICK_SGI);
}

void vgic_flush(struct vcpu *v)
{
    struct vm *vm = v->vm;
    uint32_t sgis = __atomic_exchange_n(&v->vgic.pending_sgis, 0, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < 16; i++) {
        if (!(sgis & (1u << i)))
            continue;
        if (find_lr(i) >= 0 || inject(i, v->vgic.priority[i], 0) < 0)
            __atomic_fetch_or(&v->vgic.pending_sgis, 1u << i, __ATOMIC_SEQ_CST);
    }
    flush_pending_spis(v);
    uint32_t irq = vm->console_irq;
    if (irq >= 32 && irq < VGIC_MAX_INTIDS && spi_target(vm, irq) == v->index) {
        spin_lock(&vm->console_lock);
        int level = vpl011_irq_level(&vm->console);
        spin_unlock(&vm->console_lock);
        int enabled = (vm->vgic.enabled[irq / 32] >> (irq % 32)) & 1;
        int lr = v->vgic.console_lr;
        if (level && enabled && lr < 0) {
            lr = inject(irq, vm->vgic.priority[irq], LR_EOI);   /* EOI: re-sample at the end */
            v->vgic.console_lr = (int8_t)lr;
        } else if (!level && lr >= 0 &&
                   (gic_read_lr((unsigned)lr) & LR_STATE_MASK) == LR_STATE_PENDING) {
            gic_write_lr((unsigned)lr, 0);                 /* the line dropped before the guest took it */
            v->vgic.console_lr = -1;
        }
    }
}

void vgic_send_sgi(struct vcpu *from, uint64_t sgi1r)
{
    struct vm *vm = from->vm;
    uint32_t intid = (uint32_t)(sgi1r >> 24) & 0xF;
    int broadcast = (sgi1r >> 40) & 1;
    uint64_t aff1 = (sgi1r >> 16) & 0xFF, aff2 = (sgi1r >> 32) & 0xFF, aff3 = (sgi1r >> 48) & 0xFF;
    uint32_t rs = (uint32_t)(sgi1r >> 44) & 0xF;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *t = &vm->vcpus[i];
        int hit = broadcast ? t != from
                            : (aff1 | aff2 | aff3) == 0 && (i >> 4) == rs && (sgi1r >> (i & 15)) & 1;
        if (!hit)
            continue;
        __atomic_fetch_or(&t->vgic.pending_sgis, 1u << intid, __ATOMIC_SEQ_CST);
        if (t == from)
            vgic_flush(t);
        else if (t->state == VCPU_ON) {
            __atomic_fetch_or(&t->kick, KICK_VIRQ, __ATOMIC_SEQ_CST);
            gic_send_sgi(percpus[t->pcpu].mpidr, GIC_KICK_SGI);
        }
    }
}

void vgic_physical_irq(struct vcpu *v, uint32_t intid)
{
    if (intid == GIC_VTIMER_PPI) {
        gic_eoi(intid);                    /* drop priority; the guest's EOI deactivates */
        if ((v->vgic.enabled0 >> intid) & 1) {
            if (inject(intid, v->vgic.priority[intid], LR_HW | LR_PINTID(intid)) >= 0)
                return;
        }
        gic_deactivate(intid);
        gic_enable_ppi(intid, 0);          /* masked until the guest enables it */
        return;
    }
    if (vm_owns_irq(v->vm, intid)) {
        gic_eoi(intid);                    /* the guest's EOI deactivates it (HW bit) */
        struct vgic_dist *d = &v->vm->vgic;
        if ((d->enabled[intid / 32] >> (intid % 32)) & 1 &&
            inject(intid, d->priority[intid], LR_HW | LR_PINTID(intid)) >= 0)
            return;
        gic_deactivate(intid);             /* not enabled inside the VM (yet): mask it */
        gic_spi_route(intid, percpus[v->pcpu].mpidr, 0);
        return;
    }
    gic_eoi(intid);
    gic_deactivate(intid);
}

void vgic_maintenance(struct vcpu *v)
{
    uint64_t eisr = ICH_EISR();
    for (unsigned n = 0; n < gic_lr_count(); n++)
        if (eisr & (1UL << n)) {
            gic_write_lr(n, 0);            /* frees the LR and clears its EOI status */
            if ((int)n == v->vgic.console_lr)
                v->vgic.console_lr = -1;
        }
    write_sysreg(S3_4_C12_C11_0, read_sysreg(S3_4_C12_C11_0) & ~ICH_HCR_UIE);
    vgic_flush(v);
}

void vgic_clear_lrs(struct vcpu *v)
{
    for (unsigned n = 0; n < gic_lr_count(); n++)
        gic_write_lr(n, 0);
    if (v)
        v->vgic.console_lr = -1;
}
