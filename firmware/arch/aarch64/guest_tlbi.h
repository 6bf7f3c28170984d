/* Guest TLB maintenance, done on this core only. A VM with one vCPU runs on exactly one
 * physical core, so its VMID's TLB entries live nowhere else; yet Linux issues the Inner
 * Shareable (broadcast) forms of TLBI even on one CPU. Broadcast TLBIs are costly -- on
 * silicon they wait for every core's TLB, under QEMU's multi-threaded TCG they stop every
 * vCPU thread for each one (Linux's boot-time ftrace patching issues ~10^5 of them) -- so
 * for such VMs HCR_EL2.TTLB traps them and the stub issues the local form instead. */
#ifndef HVMON_GUEST_TLBI_H
#define HVMON_GUEST_TLBI_H

#include <stdint.h>

#define HCR_TTLB (1UL << 25)   /* ARM ARM D17.2.48 HCR_EL2.TTLB: trap EL1 TLB maintenance */

/* esr: ESR_EL2 of an EC 0x18 trap; value: the guest's Xt. Returns 0 when it was a TLBI
 * (now done locally), -1 when the trapped instruction is something else. */
int guest_tlbi_local(uint64_t esr, uint64_t value);
/* This core's TLB entries for the current VMID's page at ipa, stage 2 and the combined
 * stage 1+2 ones (after a stage-2 permission change made there). */
void guest_tlbi_ipa_local(uint64_t ipa);

#endif
