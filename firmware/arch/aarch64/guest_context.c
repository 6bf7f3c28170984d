#include "guest_context.h"

#include "gicv3.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

/* ID_AA64DFR0_EL1 (ARM ARM D17.2.59): PMUVer [11:8], BRPs [15:12], WRPs [23:20]. */
#define DFR0_PMUVER(v) (((v) >> 8) & 0xF)
#define DFR0_BRPS(v)   ((((v) >> 12) & 0xF) + 1)
#define DFR0_WRPS(v)   ((((v) >> 20) & 0xF) + 1)
#define PMCR_N(v)      (((v) >> 11) & 0x1F)     /* PMCR_EL0.N (D17.5.7) */
#define PMU_ALL        0xFFFFFFFFUL
/* ICH_VTR_EL2.PREbits [28:26] + 1: ICH_AP{0,1}R<n>_EL2 exist for n < 2^(PREbits - 5)
 * (IHI 0069, 12.5.1). */
/* ICH_VTR_EL2 S3_4_C12_C11_1, ICH_HCR_EL2 S3_4_C12_C11_0, ICH_VMCR_EL2 S3_4_C12_C11_7
 * (IHI 0069, 12.5), spelled out below: read_sysreg takes the name as it is written. */
#define LR_PINTID_OF(lr) ((uint32_t)((lr) >> 32) & 0x1FFF)   /* ICH_LR<n>_EL2.pINTID [44:32] */

static unsigned apr_count(void)
{
    unsigned prebits = (unsigned)((read_sysreg(S3_4_C12_C11_1) >> 26) & 7) + 1;
    return prebits == 7 ? 4 : prebits == 6 ? 2 : 1;
}

static int has_pmu(uint64_t dfr0)
{
    uint64_t ver = DFR0_PMUVER(dfr0);
    return ver != 0 && ver != 0xF;       /* none, or an IMPLEMENTATION DEFINED one */
}

/* FP/SIMD: Q0..Q31 as stored pairs of doublewords, then FPCR and FPSR. */
static void fpsimd_save(struct guest_context *c)
{
    __asm__ volatile(
        ".arch_extension fp\n.arch_extension simd\n"
        "stp q0, q1, [%0, #0]\n stp q2, q3, [%0, #32]\n stp q4, q5, [%0, #64]\n"
        "stp q6, q7, [%0, #96]\n stp q8, q9, [%0, #128]\n stp q10, q11, [%0, #160]\n"
        "stp q12, q13, [%0, #192]\n stp q14, q15, [%0, #224]\n stp q16, q17, [%0, #256]\n"
        "stp q18, q19, [%0, #288]\n stp q20, q21, [%0, #320]\n stp q22, q23, [%0, #352]\n"
        "stp q24, q25, [%0, #384]\n stp q26, q27, [%0, #416]\n stp q28, q29, [%0, #448]\n"
        "stp q30, q31, [%0, #480]\n"
        :: "r"(c->q) : "memory");
    c->fpcr = read_sysreg(fpcr);
    c->fpsr = read_sysreg(fpsr);
}

static void fpsimd_load(const struct guest_context *c)
{
    __asm__ volatile(
        ".arch_extension fp\n.arch_extension simd\n"
        "ldp q0, q1, [%0, #0]\n ldp q2, q3, [%0, #32]\n ldp q4, q5, [%0, #64]\n"
        "ldp q6, q7, [%0, #96]\n ldp q8, q9, [%0, #128]\n ldp q10, q11, [%0, #160]\n"
        "ldp q12, q13, [%0, #192]\n ldp q14, q15, [%0, #224]\n ldp q16, q17, [%0, #256]\n"
        "ldp q18, q19, [%0, #288]\n ldp q20, q21, [%0, #320]\n ldp q22, q23, [%0, #352]\n"
        "ldp q24, q25, [%0, #384]\n ldp q26, q27, [%0, #416]\n ldp q28, q29, [%0, #448]\n"
        "ldp q30, q31, [%0, #480]\n"
        :: "r"(c->q) : "memory");
    write_sysreg(fpcr, c->fpcr);
    write_sysreg(fpsr, c->fpsr);
}

