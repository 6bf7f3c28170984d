#include "el2_mmu.h"

#include <cache.h>    /* <>: host builds shadow it */
#include "libc.h"
#include "print.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

#define PAGE 4096UL
#define ENTRIES 512

/* Table pages: the root, then level-2 and level-3 pages for the 1 GiB and 2 MiB regions
 * that hold more than one kind of memory. Each RAM edge and each of the stub image's four
 * boundaries (start, end of text, end of rodata, end) can split at most one 1 GiB and one
 * 2 MiB region: 1 + 2 * (2 * EL2_MMU_MAX_RAM + 4) pages cover any layout. */
#define EL2_MMU_MAX_RAM 8
#define POOL_PAGES (1 + 2 * (2 * EL2_MMU_MAX_RAM + 4))

static uint64_t pool[POOL_PAGES][ENTRIES] __attribute__((aligned(PAGE)));
static uint8_t pool_level[POOL_PAGES];
static unsigned pool_used;

/* Written with the MMU off, read by secondaries with theirs off: see el2_mmu.h. */
struct el2_mmu_regs el2_mmu_boot_regs;

enum kind { K_DEVICE, K_RAM, K_TEXT, K_RODATA, K_IMAGE_RW };

static const struct el2_layout *lay;
static struct mem_range ram[EL2_MMU_MAX_RAM];   /* page-aligned inward, below the VA limit */
static int ram_count;

static enum kind kind_at(uint64_t a)
{
    if (a >= lay->image_start && a < lay->image_end)
        return a < lay->text_end ? K_TEXT : a < lay->rodata_end ? K_RODATA : K_IMAGE_RW;
    for (int i = 0; i < ram_count; i++)
        if (a >= ram[i].base && a - ram[i].base < ram[i].size)
            return K_RAM;
    return K_DEVICE;
}

static int splits(uint64_t b, uint64_t a, uint64_t size)
{
    return b > a && b - a < size;
}

/* Does [a, a+size) hold one kind of memory? Kinds change only at these boundaries. */
static int uniform(uint64_t a, uint64_t size)
{
    if (splits(lay->image_start, a, size) || splits(lay->text_end, a, size) ||
        splits(lay->rodata_end, a, size) || splits(lay->image_end, a, size))
        return 0;
    for (int i = 0; i < ram_count; i++)
        if (splits(ram[i].base, a, size) || splits(ram[i].base + ram[i].size, a, size))
            return 0;
    return 1;
}

/* Lower and upper attributes of a leaf (Arm ARM D8, "Translation table descriptor
 * formats", stage 1 attribute fields; B2, "Memory types and attributes"). Normal memory is
 * inner shareable write-back: the attributes every core uses for it, and the ones
 * VTCR_EL2 gives stage-2 walks (stage2.h), so all of them agree on every line. */
static uint64_t leaf_attrs(enum kind k)
{
    const uint64_t normal = EL2_DESC_ATTRIDX(EL2_ATTR_NORMAL) | EL2_DESC_SH_INNER |
                            EL2_DESC_AP_RES1 | EL2_DESC_AF;
    switch (k) {
    case K_TEXT:      return normal | EL2_DESC_RO;
    case K_RODATA:    return normal | EL2_DESC_RO | EL2_DESC_XN;
    case K_IMAGE_RW:  return normal | EL2_DESC_XN;
    case K_RAM:       return normal | EL2_DESC_XN | EL2_DESC_SW_RAM;
    case K_DEVICE:    break;
    }
    /* Device-nGnRE: no speculative reads, no gathering or reordering; shareability does
     * not apply (Device is always outer shareable). Never executable: an instruction
     * fetch from Device memory is a permission fault only with XN, speculation
     * otherwise may fetch from it. */
    return EL2_DESC_ATTRIDX(EL2_ATTR_DEVICE) | EL2_DESC_AP_RES1 | EL2_DESC_AF | EL2_DESC_XN;
}

