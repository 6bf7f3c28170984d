/* A vCPU's whole architectural state as its core holds it while the vCPU is out of its
 * guest: what a snapshot keeps and a restore puts back. The stub pins a vCPU to a core
 * and never context-switches it, so this state lives only in that core's registers; only
 * that core can read or write it (vmm/vcpu.c does, at a trap, for the boot core). */
#ifndef HVMON_GUEST_CONTEXT_H
#define HVMON_GUEST_CONTEXT_H

#include <stdint.h>

#define GUEST_MAX_LRS 16     /* ICH_VTR_EL2.ListRegs is 4 bits (IHI 0069, 12.5.22) */
#define GUEST_MAX_PMU 31     /* PMCR_EL0.N is at most 31 event counters (ARM ARM D17.5.7) */
#define GUEST_MAX_DBG 16     /* ID_AA64DFR0_EL1.BRPs/WRPs: at most 16 each */

struct guest_context {
    uint64_t x[31];
    uint64_t pc, pstate;                      /* ELR_EL2, SPSR_EL2: where the guest goes on */
    uint64_t sp_el0, sp_el1, elr_el1, spsr_el1;
    uint64_t sctlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
    uint64_t tpidr_el0, tpidrro_el0, tpidr_el1;
    uint64_t esr, far, par, afsr0, afsr1, csselr, cntkctl, mdscr;
    uint64_t cntv_ctl, cntv_cval, cntp_ctl, cntp_cval;
    uint64_t fpcr, fpsr;
    uint64_t q[32][2];                        /* V0..V31, low half first */
    /* The virtual CPU interface: ICH_HCR_EL2, ICH_VMCR_EL2, the active priorities and
     * the list registers (IHI 0069, 12.5). */
    uint64_t ich_hcr, ich_vmcr, ich_ap0r[4], ich_ap1r[4], lr[GUEST_MAX_LRS];
    uint32_t nlrs, npmu, nbrps, nwrps;        /* how many of the arrays the core has */
    uint64_t pmcr, pmcnten, pminten, pmovs, pmuserenr, pmccfiltr, pmccntr, pmselr;
    uint64_t pmevcntr[GUEST_MAX_PMU], pmevtyper[GUEST_MAX_PMU];
    uint64_t dbgbcr[GUEST_MAX_DBG], dbgbvr[GUEST_MAX_DBG], dbgwcr[GUEST_MAX_DBG], dbgwvr[GUEST_MAX_DBG];
};

/* On the vCPU's core, at a trap: its guest's registers (x: the x0..x30 the exit saved)
 * into c. */
void guest_context_save(struct guest_context *c, const uint64_t *x);
/* On a core set up for the same VM (vcpu.c's setup_el2 has run): c into the registers,
 * x0..x30 into x for guest_resume. List registers holding a hardware interrupt (HW bit)
 * are neither kept nor loaded: their physical interrupt's active state belongs to the
 * moment they were saved, and this core's is deactivated instead; a level source (the
 * timer, a device) raises it again. Returns with the guest's virtual timer PPI enabled
 * or masked as `vtimer_enabled` says. */
void guest_context_load(const struct guest_context *c, uint64_t *x, int vtimer_enabled);

#endif
