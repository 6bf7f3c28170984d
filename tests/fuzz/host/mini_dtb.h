/* A small DTB for the stub's engine built for the host (the fuzz harnesses and
 * bench/hoststub): a root node with #address-cells = #size-cells = 2, one memory node, so
 * memmap_init() takes its RAM map "from the DTB" as on a board, and optionally what a
 * board's firmware reserves: /memreserve/ entries and /reserved-memory children (with reg,
 * no-map, or only a size). Layout: the devicetree specification's flattened format
 * (chapter 5: header, memory reservation block, structure block, strings block). */
#ifndef HVMON_MINI_DTB_H
#define HVMON_MINI_DTB_H

#include <stdint.h>
#include <string.h>

#define MINI_DTB_SIZE 512            /* enough for mini_dtb_build (no reservations) */
#define MINI_DTB_MAX 8192            /* room for mini_dtb_build_reserved with a few dozen */

/* name NULL: a /memreserve/ entry; otherwise a /reserved-memory child of that name, with
 * reg = <base size> (no_map: and no-map), or only size = <size> when dynamic. */
struct mini_reservation {
    const char *name;
    uint64_t base, size;
    int no_map, dynamic;
};

static inline void mini_dtb_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Offsets of the property names in the strings block below. */
#define MINI_STR_ADDRESS_CELLS 0
#define MINI_STR_SIZE_CELLS 15
#define MINI_STR_REG 27
#define MINI_STR_NO_MAP 31
#define MINI_STR_SIZE 38
#define MINI_STR_RANGES 43
static const char mini_dtb_strings[] = "#address-cells\0#size-cells\0reg\0no-map\0size\0ranges";

/* Writes the DTB into dtb (cap bytes, 8-byte aligned); returns its size, or 0 when it
 * does not fit. Names longer than 60 characters are cut. */
static inline uint32_t mini_dtb_build_reserved(uint8_t *dtb, uint32_t cap, uint64_t base,
                                               uint64_t size, const struct mini_reservation *r,
                                               unsigned n)
{
    unsigned memreserves = 0, children = 0;
    for (unsigned i = 0; i < n; i++) {
        if (r[i].name)
            children++;
        else
            memreserves++;
    }
    uint32_t off_rsv = 40, off_struct = off_rsv + 16 * (memreserves + 1);
    /* Worst case per child: BEGIN_NODE + 64-byte name + reg (4 cells) + no-map + END. */
    uint32_t need = off_struct + 256 + 112 * children + sizeof mini_dtb_strings;
    if (need > cap)
        return 0;
    memset(dtb, 0, cap);
    uint8_t *rsv = dtb + off_rsv, *s = dtb + off_struct;
    uint32_t at = 0;
#define W(v) (mini_dtb_be32(s + at, (v)), at += 4)
#define NAME(text) do { size_t len_ = strlen(text) > 60 ? 60 : strlen(text);               \
                        memcpy(s + at, text, len_); at += (uint32_t)(len_ + 4) & ~3u; } while (0)
#define PROP_CELLS2(nameoff, v) (W(3), W(8), W(nameoff), W((uint32_t)((v) >> 32)), W((uint32_t)(v)))
    for (unsigned i = 0; i < n; i++)
        if (!r[i].name) {
            mini_dtb_be32(rsv, (uint32_t)(r[i].base >> 32));
            mini_dtb_be32(rsv + 4, (uint32_t)r[i].base);
            mini_dtb_be32(rsv + 8, (uint32_t)(r[i].size >> 32));
            mini_dtb_be32(rsv + 12, (uint32_t)r[i].size);
            rsv += 16;
        }
    W(1); W(0);                                        /* BEGIN_NODE "" */
    W(3); W(4); W(MINI_STR_ADDRESS_CELLS); W(2);
    W(3); W(4); W(MINI_STR_SIZE_CELLS); W(2);
    W(1); NAME("memory");
    W(3); W(16); W(MINI_STR_REG);
    W((uint32_t)(base >> 32)); W((uint32_t)base); W((uint32_t)(size >> 32)); W((uint32_t)size);
    W(2);
    if (children) {
        W(1); NAME("reserved-memory");
        W(3); W(4); W(MINI_STR_ADDRESS_CELLS); W(2);
        W(3); W(4); W(MINI_STR_SIZE_CELLS); W(2);
        W(3); W(0); W(MINI_STR_RANGES);
        for (unsigned i = 0; i < n; i++) {
            if (!r[i].name)
                continue;
            W(1); NAME(r[i].name);
            if (r[i].dynamic) {
                PROP_CELLS2(MINI_STR_SIZE, r[i].size);
            } else {
                W(3); W(16); W(MINI_STR_REG);
                W((uint32_t)(r[i].base >> 32)); W((uint32_t)r[i].base);
                W((uint32_t)(r[i].size >> 32)); W((uint32_t)r[i].size);
            }
            if (r[i].no_map) {
                W(3); W(0); W(MINI_STR_NO_MAP);
            }
            W(2);
        }
        W(2);
    }
    W(2); W(9);                                        /* END_NODE (root), END */
#undef PROP_CELLS2
#undef NAME
#undef W
    uint32_t off_strings = off_struct + at;
    memcpy(dtb + off_strings, mini_dtb_strings, sizeof mini_dtb_strings);
    uint32_t total = (off_strings + (uint32_t)sizeof mini_dtb_strings + 7) & ~7u;
    mini_dtb_be32(dtb, 0xd00dfeed);
    mini_dtb_be32(dtb + 4, total);
    mini_dtb_be32(dtb + 8, off_struct);
    mini_dtb_be32(dtb + 12, off_strings);
    mini_dtb_be32(dtb + 16, off_rsv);
    mini_dtb_be32(dtb + 20, 17);                       /* version */
    mini_dtb_be32(dtb + 24, 16);                       /* last compatible version */
    mini_dtb_be32(dtb + 32, sizeof mini_dtb_strings);
    mini_dtb_be32(dtb + 36, at);
    return total;
}

/* dtb: MINI_DTB_SIZE bytes, 8-byte aligned. */
static inline void mini_dtb_build(uint8_t *dtb, uint64_t base, uint64_t size)
{
    mini_dtb_build_reserved(dtb, MINI_DTB_SIZE, base, size, NULL, 0);
}

#endif