static uint64_t *alloc_table(int level)
{
    if (pool_used == POOL_PAGES)
        return NULL;
    uint64_t *t = pool[pool_used];
    pool_level[pool_used++] = (uint8_t)level;
    memset(t, 0, PAGE);
    return t;
}

static unsigned level_shift(int level)
{
    return 39 - 9 * (unsigned)level;        /* level 1: 30 (1 GiB), 2: 21, 3: 12 */
}

static int fill(uint64_t *table, int level, uint64_t base)
{
    uint64_t span = 1UL << level_shift(level);
    for (unsigned i = 0; i < ENTRIES; i++) {
        uint64_t a = base + i * span;
        if (uniform(a, span)) {
            table[i] = a | leaf_attrs(kind_at(a)) | (level == 3 ? EL2_DESC_TABLE : EL2_DESC_BLOCK);
            continue;
        }
        /* Level 3 maps single pages, which are always uniform (every boundary is
         * page-aligned), so only levels 1 and 2 get here. */
        uint64_t *next = alloc_table(level + 1);
        if (!next || fill(next, level + 1, a) != 0)
            return -1;
        table[i] = (uintptr_t)next | EL2_DESC_TABLE;
    }
    return 0;
}

static uint64_t parange_ps(void)
{
    uint64_t parange = read_sysreg(id_aa64mmfr0_el1) & 0xF;
    return parange < 2 ? parange : 2;        /* 40 bits cover the 39-bit identity map */
}

int el2_mmu_build(const struct el2_layout *layout, char *why, size_t why_size)
{
    int result = 0;
    /* Until the tables are complete, secondaries would keep their MMU off like this core. */
    el2_mmu_boot_regs = (struct el2_mmu_regs){0, 0, 0, EL2_SCTLR_OFF};
    lay = layout;
    ram_count = 0;
    pool_used = 0;
    why[0] = 0;
    if (((layout->image_start | layout->text_end | layout->rodata_end | layout->image_end) &
         (PAGE - 1)) != 0) {
        snprintf_(why, why_size, "the stub image's sections are not page aligned");
        return -1;
    }
    if (layout->ram_count > EL2_MMU_MAX_RAM) {
        snprintf_(why, why_size, "more than %d RAM ranges", EL2_MMU_MAX_RAM);
        return -1;
    }
    for (int i = 0; i < layout->ram_count; i++) {
        /* Only whole pages can be Normal; a partial page at an edge stays Device. */
        uint64_t base = (layout->ram[i].base + PAGE - 1) & ~(PAGE - 1);
        uint64_t end = (layout->ram[i].base + layout->ram[i].size) & ~(PAGE - 1);
        if (end > 1UL << EL2_VA_BITS) {
            snprintf_(why, why_size, "RAM above 0x%lx is not mapped (39-bit EL2 VA space)",
                      1UL << EL2_VA_BITS);
            result = 1;
            end = 1UL << EL2_VA_BITS;
        }
        if (end > base)
            ram[ram_count++] = (struct mem_range){base, end - base};
    }
    uint64_t *root = alloc_table(1);
    if (fill(root, 1, 0) != 0) {
        pool_used = 0;
        snprintf_(why, why_size, "out of EL2 table pages (%u)", POOL_PAGES);
        return -1;
    }
    el2_mmu_boot_regs.mair = 0xFFUL << (8 * EL2_ATTR_NORMAL) | 0x04UL << (8 * EL2_ATTR_DEVICE);
    /* TCR_EL2 (E2H 0; Arm ARM D17): T0SZ 25; walks inner and outer write-back
     * read/write-allocate (IRGN0 = ORGN0 = 01), inner shareable (SH0 = 11): the same
     * attributes as the stub's own accesses to the tables, so a table write is visible
     * to the walker without cleaning (D8, "Translation table walk" memory attributes);
     * TG0 4 KiB; PS from ID_AA64MMFR0_EL1; bits 23 and 31 RES1. */
    el2_mmu_boot_regs.tcr = (64 - EL2_VA_BITS) | 1UL << 8 | 1UL << 10 | 3UL << 12 |
                            parange_ps() << 16 | 1UL << 23 | 1UL << 31;
    el2_mmu_boot_regs.ttbr = (uintptr_t)root;
    el2_mmu_boot_regs.sctlr = EL2_SCTLR_ON;
    return result;
}

