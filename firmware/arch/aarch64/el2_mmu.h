/* The stub's own address space: an identity-mapped EL2 stage-1 translation (TTBR0_EL2,
 * TCR_EL2, MAIR_EL2; Arm ARM D8, "The AArch64 Virtual Memory System Architecture"), so the
 * stub runs with its MMU and caches on:
 *
 *   RAM (the DTB's memory nodes)      Normal write-back, inner shareable, RW, never executable
 *   the stub's text                   Normal write-back, read-only, executable
 *   the stub's rodata                 read-only, never executable
 *   its data, bss, stacks and tables  RW, never executable
 *   everything else below 512 GiB     Device-nGnRE, RW, never executable (UART, GIC, ...)
 *
 * 1 GiB and 2 MiB blocks wherever a block holds one kind of memory; 4 KiB pages around the
 * stub image and unaligned RAM edges. Why caches on at all: with the MMU off every data
 * access of the stub is Device-nGnRnE (Arm ARM D8, "the effects of disabling the stage 1
 * translation"), while stage-2 walks and guests are cacheable. That means mismatched
 * attributes on the same memory (stale stage-2 table lines, dirty guest lines evicted over
 * a new image), and load/store-exclusive on Device memory, which the architecture does
 * not promise to support (B2, "Load-Exclusive and Store-Exclusive instruction usage
 * restrictions"). Where the maintenance that caches-on needs happens: README.md beside
 * this file, "EL2 MMU and caches". */
#ifndef HVMON_EL2_MMU_H
#define HVMON_EL2_MMU_H

/* Offsets in struct el2_mmu_regs, for start.S's secondary entry. */
#define EL2_MMU_REGS_MAIR   0
#define EL2_MMU_REGS_TCR    8
#define EL2_MMU_REGS_TTBR   16
#define EL2_MMU_REGS_SCTLR  24

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include "fdt.h"

/* 39-bit VA (T0SZ 25): the walk starts at level 1 with 4 KiB granules, one root page
 * (Arm ARM D8, "Translation table walk": initial lookup level for the 4 KB granule). Both
 * boards' RAM and devices lie far below 512 GiB. */
#define EL2_VA_BITS 39

/* MAIR_EL2 indices. */
#define EL2_ATTR_NORMAL 0     /* 0xFF: inner and outer write-back, read/write-allocate */
#define EL2_ATTR_DEVICE 1     /* 0x04: Device-nGnRE */

/* Stage-1 descriptor fields (Arm ARM D8, "Translation table descriptor formats"; for the
 * EL2 regime with one privilege level AP[1] is RES1 and bit 54 is XN). */
#define EL2_DESC_VALID     1UL
#define EL2_DESC_TABLE     3UL            /* also a page at level 3 */
#define EL2_DESC_BLOCK     1UL
#define EL2_DESC_ATTRIDX(i) ((uint64_t)(i) << 2)
#define EL2_DESC_AP_RES1   (1UL << 6)
#define EL2_DESC_RO        (1UL << 7)     /* AP[2] */
#define EL2_DESC_SH_INNER  (3UL << 8)
#define EL2_DESC_AF        (1UL << 10)
#define EL2_DESC_XN        (1UL << 54)
#define EL2_DESC_SW_RAM    (1UL << 55)    /* software bit: RAM outside the stub (go/JUMP window) */
#define EL2_DESC_ADDR      0x0000FFFFFFFFF000UL

/* SCTLR_EL2 (E2H 0; Arm ARM D17, SCTLR_EL2): RES1 bits 4,5,11,16,18,22,23,28,29, SA (3)
 * and I (12). EL2_SCTLR_ON adds M (0) and C (2). A (1) stays off: Normal memory allows
 * unaligned accesses. WXN (19) stays off: the tables themselves keep writable memory
 * non-executable, and the go/JUMP window (el2_mmu_ram_exec) needs RAM both writable and
 * executable for the code it calls. */
#define EL2_SCTLR_OFF  0x30C51838UL
#define EL2_SCTLR_ON   (EL2_SCTLR_OFF | 1UL | 4UL)

/* The register values every core loads to switch its MMU on. Written once by the boot
 * core with its MMU off (so they are in memory), read by secondary cores with theirs still
 * off (start.S): never written again. */
struct el2_mmu_regs {
    uint64_t mair, tcr, ttbr, sctlr;
};
extern struct el2_mmu_regs el2_mmu_boot_regs;

_Static_assert(offsetof(struct el2_mmu_regs, mair) == EL2_MMU_REGS_MAIR, "asm offset");
_Static_assert(offsetof(struct el2_mmu_regs, tcr) == EL2_MMU_REGS_TCR, "asm offset");
_Static_assert(offsetof(struct el2_mmu_regs, ttbr) == EL2_MMU_REGS_TTBR, "asm offset");
_Static_assert(offsetof(struct el2_mmu_regs, sctlr) == EL2_MMU_REGS_SCTLR, "asm offset");

/* What the map is built from: RAM ranges, and the stub's image split at page boundaries
 * into text (RX), rodata (R) and the rest (RW). */
struct el2_layout {
    const struct mem_range *ram;
    int ram_count;
    uint64_t image_start, text_end, rodata_end, image_end;
};

/* Build the tables (portable: the host unit test runs it). 0, or -1 with a reason. A RAM
 * range beyond the 39-bit VA space is left unmapped and reported in why, return 1. */
int el2_mmu_build(const struct el2_layout *layout, char *why, size_t why_size);
/* The leaf descriptor mapping va and its level (1..3); 0 when nothing maps it. */
uint64_t el2_mmu_lookup(uint64_t va, int *level);
/* The table pages in use (for info). */
unsigned el2_mmu_table_pages(void);

/* Boot core, MMU off, after el2_mmu_build: invalidate what the stub wrote with its
 * caches off, then switch the MMU and caches on. */
void el2_mmu_enable_boot(void);
/* "EL2 MMU on, caches on" (or what SCTLR_EL2 says instead). */
const char *el2_mmu_state_text(void);

/* The window for `go` and JUMP, which run code the host wrote into RAM: on = RAM outside
 * the stub executable (still writable), off = RAM never executable again. */
void el2_mmu_ram_exec(int on);

#endif /* __ASSEMBLER__ */
#endif
