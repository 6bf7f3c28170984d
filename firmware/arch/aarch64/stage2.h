/* Stage-2 translation for one VM: 4 KiB granule, 40-bit IPA, walk starting at level 1
 * with two concatenated level-1 tables (ARM ARM D8.2, "Translation table walk"; VTCR_EL2
 * in D17.2). Both boards' cores implement a 40-bit physical address space. */
#ifndef HVMON_STAGE2_H
#define HVMON_STAGE2_H

#include <stdint.h>

#define S2_IPA_BITS 40
#define S2_POOL_PAGES 96           /* table pages shared by all VMs */

enum s2_kind { S2_NORMAL, S2_DEVICE };

struct stage2 {
    uint64_t *root;                /* 8 KiB: two level-1 tables */
    uint16_t vmid;
};

/* VTCR_EL2: T0SZ 24 (40-bit IPA), SL0 1 (start at level 1), inner/outer write-back
 * cacheable, inner shareable, TG0 4 KiB, PS 40 bits, bit 31 RES1. */
#define VTCR_EL2_VALUE 0x80023558UL

int stage2_init(struct stage2 *s2, uint16_t vmid);
/* Map [ipa, ipa+size) to [pa, pa+size): 2 MiB blocks where both are aligned, 4 KiB pages
 * elsewhere. Returns 0, or -1 when the table pool is exhausted or the range is invalid. */
int stage2_map(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size, enum s2_kind kind);
/* Give every table page of this VM back to the pool. */
void stage2_release(struct stage2 *s2);
uint64_t stage2_vttbr(const struct stage2 *s2);
/* Invalidate this VMID's stage-1+2 TLB entries on all cores (after unmapping). */
void stage2_flush_tlb(const struct stage2 *s2);

#endif