/* ICH_AP0R<n>_EL2 is S3_4_C12_C8_<n>, ICH_AP1R<n>_EL2 S3_4_C12_C9_<n> (IHI 0069, 12.5). */
#define APR_CASE(n)                                                                   \
    case n:                                                                           \
        if (save) { c->ich_ap0r[n] = read_sysreg(S3_4_C12_C8_##n);                     \
                    c->ich_ap1r[n] = read_sysreg(S3_4_C12_C9_##n); }                   \
        else { write_sysreg(S3_4_C12_C8_##n, c->ich_ap0r[n]);                          \
               write_sysreg(S3_4_C12_C9_##n, c->ich_ap1r[n]); }                        \
        break;

static void apr_access(struct guest_context *c, unsigned n, int save)
{
    switch (n) { APR_CASE(0) APR_CASE(1) APR_CASE(2) APR_CASE(3) }
}

/* DBGB{C,V}R<n>_EL1 and DBGW{C,V}R<n>_EL1 name n in the encoding: one case each. */
#define DBG_CASE(kind, n)                                                             \
    case n:                                                                           \
        if (save) { c->dbg##kind##cr[n] = read_sysreg(dbg##kind##cr##n##_el1);         \
                    c->dbg##kind##vr[n] = read_sysreg(dbg##kind##vr##n##_el1); }       \
        else { write_sysreg(dbg##kind##cr##n##_el1, c->dbg##kind##cr[n]);              \
               write_sysreg(dbg##kind##vr##n##_el1, c->dbg##kind##vr[n]); }            \
        break;
#define DBG_SWITCH(kind, n)                                                           \
    switch (n) { DBG_CASE(kind, 0) DBG_CASE(kind, 1) DBG_CASE(kind, 2) DBG_CASE(kind, 3)   \
                 DBG_CASE(kind, 4) DBG_CASE(kind, 5) DBG_CASE(kind, 6) DBG_CASE(kind, 7)   \
                 DBG_CASE(kind, 8) DBG_CASE(kind, 9) DBG_CASE(kind, 10) DBG_CASE(kind, 11) \
                 DBG_CASE(kind, 12) DBG_CASE(kind, 13) DBG_CASE(kind, 14) DBG_CASE(kind, 15) }

static void dbg_access(struct guest_context *c, int save)
{
    for (unsigned n = 0; n < c->nbrps; n++)
        DBG_SWITCH(b, n)
    for (unsigned n = 0; n < c->nwrps; n++)
        DBG_SWITCH(w, n)
}

static void pmu_save(struct guest_context *c)
{
    c->pmselr = read_sysreg(pmselr_el0);
    c->pmcr = read_sysreg(pmcr_el0);
    c->pmcnten = read_sysreg(pmcntenset_el0);
    c->pminten = read_sysreg(pmintenset_el1);
    c->pmovs = read_sysreg(pmovsset_el0);
    c->pmuserenr = read_sysreg(pmuserenr_el0);
    c->pmccfiltr = read_sysreg(pmccfiltr_el0);
    c->pmccntr = read_sysreg(pmccntr_el0);
    for (unsigned n = 0; n < c->npmu; n++) {
        write_sysreg(pmselr_el0, n);
        isb();
        c->pmevcntr[n] = read_sysreg(pmxevcntr_el0);
        c->pmevtyper[n] = read_sysreg(pmxevtyper_el0);
    }
    write_sysreg(pmselr_el0, c->pmselr);
}

static void pmu_load(const struct guest_context *c)
{
    /* Counting off while the counters are written, so none moves under the writes. */
    write_sysreg(pmcntenclr_el0, PMU_ALL);
    for (unsigned n = 0; n < c->npmu; n++) {
        write_sysreg(pmselr_el0, n);
        isb();
        write_sysreg(pmxevtyper_el0, c->pmevtyper[n]);
        write_sysreg(pmxevcntr_el0, c->pmevcntr[n]);
    }
    write_sysreg(pmselr_el0, c->pmselr);
    write_sysreg(pmccfiltr_el0, c->pmccfiltr);
    write_sysreg(pmccntr_el0, c->pmccntr);
    write_sysreg(pmuserenr_el0, c->pmuserenr);
    write_sysreg(pmovsclr_el0, PMU_ALL);
    write_sysreg(pmovsset_el0, c->pmovs);
    write_sysreg(pmintenclr_el1, PMU_ALL);
    write_sysreg(pmintenset_el1, c->pminten);
    write_sysreg(pmcr_el0, c->pmcr & ~6UL);   /* P [1] and C [2] would reset the counters */
    write_sysreg(pmcntenset_el0, c->pmcnten);
}

void guest_context_save(struct guest_context *c, const uint64_t *x)
{
    uint64_t dfr0 = read_sysreg(id_aa64dfr0_el1);
    for (int i = 0; i < 31; i++)
        c->x[i] = x[i];
    c->pc = read_sysreg(elr_el2);
    c->pstate = read_sysreg(spsr_el2);
    c->sp_el0 = read_sysreg(sp_el0);
    c->sp_el1 = read_sysreg(sp_el1);
    c->elr_el1 = read_sysreg(elr_el1);
    c->spsr_el1 = read_sysreg(spsr_el1);
    c->sctlr = read_sysreg(sctlr_el1);
    c->cpacr = read_sysreg(cpacr_el1);
    c->ttbr0 = read_sysreg(ttbr0_el1);
    c->ttbr1 = read_sysreg(ttbr1_el1);
    c->tcr = read_sysreg(tcr_el1);
    c->mair = read_sysreg(mair_el1);
    c->amair = read_sysreg(amair_el1);
    c->vbar = read_sysreg(vbar_el1);
    c->contextidr = read_sysreg(contextidr_el1);
    c->tpidr_el0 = read_sysreg(tpidr_el0);
    c->tpidrro_el0 = read_sysreg(tpidrro_el0);
    c->tpidr_el1 = read_sysreg(tpidr_el1);
    c->esr = read_sysreg(esr_el1);
    c->far = read_sysreg(far_el1);
    c->par = read_sysreg(par_el1);
    c->afsr0 = read_sysreg(afsr0_el1);
    c->afsr1 = read_sysreg(afsr1_el1);
    c->csselr = read_sysreg(csselr_el1);
    c->cntkctl = read_sysreg(cntkctl_el1);
    c->mdscr = read_sysreg(mdscr_el1);
    /* With HCR_EL2.E2H 0 these names are the EL1 timers, the guest's (ARM ARM D11.2.4). */
    c->cntv_ctl = read_sysreg(cntv_ctl_el0);
    c->cntv_cval = read_sysreg(cntv_cval_el0);
    c->cntp_ctl = read_sysreg(cntp_ctl_el0);
    c->cntp_cval = read_sysreg(cntp_cval_el0);
    fpsimd_save(c);
    c->ich_hcr = read_sysreg(S3_4_C12_C11_0);
    c->ich_vmcr = read_sysreg(S3_4_C12_C11_7);
    for (unsigned n = 0; n < apr_count(); n++)
        apr_access(c, n, 1);
    c->nlrs = gic_lr_count();
    for (unsigned n = 0; n < c->nlrs; n++)
        c->lr[n] = gic_read_lr(n);
    c->npmu = 0;
    if (has_pmu(dfr0)) {
        c->npmu = (uint32_t)PMCR_N(read_sysreg(pmcr_el0));
        pmu_save(c);
    }
    c->nbrps = DFR0_BRPS(dfr0);
    c->nwrps = DFR0_WRPS(dfr0);
    dbg_access(c, 1);
}

void guest_context_load(const struct guest_context *c, uint64_t *x, int vtimer_enabled)
{
    uint64_t dfr0 = read_sysreg(id_aa64dfr0_el1);
    for (int i = 0; i < 31; i++)
        x[i] = c->x[i];
    write_sysreg(elr_el2, c->pc);
    write_sysreg(spsr_el2, c->pstate);
    write_sysreg(sp_el0, c->sp_el0);
    write_sysreg(sp_el1, c->sp_el1);
    write_sysreg(elr_el1, c->elr_el1);
    write_sysreg(spsr_el1, c->spsr_el1);
    write_sysreg(sctlr_el1, c->sctlr);
    write_sysreg(cpacr_el1, c->cpacr);
    write_sysreg(ttbr0_el1, c->ttbr0);
    write_sysreg(ttbr1_el1, c->ttbr1);
    write_sysreg(tcr_el1, c->tcr);
    write_sysreg(mair_el1, c->mair);
    write_sysreg(amair_el1, c->amair);
    write_sysreg(vbar_el1, c->vbar);
    write_sysreg(contextidr_el1, c->contextidr);
    write_sysreg(tpidr_el0, c->tpidr_el0);
    write_sysreg(tpidrro_el0, c->tpidrro_el0);
    write_sysreg(tpidr_el1, c->tpidr_el1);
    write_sysreg(esr_el1, c->esr);
    write_sysreg(far_el1, c->far);
    write_sysreg(par_el1, c->par);
    write_sysreg(afsr0_el1, c->afsr0);
    write_sysreg(afsr1_el1, c->afsr1);
    write_sysreg(csselr_el1, c->csselr);
    write_sysreg(cntkctl_el1, c->cntkctl);
    write_sysreg(mdscr_el1, c->mdscr);
    /* Compare value before control: the timer never fires against a stale compare. The
     * virtual one counts from CNTVOFF_EL2, which the caller has set already. */
    write_sysreg(cntv_ctl_el0, 0);
    write_sysreg(cntv_cval_el0, c->cntv_cval);
    write_sysreg(cntv_ctl_el0, c->cntv_ctl & 3);      /* ENABLE, IMASK; ISTATUS is read-only */
    write_sysreg(cntp_ctl_el0, 0);
    write_sysreg(cntp_cval_el0, c->cntp_cval);
    write_sysreg(cntp_ctl_el0, c->cntp_ctl & 3);
    fpsimd_load(c);
    /* A hardware interrupt in a list register now: its physical INTID is active on this
     * core until the guest's EOI, which will never come once the register is replaced. */
    unsigned nlrs = gic_lr_count();
    for (unsigned n = 0; n < nlrs; n++) {
        uint64_t lr = gic_read_lr(n);
        if ((lr & LR_HW) && (lr & LR_STATE_MASK))
            gic_deactivate(LR_PINTID_OF(lr));
    }
    /* The timer's PPI may also be left active with no list register naming it: a core
     * that left its guest while the guest handled a timer interrupt (PSCI SYSTEM_OFF
     * empties the list registers) keeps it so through CPU_OFF and CPU_ON, and the
     * guest's timer would never interrupt again. */
    gic_clear_active_ppi(GIC_VTIMER_PPI);
    write_sysreg(S3_4_C12_C11_7, c->ich_vmcr);
    for (unsigned n = 0; n < apr_count(); n++)
        apr_access((struct guest_context *)c, n, 0);
    for (unsigned n = 0; n < nlrs; n++)
        gic_write_lr(n, n < c->nlrs && !(c->lr[n] & LR_HW) ? c->lr[n] : 0);
    write_sysreg(S3_4_C12_C11_0, c->ich_hcr);
    gic_enable_ppi(GIC_VTIMER_PPI, vtimer_enabled);
    if (has_pmu(dfr0) && c->npmu == PMCR_N(read_sysreg(pmcr_el0)))
        pmu_load(c);
    if (c->nbrps == DFR0_BRPS(dfr0) && c->nwrps == DFR0_WRPS(dfr0))
        dbg_access((struct guest_context *)c, 0);
    isb();
}
