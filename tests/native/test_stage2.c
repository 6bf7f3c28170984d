/* Host test of firmware/arch/aarch64/stage2.c: a mapping that cannot be completed (the
 * shared table pool runs out, or a 2 MiB block is in the way) must leave the VM's stage 2
 * exactly as it was, with no descriptor that no region records. Built and run by
 * tests/unit/test_stage2.py (non-PIE, so the pool's addresses fit the descriptors' 40
 * bits as they do on a board); prints one summary line and exits 0 only if every check
 * passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage2.h"

#define MIB (1UL << 20)
#define PAGE 4096UL
#define VALID 1UL
#define TABLE 3UL
#define OUT_MASK 0x000000FFFFFFF000UL

#include "check.h"

/* Host stand-ins for what stage2.c calls outside itself (tests/fuzz/host/sysreg.h). */
uint64_t fake_sysreg_read(const char *name) { (void)name; return 0; }
void fake_sysreg_write(const char *name, uint64_t value) { (void)name; (void)value; }
void harness_jump(void) { abort(); }

/* Every leaf the tables hold, as (ipa, output address) pairs in IPA order, 4 KiB each:
 * a 2 MiB block counts as its 512 pages. Also the number of level-3 tables in use. */
struct walk {
    unsigned long leaves, tables;
    uint64_t checksum;          /* order-dependent hash of (ipa, pa) of every page */
};

static void add_leaf(struct walk *w, uint64_t ipa, uint64_t pa)
{
    w->leaves++;
    w->checksum = (w->checksum ^ ipa) * 0x100000001B3UL;
    w->checksum = (w->checksum ^ pa) * 0x100000001B3UL;
}

static struct walk walk(const struct stage2 *s2)
{
    struct walk w = {0, 0, 0xCBF29CE484222325UL};
    for (uint64_t i = 0; i < S2_ROOT_PAGES * 512UL; i++) {
        uint64_t l2e = s2->root[i];
        if (!(l2e & VALID))
            continue;
        if ((l2e & 3) != TABLE) {
            for (uint64_t k = 0; k < 512; k++)
                add_leaf(&w, (i << 21) + k * PAGE, (l2e & OUT_MASK) + k * PAGE);
            continue;
        }
        w.tables++;
        const uint64_t *l3 = (const uint64_t *)(uintptr_t)(l2e & OUT_MASK);
        for (uint64_t k = 0; k < 512; k++)
            if (l3[k] & VALID)
                add_leaf(&w, (i << 21) + k * PAGE, l3[k] & OUT_MASK);
    }
    return w;
}

static int same(struct walk a, struct walk b)
{
    return a.leaves == b.leaves && a.tables == b.tables && a.checksum == b.checksum;
}

int main(void)
{
    struct stage2 a, b;
    CHECK(stage2_init(&a, 1) == 0);
    CHECK(stage2_init(&b, 2) == 0);
    unsigned pool_tables = S2_POOL_PAGES - 2 * S2_ROOT_PAGES;

    /* 1. One mapping needing more tables than the pool has: the IPA is 4 KiB off the PA's
     * 2 MiB alignment, so every 2 MiB takes a level-3 table. */
    struct walk before = walk(&a);
    uint64_t too_big = (uint64_t)(pool_tables + 8) * 2 * MIB;
    CHECK(stage2_map(&a, 0x80001000, 0x40000000, too_big, S2_NORMAL) == -1);
    CHECK(same(walk(&a), before));
    CHECK(walk(&a).leaves == 0 && walk(&a).tables == 0);
    /* Every table went back: a mapping needing exactly the whole pool fits now. */
    uint64_t fits = (uint64_t)(pool_tables - 1) * 2 * MIB;     /* spans pool_tables slots */
    CHECK(stage2_map(&b, 0x80001000, 0x40000000, fits, S2_NORMAL) == 0);
    CHECK(walk(&b).tables == pool_tables && walk(&b).leaves == fits / PAGE);
    stage2_release(&b);
    CHECK(stage2_init(&b, 2) == 0);

    /* 2. A fragmented layout: one 4 KiB page in each 2 MiB slot until the pool is dry; the
     * mapping that finds it dry changes nothing, and neither does a later one. */
    unsigned mapped = 0;
    for (;;) {
        struct walk now = walk(&a);
        uint64_t ipa = 0x100000000UL + (uint64_t)mapped * 2 * MIB;
        if (stage2_map(&a, ipa, 0x40000000 + (uint64_t)mapped * PAGE, PAGE, S2_DEVICE) != 0) {
            CHECK(same(walk(&a), now));
            break;
        }
        mapped++;
        CHECK(mapped <= pool_tables);
        if (mapped > pool_tables)
            break;
    }
    CHECK(mapped == pool_tables);
    struct walk dry = walk(&a);
    /* Two slots: the first has its table already, the second needs one: all or nothing. */
    uint64_t last_slot = 0x100000000UL + (uint64_t)(mapped - 1) * 2 * MIB;
    CHECK(stage2_map(&a, last_slot + 2 * MIB - PAGE, 0x50000000, 2 * PAGE, S2_NORMAL) == -1);
    CHECK(same(walk(&a), dry));
    /* Into a table it has, no new one needed: fine. */
    CHECK(stage2_map(&a, last_slot + PAGE, 0x50000000, PAGE, S2_NORMAL) == 0);
    stage2_release(&a);
    CHECK(stage2_init(&a, 1) == 0);

    /* 3. A 2 MiB block in the way half-way: nothing of the mapping stays. */
    CHECK(stage2_map(&a, 0x200000, 0x40200000, 2 * MIB, S2_NORMAL) == 0);
    before = walk(&a);
    CHECK(stage2_map(&a, 0x1000, 0x50001000, 4 * MIB, S2_NORMAL) == -1);
    CHECK(same(walk(&a), before));
    /* A page already mapped is not silently replaced either. */
    CHECK(stage2_map(&a, 0x600000, 0x50000000, PAGE, S2_NORMAL) == 0);
    before = walk(&a);
    CHECK(stage2_map(&a, 0x5FF000, 0x51000000, 2 * PAGE, S2_NORMAL) == -1);
    CHECK(same(walk(&a), before));

    /* 4. Output addresses beyond the 40 bits a descriptor holds are refused, not masked
     * onto low memory (0x100_4020_0000 would alias 0x4020_0000). */
    before = walk(&a);
    CHECK(stage2_map(&a, 0x800000, 0x10040200000UL, PAGE, S2_DEVICE) == -1);
    CHECK(stage2_map(&a, 0x800000, (1UL << S2_PA_BITS) - PAGE, 2 * PAGE, S2_DEVICE) == -1);
    CHECK(stage2_map(&a, 0x800000, 0xFFFFFFFFFFFFF000UL, 2 * PAGE, S2_DEVICE) == -1);
    CHECK(same(walk(&a), before));
    CHECK(stage2_map(&a, 0x800000, (1UL << S2_PA_BITS) - PAGE, PAGE, S2_DEVICE) == 0);

    /* 5. IPAs: beyond the VM's 34 bits, or wrapping. */
    before = walk(&a);
    CHECK(stage2_map(&a, (1UL << S2_IPA_BITS) - PAGE, 0x40000000, 2 * PAGE, S2_NORMAL) == -1);
    CHECK(stage2_map(&a, 0xFFFFFFFFFFFFF000UL, 0x40000000, 2 * PAGE, S2_NORMAL) == -1);
    CHECK(same(walk(&a), before));

    if (failures) {
        printf("test_stage2: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_stage2: all %d checks passed\n", checks);
    return 0;
}
