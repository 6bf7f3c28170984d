/* Just enough of the flattened device tree (Devicetree Specification v0.4, chapter 5)
 * to learn the RAM map, the CPUs and the reserved memory from the DTB the boot loader
 * passes in x0. The blob is input like any other: every offset, length and string is
 * checked against it, and a malformed one is refused (-1), never followed. */
#ifndef HVMON_FDT_H
#define HVMON_FDT_H

#include <stdint.h>

#define FDT_MAX_SIZE (2u << 20)   /* Linux's arm64 booting.rst limit; anything larger is refused */

struct mem_range {
    uint64_t base;
    uint64_t size;
};

/* Size of a valid DTB at dtb (header checked: magic, sizes, offsets), 0 when not valid. */
uint32_t fdt_valid_size(const void *dtb);

/* Fill out[] with the reg entries of the top-level memory nodes; returns how many
 * (at most max), or -1 when the blob is malformed. */
int fdt_memory_ranges(const void *dtb, struct mem_range *out, int max);

/* The reg (MPIDR affinity) of each /cpus/cpu@N node, in DTB order; how many (at most
 * max), or -1 when the blob is malformed. */
int fdt_cpu_ids(const void *dtb, uint64_t *out, int max);

enum fdt_reservation_kind {
    FDT_MEMRESERVE,     /* an entry of the header's memory reservation block (spec 5.3) */
    FDT_RESERVED_NODE,  /* a /reserved-memory child with reg (spec 3.5.2): one per reg entry */
    FDT_RESERVED_SIZE,  /* a /reserved-memory child with size but no reg: dynamic, not placed */
};

struct fdt_reservation {
    enum fdt_reservation_kind kind;
    uint64_t base, size;          /* base 0 for FDT_RESERVED_SIZE */
    int no_map;                   /* the child has the no-map property */
    const char *name;             /* the child's node name (in the blob), or "/memreserve/" */
};

typedef void (*fdt_reservation_fn)(void *ctx, const struct fdt_reservation *r);

/* Call fn for every /memreserve/ entry, then for every reservation of a /reserved-memory
 * child (reg read with /reserved-memory's #address-cells and #size-cells). Returns how
 * many calls were made, or -1 when the blob is malformed (some calls may have been made
 * by then). */
int fdt_reservations(const void *dtb, fdt_reservation_fn fn, void *ctx);

#endif
