/* The smallest DTB memmap_init() accepts: a root node with #address-cells = #size-cells = 2
 * and one memory node, so the stub's engine built for the host (the fuzz harness and
 * bench/hoststub) takes its RAM map "from the DTB" as on a board. Layout: the devicetree
 * specification's flattened format (header, empty reservation map, structure, strings). */
#ifndef HVMON_MINI_DTB_H
#define HVMON_MINI_DTB_H

#include <stdint.h>
#include <string.h>

#define MINI_DTB_SIZE 512

static inline void mini_dtb_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* dtb: MINI_DTB_SIZE bytes, 8-byte aligned. */
static inline void mini_dtb_build(uint8_t *dtb, uint64_t base, uint64_t size)
{
    uint8_t *s = dtb + 64;
    uint32_t at = 0;
    memset(dtb, 0, MINI_DTB_SIZE);
#define W(v) (mini_dtb_be32(s + at, (v)), at += 4)
    W(1); W(0);                                        /* BEGIN_NODE "" */
    W(3); W(4); W(0); W(2);                            /* #address-cells = 2 */
    W(3); W(4); W(15); W(2);                           /* #size-cells = 2 */
    W(1); memcpy(s + at, "memory\0\0", 8); at += 8;    /* BEGIN_NODE "memory" */
    W(3); W(16); W(27);                                /* reg */
    W((uint32_t)(base >> 32)); W((uint32_t)base); W((uint32_t)(size >> 32)); W((uint32_t)size);
    W(2); W(2); W(9);                                  /* END_NODE x2, END */
#undef W
    const char strings[] = "#address-cells\0#size-cells\0reg";
    memcpy(s + at, strings, sizeof strings);
    mini_dtb_be32(dtb, 0xd00dfeed);
    mini_dtb_be32(dtb + 4, MINI_DTB_SIZE);
    mini_dtb_be32(dtb + 8, 64);                        /* off_dt_struct */
    mini_dtb_be32(dtb + 12, 64 + at);                  /* off_dt_strings */
    mini_dtb_be32(dtb + 16, 40);                       /* off_mem_rsvmap (empty, zeros) */
    mini_dtb_be32(dtb + 20, 17);                       /* version */
    mini_dtb_be32(dtb + 24, 16);                       /* last compatible version */
    mini_dtb_be32(dtb + 32, sizeof strings);
    mini_dtb_be32(dtb + 36, at);
}

#endif
