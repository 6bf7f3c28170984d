#include "guest_tlbi.h"

/* EC 0x18 ISS fields (ARM ARM D17.2.37): Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10]
 * Rt[9:5] CRm[4:1] Direction[0]. TLBI is SYS with Op0 1, Op1 0, CRn 8 at EL1
 * (ARM ARM C5.5, "TLB maintenance instructions"). */
#define ISS_OP0(e) (((e) >> 20) & 3)
#define ISS_OP2(e) (((e) >> 17) & 7)
#define ISS_OP1(e) (((e) >> 14) & 7)
#define ISS_CRN(e) (((e) >> 10) & 15)
#define ISS_CRM(e) (((e) >> 1) & 15)

/* CRm 7 is the local form, 3 the Inner Shareable and 1 the Outer Shareable one (v8.4);
 * Op2 picks the operation alike in all three. */
#define CRM_OS    1
#define CRM_IS    3
#define CRM_LOCAL 7

#define TLBI_LOCAL(op, v) __asm__ volatile("tlbi " op ", %0" : : "r"(v) : "memory")

int guest_tlbi_local(uint64_t esr, uint64_t value)
{
    if (ISS_OP0(esr) != 1 || ISS_OP1(esr) != 0 || ISS_CRN(esr) != 8)
        return -1;
    unsigned crm = ISS_CRM(esr);
    if (crm != CRM_OS && crm != CRM_IS && crm != CRM_LOCAL) {
        /* Range forms (v8.4 TLBI RVAE1 and the like): invalidating more is always safe. */
        __asm__ volatile("tlbi vmalle1" ::: "memory");
    } else {
        /* Executed at EL2 with E2H 0, these act on the EL1&0 regime of the VMID in
         * VTTBR_EL2, which is still the guest's. */
        switch (ISS_OP2(esr)) {
        case 0: __asm__ volatile("tlbi vmalle1" ::: "memory"); break;
        case 1: TLBI_LOCAL("vae1", value); break;
        case 2: TLBI_LOCAL("aside1", value); break;
        case 3: TLBI_LOCAL("vaae1", value); break;
        case 5: TLBI_LOCAL("vale1", value); break;
        case 7: TLBI_LOCAL("vaale1", value); break;
        default: __asm__ volatile("tlbi vmalle1" ::: "memory"); break;
        }
    }
    __asm__ volatile("dsb nsh\n\tisb" ::: "memory");
    return 0;
}

/* Arm ARM D8.13 (TLB maintenance for stage 2): TLBI IPAS2E1 takes IPA[51:12] in Xt[39:0];
 * it leaves combined stage 1+2 entries built on the old descriptor, which only a TLBI by
 * VMID (VMALLE1) removes. Both on this core: an upgrade from read-only to read-write, so
 * another core holding the old entry takes one more fault at most. */
void guest_tlbi_ipa_local(uint64_t ipa)
{
    __asm__ volatile("dsb ishst\n\ttlbi ipas2e1, %0\n\tdsb nsh\n\ttlbi vmalle1\n\tdsb nsh\n\tisb"
                     :: "r"(ipa >> 12) : "memory");
}
