/* The EL2 stage-1 table builder (firmware/arch/aarch64/el2_mmu.c) on the host: build the
 * tables for a board's RAM map and stub image, then walk them as the MMU would and check
 * every kind of memory gets its type, permissions and block size. tests/unit/
 * test_el2_mmu.py builds and runs it; tests/fuzz/host shadows sysreg.h and cache.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el2_mmu.h"

static uint64_t fake_id_aa64mmfr0 = 2;    /* PARange: 40 bits */

uint64_t fake_sysreg_read(const char *name)
{
    if (strcmp(name, "id_aa64mmfr0_el1") == 0)
        return fake_id_aa64mmfr0;
    return 0;
}

void fake_sysreg_write(const char *name, uint64_t value)
{
    (void)name;
    (void)value;
}

void harness_jump(void)
{
    abort();
}

static int checks, failures;

static void check(int ok, const char *what, ...)
{
    checks++;
    if (ok)
        return;
    failures++;
    va_list ap;
    va_start(ap, what);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, what, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

enum expect { NORMAL_RX, NORMAL_R, NORMAL_RW, RAM, DEVICE };

static const char *const names[] = {"text", "rodata", "image RW", "RAM", "device"};

/* The descriptor mapping va: identity output, the attributes of `kind`, at `level`. */
static void expect_map(uint64_t va, enum expect kind, int level)
{
    int got_level = 0;
    uint64_t d = el2_mmu_lookup(va, &got_level);
    check(d != 0, "0x%lx (%s) is not mapped", va, names[kind]);
    if (!d)
        return;
    uint64_t span = 1UL << (39 - 9 * got_level);
    check(got_level == level, "0x%lx (%s): level %d, expected %d", va, names[kind], got_level, level);
    check((d & EL2_DESC_ADDR & ~(span - 1)) == (va & ~(span - 1)),
          "0x%lx: output 0x%lx is not the identity", va, d & EL2_DESC_ADDR);
    check((d & 3) == (got_level == 3 ? EL2_DESC_TABLE : EL2_DESC_BLOCK), "0x%lx: descriptor type", va);
    check(d & EL2_DESC_AF, "0x%lx: AF clear (an access flag fault on first use)", va);
    check(d & EL2_DESC_AP_RES1, "0x%lx: AP[1] is RES1 at EL2", va);
    unsigned attr = (d >> 2) & 7;
    int xn = (d & EL2_DESC_XN) != 0, ro = (d & EL2_DESC_RO) != 0, ram = (d & EL2_DESC_SW_RAM) != 0;
    if (kind == DEVICE) {
        check(attr == EL2_ATTR_DEVICE, "0x%lx: device with attr %u", va, attr);
        check(xn && !ro && !ram, "0x%lx: device must be RW XN", va);
        return;
    }
    check(attr == EL2_ATTR_NORMAL, "0x%lx (%s): attr %u, not Normal", va, names[kind], attr);
    check((d & EL2_DESC_SH_INNER) == EL2_DESC_SH_INNER, "0x%lx: not inner shareable", va);
    check(ram == (kind == RAM), "0x%lx (%s): RAM tag %d", va, names[kind], ram);
    check(ro == (kind == NORMAL_RX || kind == NORMAL_R), "0x%lx (%s): read-only %d", va, names[kind], ro);
    check(xn == (kind != NORMAL_RX), "0x%lx (%s): XN %d", va, names[kind], xn);
}

static int build(const struct mem_range *ram, int n, uint64_t image, uint64_t text_end,
                 uint64_t rodata_end, uint64_t image_end, char *why)
{
    struct el2_layout layout = {ram, n, image, text_end, rodata_end, image_end};
    return el2_mmu_build(&layout, why, 96);
}

static void qemu_virt(void)
{
    /* 1 GiB at 1 GiB; the stub at 0x40200000 with 48 KiB of text, 8 KiB of rodata. */
    struct mem_range ram[] = {{0x40000000, 0x40000000}};
    char why[96];
    check(build(ram, 1, 0x40200000, 0x4020c000, 0x4020e000, 0x4054d000, why) == 0, "qemu: %s", why);
    expect_map(0x40200000, NORMAL_RX, 3);
    expect_map(0x4020bffc, NORMAL_RX, 3);
    expect_map(0x4020c000, NORMAL_R, 3);
    expect_map(0x4020e000, NORMAL_RW, 3);
    expect_map(0x40400000, NORMAL_RW, 3);   /* the image's second 2 MiB: ends mid-block */
    expect_map(0x4054c000, NORMAL_RW, 3);
    expect_map(0x4054d000, RAM, 3);
    expect_map(0x40000000, RAM, 2);         /* below the stub: a 2 MiB block */
    expect_map(0x40600000, RAM, 2);
    expect_map(0x7fe00000, RAM, 2);
    expect_map(0x09000000, DEVICE, 1);      /* the UART: GiB 0 holds no RAM */
    expect_map(0x08000000, DEVICE, 1);      /* the GIC */
    expect_map(0x80000000, DEVICE, 1);
    expect_map(0x7fc0000000, DEVICE, 1);    /* the last GiB of the 39-bit space */
    int level;
    check(el2_mmu_lookup(1UL << 39, &level) == 0, "beyond 39 bits must be unmapped");
    check(el2_mmu_table_pages() == 4, "qemu: %u table pages, expected root + L2 + 2 L3",
          el2_mmu_table_pages());

    check(el2_mmu_boot_regs.ttbr != 0 && (el2_mmu_boot_regs.ttbr & 0xFFF) == 0, "TTBR0 aligned");
    uint64_t tcr = el2_mmu_boot_regs.tcr;
    check((tcr & 0x3F) == 25, "T0SZ 25");
    check(((tcr >> 8) & 3) == 1 && ((tcr >> 10) & 3) == 1, "walks write-back (IRGN0/ORGN0)");
    check(((tcr >> 12) & 3) == 3, "walks inner shareable (SH0)");
    check(((tcr >> 14) & 3) == 0, "TG0 4 KiB");
    check(((tcr >> 16) & 7) == 2, "PS 40 bits");
    check(el2_mmu_boot_regs.mair == 0x04FF, "MAIR: Normal WB at 0, Device-nGnRE at 1");
    uint64_t sctlr = el2_mmu_boot_regs.sctlr;
    check((sctlr & 0x1005) == 0x1005, "SCTLR_EL2: M, C and I");
    check(!(sctlr & (1UL << 19)) && !(sctlr & 2), "SCTLR_EL2: no WXN, no alignment checks");

    /* The go/JUMP window: RAM executable and still writable, nothing else changes. */
    el2_mmu_ram_exec(1);
    for (uint64_t va = 0x40000000; va < 0x80000000; va += 0x100000) {
        uint64_t d = el2_mmu_lookup(va, &level);
        int in_image = va >= 0x40200000 && va < 0x4054d000;
        check(((d & EL2_DESC_XN) == 0) == (va < 0x4020c000 && va >= 0x40200000) || !in_image,
              "window: 0x%lx in the image changed", va);
        if (!in_image)
            check(!(d & EL2_DESC_XN) && !(d & EL2_DESC_RO), "window: RAM 0x%lx not RWX", va);
    }
    expect_map(0x4020e000, NORMAL_RW, 3);
    expect_map(0x09000000, DEVICE, 1);
    el2_mmu_ram_exec(0);
    expect_map(0x40000000, RAM, 2);
    expect_map(0x4054d000, RAM, 3);
    expect_map(0x7fe00000, RAM, 2);
}

static void rk3588_like(void)
{
    /* RAM from 2 MiB up to the device window, then above 4 GiB with an edge mid-GiB, and a
     * bank whose ends are not page aligned (only whole pages of it are RAM). */
    struct mem_range ram[] = {{0x00200000, 0xefe00000}, {0x100000000, 0x2fc000000},
                              {0x400000800, 0x3000}};
    char why[96];
    check(build(ram, 3, 0x480000, 0x48c000, 0x48e000, 0x7cd000, why) == 0, "rk3588: %s", why);
    expect_map(0x0, DEVICE, 2);              /* firmware's first 2 MiB: not RAM */
    expect_map(0x200000, RAM, 2);
    expect_map(0x400000, RAM, 3);            /* the stub's first 2 MiB window */
    expect_map(0x480000, NORMAL_RX, 3);
    expect_map(0x48c000, NORMAL_R, 3);
    expect_map(0x48e000, NORMAL_RW, 3);
    expect_map(0x7cd000, RAM, 3);
    expect_map(0x40000000, RAM, 1);          /* whole GiBs of RAM: 1 GiB blocks */
    expect_map(0x80000000, RAM, 1);
    expect_map(0xc0000000, RAM, 2);
    expect_map(0xefe00000, RAM, 2);
    expect_map(0xf0000000, DEVICE, 2);
    expect_map(0xfeb50000, DEVICE, 2);       /* UART2 */
    expect_map(0xfe600000, DEVICE, 2);       /* GIC */
    expect_map(0x100000000, RAM, 1);
    expect_map(0x3c0000000, RAM, 2);
    expect_map(0x3fbe00000, RAM, 2);
    expect_map(0x3fc000000, DEVICE, 2);
    expect_map(0x400000000, DEVICE, 3);      /* the partial first page stays Device */
    expect_map(0x400001000, RAM, 3);
    expect_map(0x400002000, RAM, 3);
    expect_map(0x400003000, DEVICE, 3);      /* the partial last page too */
}

static void limits(void)
{
    char why[96];
    struct mem_range high[] = {{0x40000000, 0x40000000}, {0x7fc0000000, 0x80000000}};
    check(build(high, 2, 0x40200000, 0x4020c000, 0x4020e000, 0x4054d000, why) == 1,
          "RAM beyond 512 GiB is reported");
    check(strstr(why, "not mapped") != NULL, "the reason: %s", why);
    expect_map(0x7fc0000000, RAM, 1);        /* what fits is mapped */

    struct mem_range nine[9];
    for (int i = 0; i < 9; i++)
        nine[i] = (struct mem_range){0x40000000UL * (i + 1), 0x1000};
    check(build(nine, 9, 0x40200000, 0x4020c000, 0x4020e000, 0x4054d000, why) == -1,
          "nine RAM ranges are refused");

    /* The worst case the pool is sized for: eight banks, each with both edges splitting a
     * 2 MiB block in a GiB of its own, and a stub whose four boundaries split more. */
    struct mem_range eight[8];
    for (int i = 0; i < 8; i++)
        eight[i] = (struct mem_range){0x40000000UL * (2 * i + 2) + 0x101000, 0x40000000};
    check(build(eight, 8, 0x20201000, 0x20303000, 0x20405000, 0x20607000, why) == 0,
          "worst case: %s", why);
    expect_map(0x20201000, NORMAL_RX, 3);
    expect_map(0x80101000, RAM, 3);
    expect_map(0x80100000, DEVICE, 3);

    check(build(eight, 1, 0x40200800, 0x4020c000, 0x4020e000, 0x4054d000, why) == -1,
          "an image not page aligned is refused");
}

int main(void)
{
    qemu_virt();
    rk3588_like();
    limits();
    if (failures) {
        fprintf(stderr, "test_el2_mmu: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_el2_mmu: all %d checks passed\n", checks);
    return 0;
}
