/* Stage-2 translation for one VM: 4 KiB granule, 34-bit IPA (16 GiB), walk starting at
 * level 2 with 16 concatenated level-2 tables (ARM ARM D8.2, "Translation table walk",
 * concatenated translation tables; VTCR_EL2 in D17.2). Starting at level 2 keeps the
 * stage-2 part of every nested walk to two reads (one with 2 MiB blocks) instead of three
 * from level 1; 16 GiB of guest-physical space is ample for both boards' VM layouts. The
 * output (PA) size stays 40 bits: guest RAM may sit anywhere in both boards' RAM. */
#ifndef HVMON_STAGE2_H
#define HVMON_STAGE2_H

#include <stdint.h>

#define S2_IPA_BITS 34
#define S2_PA_BITS 40              /* VTCR_EL2.PS below; descriptors keep PA bits [39:12] */
#define S2_ROOT_PAGES 16           /* 2^(34 - 21) level-2 entries, 512 per page */

/* Whether RAM is mapped with 2 MiB blocks where it can be (the board profile's
 * [firmware] stage2_blocks; on by default). Blocks mean fewer table pages and TLB
 * misses on silicon. QEMU's TCG is the exception: it files a two-stage translation under
 * the larger of the two page sizes (target/arm/ptw.c, get_phys_addr_twostage) and turns
 * any TLBI by address inside a range holding such "large pages" into a flush of the
 * whole TLB (accel/tcg/cputlb.c, tlb_flush_page_locked), so every guest TLBI by VA
 * would cost a full refill through nested walks. */
#ifndef BOARD_STAGE2_BLOCKS
#define BOARD_STAGE2_BLOCKS 1
#endif
/* Table pages shared by all VMs: a root for each of the 4 VM slots, then level-3 pages.
 * 2 MiB blocks need those only for unaligned edges and device pages; 4 KiB pages need one
 * per 2 MiB of guest RAM (1 GiB of VMs: 512, and some for devices). */
#if BOARD_STAGE2_BLOCKS
#define S2_POOL_PAGES (4 * S2_ROOT_PAGES + 64)
#else
#define S2_POOL_PAGES (4 * S2_ROOT_PAGES + 528)
#endif

enum s2_kind { S2_NORMAL, S2_DEVICE };

struct stage2 {
    uint64_t *root;                /* 64 KiB: 16 level-2 tables */
    uint16_t vmid;
};

/* VTCR_EL2: T0SZ 30 (34-bit IPA), SL0 0 (start at level 2 with the 4 KiB granule), inner/
 * outer write-back cacheable, inner shareable, TG0 4 KiB, PS 40 bits, bit 31 RES1.
 * IRGN0 = ORGN0 = write-back and SH0 = inner are the attributes the stub's own EL2 map
 * gives the pool these tables live in (el2_mmu.c: Normal write-back, inner shareable).
 * The walker and the stub's stores are then coherent in the same domain, so a table entry
 * needs no cleaning to be seen by a walk on any core, only the DSB before the walk or
 * TLBI that depends on it (Arm ARM D8, "Translation table walk" memory attributes; D7).
 * With the stub's caches off these disagreed: the stub's stores went to memory under
 * lines a cacheable walk could still hit, e.g. when a pool page was reused. */
#define VTCR_EL2_VALUE 0x8002351EUL

int stage2_init(struct stage2 *s2, uint16_t vmid);
/* Map [ipa, ipa+size) to [pa, pa+size): 2 MiB blocks where both are aligned (if the board
 * allows them), 4 KiB pages elsewhere. All or nothing: returns 0, or -1 with nothing
 * changed when the table pool has too few pages left, part of the range is mapped
 * already, or the range is invalid (unaligned, empty, wrapping, an IPA beyond
 * S2_IPA_BITS or a PA beyond S2_PA_BITS). */
int stage2_map(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size, enum s2_kind kind);
/* The mapping holding ipa: its first IPA and its size (a 4 KiB page or a 2 MiB block);
 * 0, or -1 when nothing maps ipa. */
int stage2_granule(struct stage2 *s2, uint64_t ipa, uint64_t *base, uint64_t *granule);
/* Let the guest write [ipa, ipa+size) or only read it (dirty logging: snapshot.c), whole
 * mappings at a time. The caller invalidates the TLBs. 0, or -1 where nothing is mapped. */
int stage2_set_writable(struct stage2 *s2, uint64_t ipa, uint64_t size, int writable);
/* Give every table page of this VM back to the pool. */
void stage2_release(struct stage2 *s2);
uint64_t stage2_vttbr(const struct stage2 *s2);
/* Invalidate this VMID's stage-1+2 TLB entries on all cores (after unmapping). */
void stage2_flush_tlb(const struct stage2 *s2);

#endif
