#include "stage2.h"

#include "libc.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

#define PAGE 4096UL
#define BLOCK_2M (2UL << 20)
#define ENTRIES 512

/* Descriptor bits (ARM ARM D8.3, stage 2 block and page descriptors). */
#define DESC_TABLE      3UL         /* also "page" at level 3 */
#define DESC_BLOCK      1UL
#define MEMATTR_NORMAL  (0xFUL << 2)   /* outer and inner write-back cacheable */
#define MEMATTR_DEVICE  (0x1UL << 2)   /* Device-nGnRE */
#define S2AP_RW         (3UL << 6)
#define S2AP_RO         (1UL << 6)      /* S2AP [7:6] 01: read-only (D8.4, stage 2 permissions) */
#define S2AP_MASK       (3UL << 6)
#define SH_INNER        (3UL << 8)
#define AF              (1UL << 10)
#define XN              (1UL << 54)
#define ADDR_MASK       0x000000FFFFFFF000UL

static uint8_t pool[S2_POOL_PAGES][PAGE] __attribute__((aligned(S2_ROOT_PAGES * PAGE)));
static uint16_t owner[S2_POOL_PAGES];   /* VMID using the page, 0 = free */

static uint64_t *alloc_pages(uint16_t vmid, unsigned count)
{
    /* count is 1, or S2_ROOT_PAGES for the root, which must be aligned to its own size:
     * runs start at multiples of count, and the pool is aligned to the root's size. */
    for (unsigned i = 0; i + count <= S2_POOL_PAGES; i += count) {
        int free = 1;
        for (unsigned k = 0; k < count; k++)
            free &= owner[i + k] == 0;
        if (!free)
            continue;
        for (unsigned k = 0; k < count; k++)
            owner[i + k] = vmid;
        /* Cacheable stores, walked cacheably with the same attributes (stage2.h,
         * VTCR_EL2): no cleaning, whichever VM used the page before. */
        memset(pool[i], 0, count * PAGE);
        return (uint64_t *)pool[i];
    }
    return NULL;
}

int stage2_init(struct stage2 *s2, uint16_t vmid)
{
    s2->vmid = vmid;
    s2->root = alloc_pages(vmid, S2_ROOT_PAGES);
    return s2->root ? 0 : -1;
}

void stage2_release(struct stage2 *s2)
{
    for (unsigned i = 0; i < S2_POOL_PAGES; i++)
        if (owner[i] == s2->vmid)
            owner[i] = 0;
    s2->root = NULL;
}

uint64_t stage2_vttbr(const struct stage2 *s2)
{
    return (uint64_t)s2->vmid << 48 | (uintptr_t)s2->root;
}

static uint64_t *next_table(struct stage2 *s2, uint64_t *entry)
{
    if ((*entry & 3) == DESC_TABLE)
        return (uint64_t *)(uintptr_t)(*entry & ADDR_MASK);
    if (*entry != 0)
        return NULL;                      /* a block is already there */
    uint64_t *table = alloc_pages(s2->vmid, 1);
    if (table)
        *entry = (uintptr_t)table | DESC_TABLE;
    return table;
}

static uint64_t leaf_attrs(enum s2_kind kind)
{
    if (kind == S2_DEVICE)
        return MEMATTR_DEVICE | S2AP_RW | AF | XN;
    return MEMATTR_NORMAL | S2AP_RW | SH_INNER | AF;
}

static unsigned free_pages(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < S2_POOL_PAGES; i++)
        n += owner[i] == 0;
    return n;
}

/* Level 2 entry for an IPA: index over the concatenated root, IPA bits [33:21]. */
static uint64_t *l2_entry(struct stage2 *s2, uint64_t ipa)
{
    return &s2->root[(ipa >> 21) & (S2_ROOT_PAGES * ENTRIES - 1)];
}

static int use_block(uint64_t ipa, uint64_t pa, uint64_t size, uint64_t l2e)
{
    return BOARD_STAGE2_BLOCKS && ((ipa | pa) & (BLOCK_2M - 1)) == 0 && size >= BLOCK_2M && l2e == 0;
}

/* The walk stage2_map will do, without writing: 0 and the number of level-3 tables it
 * must allocate, or -1 when something is in the way (a block where a table is needed, a
 * page already mapped). A mapping that cannot be finished is refused before its first
 * descriptor, so none is ever left that no region of the VM records. */
