/* Just enough of the flattened device tree (Devicetree Specification v0.4, chapter 5)
 * to learn the RAM map from the DTB the boot loader passes in x0. */
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

#endif
