#include "guest_state.h"

#include <stdint.h>

#include <sysreg.h>   /* <>: host tests may shadow it */

/* ID_AA64DFR0_EL1 (ARM ARM D17.2.59): PMUVer [11:8], BRPs [15:12], WRPs [23:20]. */
#define DFR0_PMUVER(v) (((v) >> 8) & 0xF)
#define DFR0_BRPS(v)   ((((v) >> 12) & 0xF) + 1)
#define DFR0_WRPS(v)   ((((v) >> 20) & 0xF) + 1)

/* PMCR_EL0 (D17.5.7): P [1] and C [2] reset the counters, E [0] = 0 stops them all;
 * N [15:11] counts the event counters. */
#define PMCR_RESET_COUNTERS ((1UL << 2) | (1UL << 1))
#define PMCR_N(v) (((v) >> 11) & 0x1F)
#define PMU_ALL 0xFFFFFFFFUL          /* the event counters and the cycle counter (bit 31) */

static void fpsimd_reset(void)
{
    __asm__ volatile(
        ".arch_extension fp\n.arch_extension simd\n"
        "movi v0.16b, #0\n movi v1.16b, #0\n movi v2.16b, #0\n movi v3.16b, #0\n"
        "movi v4.16b, #0\n movi v5.16b, #0\n movi v6.16b, #0\n movi v7.16b, #0\n"
        "movi v8.16b, #0\n movi v9.16b, #0\n movi v10.16b, #0\n movi v11.16b, #0\n"
        "movi v12.16b, #0\n movi v13.16b, #0\n movi v14.16b, #0\n movi v15.16b, #0\n"
        "movi v16.16b, #0\n movi v17.16b, #0\n movi v18.16b, #0\n movi v19.16b, #0\n"
        "movi v20.16b, #0\n movi v21.16b, #0\n movi v22.16b, #0\n movi v23.16b, #0\n"
        "movi v24.16b, #0\n movi v25.16b, #0\n movi v26.16b, #0\n movi v27.16b, #0\n"
        "movi v28.16b, #0\n movi v29.16b, #0\n movi v30.16b, #0\n movi v31.16b, #0\n"
        "msr fpcr, xzr\n msr fpsr, xzr\n" ::: "memory");
}

static void pmu_reset(uint64_t dfr0)
{
    uint64_t ver = DFR0_PMUVER(dfr0);
    if (ver == 0 || ver == 0xF)       /* no PMU, or an IMPLEMENTATION DEFINED one */
        return;
    write_sysreg(pmcr_el0, PMCR_RESET_COUNTERS);
    write_sysreg(pmcntenclr_el0, PMU_ALL);
    write_sysreg(pmintenclr_el1, PMU_ALL);
    write_sysreg(pmovsclr_el0, PMU_ALL);
    write_sysreg(pmuserenr_el0, 0);
    write_sysreg(pmccfiltr_el0, 0);
    for (uint64_t n = 0; n < PMCR_N(read_sysreg(pmcr_el0)); n++) {
        write_sysreg(pmselr_el0, n);
        isb();
        write_sysreg(pmxevtyper_el0, 0);
    }
    write_sysreg(pmselr_el0, 0);
}

