#include "snapshot_check.h"

#include "gicv3.h"
#include "print.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

/* SPSR_EL2.M[4:0] (Arm ARM C5.2.19): M[4] 0 is AArch64; M[3:0] 0b0000 EL0t, 0b0100 EL1t,
 * 0b0101 EL1h. Anything else would ERET into EL2 (0b1000, 0b1001) or an execution state
 * the guest never had: the one value here that could hand the stub's privilege away. */
#define SPSR_M_MASK 0x1Full
#define SPSR_EL0T 0x0ull
#define SPSR_EL1T 0x4ull
#define SPSR_EL1H 0x5ull
#define SCTLR_M 1ull                     /* SCTLR_EL1.M, bit 0: stage 1 on */
/* ICH_HCR_EL2 (IHI 0069, 12.5.8): En (0), UIE (1), LRENPIE (2), NPIE (3) and EOIcount
 * (31:27), which the stub sets or the hardware counts; the trap bits (TC, TALL0, TALL1,
 * TSEI, TDIR) and the group enable interrupts the stub never sets, and no guest can. */
#define ICH_HCR_ALLOWED 0xF800000Full
/* ICH_LR<n>_EL2 (IHI 0069, 12.5.20): vINTID 31:0, State 63:62. */
#define LR_VINTID(lr) ((uint64_t)(lr) & 0xFFFFFFFFu)
#define LR_STATE(lr) ((lr) >> 62)
#define GICD_CTLR_GUEST 0x13u             /* EnableGrp0, EnableGrp1, ARE: what vgic.c keeps */
#define RESET_PRIORITY 0xA0              /* vgic_init's, kept by INTIDs beyond the board's (RAZ/WI) */
#define ROUTE_IRM (1u << 31)
#define ROUTE_BITS 0x80FFFFFFu            /* IRM, Aff2.Aff1.Aff0: what vgic.c keeps */

static int bits_beyond(const uint32_t *words, unsigned nwords, unsigned per_intid, unsigned limit,
                       unsigned *intid)
{
    for (unsigned i = limit * per_intid; i < nwords * 32; i++)
        if ((words[i / 32] >> (i % 32)) & 1) {
            *intid = i / per_intid;
            return 1;
        }
    return 0;
}

static int dist_refused(const struct vgic_dist *d, unsigned nvcpus, char *why, unsigned n)
{
    unsigned limit = gic_intid_count(), intid = 0;
    if (d->ctlr & ~GICD_CTLR_GUEST) {
        snprintf_(why, n, "vGIC distributor: GICD_CTLR 0x%x sets bits no guest can", d->ctlr);
        return 1;
    }
    const char *what = 0;
    if (bits_beyond(d->group, VGIC_WORDS, 1, limit, &intid))
        what = "group";
    else if (bits_beyond(d->enabled, VGIC_WORDS, 1, limit, &intid))
        what = "enabled";
    else if (bits_beyond(d->pending, VGIC_WORDS, 1, limit, &intid))
        what = "pending";
    else if (bits_beyond(d->config, 2 * VGIC_WORDS, 2, limit, &intid))
        what = "config";
    for (unsigned i = limit; !what && i < VGIC_MAX_INTIDS; i++)
        if (d->priority[i] != RESET_PRIORITY || d->route[i]) {
            what = d->priority[i] != RESET_PRIORITY ? "priority" : "route";
            intid = i;
        }
    if (what) {
        snprintf_(why, n, "vGIC distributor: %s state for INTID %u, beyond the board's %u INTIDs",
                  what, intid, limit);
        return 1;
    }
    for (unsigned i = 32; i < limit; i++) {
        uint32_t route = d->route[i];
        if ((route & ~ROUTE_BITS) || (!(route & ROUTE_IRM) && (route & 0xFFFFFF) >= nvcpus)) {
            snprintf_(why, n, "vGIC distributor: INTID %u routed to 0x%x, not a vCPU of the VM", i, route);
            return 1;
        }
    }
    return 0;
}

static int vcpu_refused(const struct snapshot_vcpu *s, const struct vm *vm, unsigned k,
                        char *why, unsigned n)
{
    const struct guest_context *c = &s->regs;
    uint64_t mode = c->pstate & SPSR_M_MASK;
    if (mode != SPSR_EL0T && mode != SPSR_EL1T && mode != SPSR_EL1H) {
        snprintf_(why, n, "vCPU %u: SPSR 0x%lx, mode M[4:0] 0x%lx is not AArch64 EL0t, EL1t or EL1h",
                  k, c->pstate, mode);
        return 1;
    }
    if (c->pc & 3) {
        snprintf_(why, n, "vCPU %u: PC 0x%lx is not 4-byte aligned", k, c->pc);
        return 1;
    }
    /* With its MMU off a guest's PC is an IPA; with it on, a virtual address any guest
     * may branch to (its own stage 1 decides). */
    if (!(c->sctlr & SCTLR_M) && !vm_ipa_is_ram(vm, c->pc)) {
        snprintf_(why, n, "vCPU %u: PC 0x%lx (MMU off, so an IPA) is outside the VM's RAM", k, c->pc);
        return 1;
    }
    if (c->vbar & 0x7FF) {
        snprintf_(why, n, "vCPU %u: VBAR_EL1 0x%lx sets RES0 bits 10:0", k, c->vbar);
        return 1;
    }
    if (c->ich_hcr & ~ICH_HCR_ALLOWED) {
        snprintf_(why, n, "vCPU %u: ICH_HCR_EL2 0x%lx sets bits the stub never sets", k, c->ich_hcr);
        return 1;
    }
    if (c->nlrs != gic_lr_count() || c->npmu > GUEST_MAX_PMU || c->nbrps > GUEST_MAX_DBG ||
        c->nwrps > GUEST_MAX_DBG) {
        snprintf_(why, n, "vCPU %u: %u list registers, %u PMU counters, %u/%u break/watchpoints: "
                  "this board's cores have %u list registers", k, c->nlrs, c->npmu, c->nbrps,
                  c->nwrps, gic_lr_count());
        return 1;
    }
    unsigned limit = gic_intid_count();
    for (unsigned i = 0; i < c->nlrs; i++)
        if (LR_STATE(c->lr[i]) != 0 && LR_VINTID(c->lr[i]) >= limit) {
            snprintf_(why, n, "vCPU %u: list register %u holds INTID %lu, beyond the vGIC's %u",
                      k, i, (uint64_t)LR_VINTID(c->lr[i]), limit);
            return 1;
        }
    if (s->vgic.console_lr < -1 || s->vgic.console_lr >= (int)c->nlrs) {
        snprintf_(why, n, "vCPU %u: console list register %d of %u", k, s->vgic.console_lr, c->nlrs);
        return 1;
    }
    if (s->vgic.pending_sgis & ~0xFFFFu) {
        snprintf_(why, n, "vCPU %u: pending SGIs 0x%x: there are 16", k, s->vgic.pending_sgis);
        return 1;
    }
    return 0;
}