static int plan(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size, unsigned *tables)
{
    uint64_t new_table_slot = ~0UL;           /* the 2 MiB slot whose table this call adds */
    *tables = 0;
    while (size) {
        uint64_t l2e = *l2_entry(s2, ipa);
        uint64_t step = PAGE;
        if (use_block(ipa, pa, size, l2e)) {
            step = BLOCK_2M;
        } else if ((l2e & 3) == DESC_TABLE) {
            const uint64_t *l3 = (const uint64_t *)(uintptr_t)(l2e & ADDR_MASK);
            if (l3[(ipa >> 12) & 511] != 0)
                return -1;
        } else if (l2e != 0) {
            return -1;
        } else if (ipa >> 21 != new_table_slot) {
            new_table_slot = ipa >> 21;
            (*tables)++;
        }
        ipa += step;
        pa += step;
        size -= step;
    }
    return 0;
}

int stage2_map(struct stage2 *s2, uint64_t ipa, uint64_t pa, uint64_t size, enum s2_kind kind)
{
    /* Both ends in range and no wrap: the IPA within the VM's S2_IPA_BITS (VTCR_EL2.T0SZ),
     * the PA within the S2_PA_BITS a descriptor holds. Masking a larger PA into the
     * descriptor would alias it onto low memory, such as the stub's own image. */
    if (((ipa | pa | size) & (PAGE - 1)) || size == 0 || ipa + size < ipa || pa + size < pa ||
        ipa + size > (1UL << S2_IPA_BITS) || pa + size > (1UL << S2_PA_BITS))
        return -1;
    unsigned tables;
    if (plan(s2, ipa, pa, size, &tables) != 0 || tables > free_pages())
        return -1;
    while (size) {
        uint64_t *l2e = l2_entry(s2, ipa);
        if (use_block(ipa, pa, size, *l2e)) {
            *l2e = (pa & ADDR_MASK) | leaf_attrs(kind) | DESC_BLOCK;
            ipa += BLOCK_2M;
            pa += BLOCK_2M;
            size -= BLOCK_2M;
            continue;
        }
        uint64_t *l3 = next_table(s2, l2e);
        if (!l3)
            return -1;           /* not reached: plan() counted and checked every table */
        l3[(ipa >> 12) & 511] = (pa & ADDR_MASK) | leaf_attrs(kind) | DESC_TABLE;
        ipa += PAGE;
        pa += PAGE;
        size -= PAGE;
    }
    dsb_sy();
    return 0;
}

/* The leaf descriptor translating ipa (a level-2 block or a level-3 page), or NULL. */
static uint64_t *leaf(struct stage2 *s2, uint64_t ipa, uint64_t *granule)
{
    uint64_t *l2e = l2_entry(s2, ipa);
    if ((*l2e & 3) == DESC_BLOCK) {
        *granule = BLOCK_2M;
        return l2e;
    }
    if ((*l2e & 3) != DESC_TABLE)
        return NULL;
    uint64_t *e = &((uint64_t *)(uintptr_t)(*l2e & ADDR_MASK))[(ipa >> 12) & 511];
    if ((*e & 3) != DESC_TABLE)
        return NULL;
    *granule = PAGE;
    return e;
}

int stage2_granule(struct stage2 *s2, uint64_t ipa, uint64_t *base, uint64_t *granule)
{
    if (ipa >= (1UL << S2_IPA_BITS) || !leaf(s2, ipa, granule))
        return -1;
    *base = ipa & ~(*granule - 1);
    return 0;
}

int stage2_set_writable(struct stage2 *s2, uint64_t ipa, uint64_t size, int writable)
{
    uint64_t end = ipa + size;
    if (end < ipa || end > (1UL << S2_IPA_BITS))
        return -1;
    while (ipa < end) {
        uint64_t granule;
        uint64_t *e = leaf(s2, ipa, &granule);
        if (!e)
            return -1;
        *e = (*e & ~S2AP_MASK) | (writable ? S2AP_RW : S2AP_RO);
        ipa = (ipa & ~(granule - 1)) + granule;
    }
    dsb_sy();
    return 0;
}

void stage2_flush_tlb(const struct stage2 *s2)
{
    /* TLBI VMALLS12E1IS acts on the current VMID: switch VTTBR to this VM first. */
    uint64_t saved = read_sysreg(vttbr_el2);
    write_sysreg(vttbr_el2, stage2_vttbr(s2));
    isb();
    tlbi_vmalls12e1is();
    write_sysreg(vttbr_el2, saved);
    isb();
}