/* DBGB{C,V}R<n>_EL1 and DBGW{C,V}R<n>_EL1 name n in the encoding: one case each. */
#define CLEAR_PAIR(kind, n) \
    case n: write_sysreg(dbg##kind##cr##n##_el1, 0); write_sysreg(dbg##kind##vr##n##_el1, 0); break;
#define CLEAR_ALL(kind, n) \
    switch (n) { CLEAR_PAIR(kind, 0) CLEAR_PAIR(kind, 1) CLEAR_PAIR(kind, 2) CLEAR_PAIR(kind, 3) \
                 CLEAR_PAIR(kind, 4) CLEAR_PAIR(kind, 5) CLEAR_PAIR(kind, 6) CLEAR_PAIR(kind, 7) \
                 CLEAR_PAIR(kind, 8) CLEAR_PAIR(kind, 9) CLEAR_PAIR(kind, 10) CLEAR_PAIR(kind, 11) \
                 CLEAR_PAIR(kind, 12) CLEAR_PAIR(kind, 13) CLEAR_PAIR(kind, 14) CLEAR_PAIR(kind, 15) }

static void debug_reset(uint64_t dfr0)
{
    write_sysreg(mdscr_el1, 0);
    for (unsigned n = 0; n < DFR0_BRPS(dfr0); n++)
        CLEAR_ALL(b, n)
    for (unsigned n = 0; n < DFR0_WRPS(dfr0); n++)
        CLEAR_ALL(w, n)
}

/* The virtual CPU interface's state (IHI 0069 12.4): ICH_VMCR_EL2 holds the guest's view
 * of ICC_PMR/BPR0/BPR1/IGRPEN0/IGRPEN1/CTLR.EOImode; the active-priority registers
 * ICH_AP{0,1}R<n>_EL2 exist for n < 2^(PREbits - 5) (ICH_VTR_EL2.PREbits [28:26] + 1). */
static void vcpu_interface_reset(void)
{
    write_sysreg(S3_4_C12_C11_7, 0);                       /* ICH_VMCR_EL2 */
    unsigned prebits = (unsigned)((read_sysreg(S3_4_C12_C11_1) >> 26) & 7) + 1;
    write_sysreg(S3_4_C12_C8_0, 0);                        /* ICH_AP0R0_EL2 */
    write_sysreg(S3_4_C12_C9_0, 0);                        /* ICH_AP1R0_EL2 */
    if (prebits >= 6) {
        write_sysreg(S3_4_C12_C8_1, 0);
        write_sysreg(S3_4_C12_C9_1, 0);
    }
    if (prebits == 7) {
        write_sysreg(S3_4_C12_C8_2, 0);
        write_sysreg(S3_4_C12_C9_2, 0);
        write_sysreg(S3_4_C12_C8_3, 0);
        write_sysreg(S3_4_C12_C9_3, 0);
    }
}

void guest_state_reset(void)
{
    uint64_t dfr0 = read_sysreg(id_aa64dfr0_el1);
    fpsimd_reset();
    write_sysreg(tpidr_el0, 0);
    write_sysreg(tpidrro_el0, 0);
    write_sysreg(tpidr_el1, 0);
    write_sysreg(contextidr_el1, 0);
    /* EL1 translation and exception state: a guest starts with its MMU off, but what the
     * last one left here is readable all the same. */
    write_sysreg(vbar_el1, 0);
    write_sysreg(ttbr0_el1, 0);
    write_sysreg(ttbr1_el1, 0);
    write_sysreg(tcr_el1, 0);
    write_sysreg(mair_el1, 0);
    write_sysreg(amair_el1, 0);
    write_sysreg(esr_el1, 0);
    write_sysreg(far_el1, 0);
    write_sysreg(par_el1, 0);
    write_sysreg(afsr0_el1, 0);
    write_sysreg(afsr1_el1, 0);
    write_sysreg(elr_el1, 0);
    write_sysreg(spsr_el1, 0);
    write_sysreg(sp_el0, 0);
    write_sysreg(sp_el1, 0);
    write_sysreg(csselr_el1, 0);
    /* The EL1 timers (at EL2 with HCR_EL2.E2H 0 these names are the guest's: ARM ARM
     * D11.2.4): off, compare values cleared; EL0 access off (CNTKCTL_EL1). */
    write_sysreg(cntv_ctl_el0, 0);
    write_sysreg(cntv_cval_el0, 0);
    write_sysreg(cntp_ctl_el0, 0);
    write_sysreg(cntp_cval_el0, 0);
    write_sysreg(cntkctl_el1, 0);
    pmu_reset(dfr0);
    debug_reset(dfr0);
    vcpu_interface_reset();
    isb();
}