static int ram_refused(const struct snapshot_record *rec, const struct vm *vm, char *why, unsigned n)
{
    unsigned count = 0;
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        if (m->kind != REGION_RAM) {
            snprintf_(why, n, "VM %u has a passthrough or shared region at IPA 0x%lx: only a VM of "
                      "RAM regions takes a state record", vm->id, m->ipa);
            return 1;
        }
        if (count >= rec->nregions || rec->ram[count].ipa != m->ipa || rec->ram[count].size != m->size) {
            snprintf_(why, n, "state record: RAM region %u is not the VM's region at IPA 0x%lx, "
                      "size 0x%lx", count, m->ipa, m->size);
            return 1;
        }
        count++;
    }
    if (count != rec->nregions) {
        snprintf_(why, n, "state record: %u RAM regions, the VM has %u", rec->nregions, count);
        return 1;
    }
    return 0;
}

int snapshot_record_refused_for(const struct snapshot_record *rec, uint64_t len,
                                const struct vm *vm, char *why, unsigned n)
{
    uint64_t size = snapshot_record_size();
    if (len != size) {
        snprintf_(why, n, "state record: %lu bytes, this stub's are %lu", len, size);
        return 1;
    }
    if (rec->magic != SNAPSHOT_MAGIC || rec->format != SNAPSHOT_FORMAT || rec->record_size != size) {
        snprintf_(why, n, "state record: magic 0x%x format %u size %lu, this stub's are 0x%x %u %lu",
                  rec->magic, rec->format, rec->record_size, SNAPSHOT_MAGIC, SNAPSHOT_FORMAT, size);
        return 1;
    }
    uint32_t crc = snapshot_record_crc(rec);
    if (crc != rec->record_crc) {
        snprintf_(why, n, "state record: CRC-32 %08x, the record says %08x", crc, rec->record_crc);
        return 1;
    }
    if (rec->nvcpus != vm->nvcpus || rec->nregions > MAX_REGIONS) {
        snprintf_(why, n, "state record: %u vCPUs and %u RAM regions, the VM has %u vCPUs",
                  rec->nvcpus, rec->nregions, vm->nvcpus);
        return 1;
    }
    if (ram_refused(rec, vm, why, n))
        return 1;
    if (rec->console_ipa != vm->console_ipa || rec->console_irq != vm->console_irq ||
        rec->gicd_ipa != vm->gicd_ipa || rec->gicr_ipa != vm->gicr_ipa ||
        rec->privileged != vm->privileged) {
        snprintf_(why, n, "state record: console 0x%lx/%u, vGIC 0x%lx/0x%lx, privileged %u: the VM "
                  "was created with others", rec->console_ipa, rec->console_irq, rec->gicd_ipa,
                  rec->gicr_ipa, rec->privileged);
        return 1;
    }
    uint64_t hz = read_sysreg(cntfrq_el0);
    if (rec->cntfrq != hz) {
        snprintf_(why, n, "state record: the guest's counter ran at %lu Hz, this board's at %lu Hz",
                  rec->cntfrq, hz);
        return 1;
    }
    if (dist_refused(&rec->vgic, vm->nvcpus, why, n))
        return 1;
    if (rec->console.rx_head >= VPL011_FIFO || rec->console.rx_count > VPL011_FIFO) {
        snprintf_(why, n, "state record: console receive FIFO at %u holding %u, it has %u places",
                  rec->console.rx_head, rec->console.rx_count, VPL011_FIFO);
        return 1;
    }
    if (rec->console_in.head - rec->console_in.tail > BYTE_RING_SIZE) {
        snprintf_(why, n, "state record: console input ring holds %u bytes, it has room for %u",
                  rec->console_in.head - rec->console_in.tail, BYTE_RING_SIZE);
        return 1;
    }
    unsigned on = 0;
    for (unsigned k = 0; k < MAX_VCPUS; k++) {
        const struct snapshot_vcpu *s = &rec->vcpus[k];
        if (s->on > 1 || (k >= vm->nvcpus && s->on)) {
            snprintf_(why, n, "state record: vCPU %u's on flag is %u (the VM has %u vCPUs)", k, s->on,
                      vm->nvcpus);
            return 1;
        }
        if (s->on && vcpu_refused(s, vm, k, why, n))
            return 1;
        on += s->on;
    }
    if (on == 0) {
        snprintf_(why, n, "state record: no vCPU was on");
        return 1;
    }
    return 0;
}