uint64_t el2_mmu_lookup(uint64_t va, int *level)
{
    if (pool_used == 0 || va >= 1UL << EL2_VA_BITS)
        return 0;
    const uint64_t *table = pool[0];
    for (int l = 1; l <= 3; l++) {
        uint64_t d = table[(va >> level_shift(l)) & (ENTRIES - 1)];
        if (!(d & EL2_DESC_VALID))
            return 0;
        if (l == 3 || (d & 3) == EL2_DESC_BLOCK) {
            *level = l;
            return d;
        }
        table = (const uint64_t *)(uintptr_t)(d & EL2_DESC_ADDR);
    }
    return 0;
}

unsigned el2_mmu_table_pages(void)
{
    return pool_used;
}

void el2_mmu_enable_boot(void)
{
    extern char __image_start[], __image_end[];
    /* What the stub wrote with its MMU off went straight to memory: .bss and the stack
     * start.S cleared and used, the tables above, el2_mmu_boot_regs. A line of that range
     * that some cache still holds from before (the boot loader used this memory with its
     * caches on) would hide it once ours are on: invalidate the image's lines to PoC
     * first. Nothing of the range can be dirty: the image was cleaned to PoC by booti
     * (Linux booting.rst) and data accesses with the MMU off are non-cacheable, allocate
     * no lines, and keep going to memory until SCTLR_EL2.C is set below. The boot DTB was
     * cleaned by booti too and only read since: memory and any line agree. */
    dcache_inval_poc(__image_start, (uint64_t)(__image_end - __image_start));
    /* Enabling the MMU (Arm ARM D8, "Enabling and disabling the MMU" rules): drop TLB
     * entries the boot loader's own EL2 translation left (U-Boot ran at EL2 with its MMU
     * on), program MAIR/TCR/TTBR0, synchronize them with an ISB before SCTLR_EL2.M, and
     * make the instruction cache hold nothing fetched before our text was in place.
     * Identity mapping keeps the next instruction where the PC already points. */
    tlbi_alle2();
    write_sysreg(mair_el2, el2_mmu_boot_regs.mair);
    write_sysreg(tcr_el2, el2_mmu_boot_regs.tcr);
    write_sysreg(ttbr0_el2, el2_mmu_boot_regs.ttbr);
    isb();
    icache_inval_local();
    write_sysreg(sctlr_el2, el2_mmu_boot_regs.sctlr);
    isb();
}

const char *el2_mmu_state_text(void)
{
    static const char *const text[4] = {"EL2 MMU off, caches off", "EL2 MMU on, caches off",
                                        "EL2 MMU off, caches on", "EL2 MMU on, caches on"};
    uint64_t sctlr = read_sysreg(sctlr_el2);
    return text[(sctlr & 1) | ((sctlr >> 1) & 2)];
}

void el2_mmu_ram_exec(int on)
{
    if (pool_used == 0)
        return;
    /* Only XN changes: a permission change needs no break-before-make (Arm ARM D8,
     * "Translation table updates": break-before-make applies to changes of output
     * address, memory type, shareability or block size), only the TLB invalidation
     * after it. The walk is coherent with these cacheable stores (TCR_EL2 IRGN0/ORGN0/
     * SH0 above), so the DSB before the TLBI is all the table write needs. */
    for (unsigned p = 0; p < pool_used; p++)
        for (unsigned i = 0; i < ENTRIES; i++) {
            uint64_t d = pool[p][i];
            int leaf = pool_level[p] == 3 ? (d & 3) == EL2_DESC_TABLE : (d & 3) == EL2_DESC_BLOCK;
            if (leaf && (d & EL2_DESC_SW_RAM))
                pool[p][i] = on ? d & ~EL2_DESC_XN : d | EL2_DESC_XN;
        }
    /* All cores: secondaries share these tables. */
    tlbi_alle2is();
}
