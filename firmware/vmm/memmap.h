/* What the stub lets anyone touch: the RAM the DTB describes, minus what the stub
 * itself lives in. Every address from a person or the host goes through memmap_check. */
#ifndef HVMON_MEMMAP_H
#define HVMON_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fdt.h"

#define MEMMAP_MAX_RAM 8

enum mem_access { MEM_READ, MEM_WRITE, MEM_EXEC };

struct memmap {
    struct mem_range ram[MEMMAP_MAX_RAM];
    int ram_count;
    int ram_from_dtb;         /* 0: the board profile's fallback range */
    uint64_t stub_base, stub_end;
    uint64_t dtb, dtb_size;   /* the boot loader's DTB, kept for guests later */
    unsigned pa_bits;         /* physical addresses a VM's stage 2 can reach (below) */
};

void memmap_init(const void *dtb);
/* ID_AA64MMFR0_EL1.PARange as bits, capped at what VTCR_EL2.PS gives stage 2 (40). */
unsigned memmap_pa_bits(uint64_t id_aa64mmfr0);
const struct memmap *memmap_get(void);

/* 0 when [addr, addr+len) may be accessed that way; otherwise -1 and a one-line
 * reason in why. */
int memmap_check(uint64_t addr, uint64_t len, enum mem_access access, char *why, size_t why_size);

#endif
