/* libFuzzer harness for the stub's FDT reader (firmware/lib/fdt.c, unmodified): the boot
 * DTB is input like any other, so every question the stub asks of it (RAM, CPUs,
 * /memreserve/, /reserved-memory) must stay inside the blob whatever the blob says.
 *
 * Input: byte 0 picks the mode. Even: the rest is the blob itself. Odd: the rest patches
 * a valid DTB with memory, /memreserve/ entries and /reserved-memory children (reg,
 * no-map, size only): pairs of (offset u16, byte), so random inputs reach deep into the
 * structure instead of failing at the magic. The blob sits at the end of a heap buffer
 * of exactly its size: ASan reports any read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fdt.h"
#include "mini_dtb.h"

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

static const struct mini_reservation seeds[] = {
    {NULL, 0x7a000000, 0x10000, 0, 0},
    {"bl31@7c000000", 0x7c000000, 0x200000, 1, 0},
    {"ramoops@7e000000", 0x7e000000, 0xf0000, 0, 0},
    {"linux,cma", 0, 0x1000000, 0, 1},
};

struct seen {
    const uint8_t *blob;
    size_t size;
    unsigned calls;
};

/* Every name handed out must end inside the blob (or be the reader's own literal). */
static void check_reservation(void *ctx, const struct fdt_reservation *r)
{
    struct seen *s = ctx;
    const uint8_t *name = (const uint8_t *)r->name;
    if (r->kind != FDT_MEMRESERVE) {
        if (name < s->blob || name >= s->blob + s->size)
            abort();
        if (memchr(name, 0, (size_t)(s->blob + s->size - name)) == NULL)
            abort();
    }
    if (r->kind == FDT_RESERVED_SIZE && r->base != 0)
        abort();
    s->calls++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t base[MINI_DTB_MAX] __attribute__((aligned(8)));
    if (size == 0)
        return 0;
    size_t blob_size;
    uint8_t *blob;
    if (data[0] & 1) {
        blob_size = mini_dtb_build_reserved(base, sizeof base, 0x40000000, 0x40000000, seeds,
                                            sizeof seeds / sizeof seeds[0]);
        for (size_t at = 1; at + 3 <= size; at += 3) {
            size_t off = (size_t)(data[at] | data[at + 1] << 8) % blob_size;
            base[off] = data[at + 2];
        }
    } else {
        blob_size = size - 1;
    }
    /* The stub reads at most totalsize bytes once the header is valid; a header that
     * claims more than the input is skipped (on a board those bytes exist). The bytes of
     * the allocation beyond totalsize are poisoned: reading them is a bug ASan reports. */
    size_t alloc = (blob_size + 7) & ~(size_t)7;
    blob = aligned_alloc(8, alloc ? alloc : 8);
    if (blob == NULL)
        return 0;
    if (blob_size)
        memcpy(blob, data[0] & 1 ? base : data + 1, blob_size);
    uint32_t valid = blob_size >= 40 ? fdt_valid_size(blob) : 0;
    if (valid != 0 && valid <= blob_size) {
        ASAN_POISON_MEMORY_REGION(blob + valid, alloc - valid);
        struct mem_range ram[8];
        uint64_t cpus[8];
        struct seen seen = {blob, valid, 0};
        int n = fdt_memory_ranges(blob, ram, 8);
        if (n > 8)
            abort();
        n = fdt_cpu_ids(blob, cpus, 8);
        if (n > 8)
            abort();
        n = fdt_reservations(blob, check_reservation, &seen);
        if (n >= 0 && (unsigned)n != seen.calls)
            abort();
        ASAN_UNPOISON_MEMORY_REGION(blob + valid, alloc - valid);
    }
    free(blob);
    return 0;
}
