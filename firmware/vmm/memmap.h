/* What the stub lets anyone touch: the RAM the DTB describes, minus what the stub
 * itself lives in and what the boot DTB reserves (/memreserve/ and /reserved-memory:
 * TF-A's BL31, OP-TEE, ramoops). Every address from a person, the host or a VM's RAM
 * region goes through memmap_check. */
#ifndef HVMON_MEMMAP_H
#define HVMON_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fdt.h"
#include "protocol.h"

#define MEMMAP_MAX_RAM 8
#define MEMMAP_MAX_RESERVED ((int)LIMIT_MAX_RESERVED)

/* A range the boot DTB reserves. flags: RESERVED_* (protocol/hvmon.toml); a DYNAMIC one
 * (size but no reg) is listed but reserves nothing: see memmap.c. */
struct mem_reserved {
    uint64_t base, size;
    uint32_t flags;
    char name[LIMIT_RESERVED_NAME];   /* the node's name, or "/memreserve/"; NUL-terminated */
};

enum mem_access { MEM_READ, MEM_WRITE, MEM_EXEC };

struct memmap {
    struct mem_range ram[MEMMAP_MAX_RAM];
    int ram_count;
    int ram_from_dtb;         /* 0: the board profile's fallback range */
    uint64_t stub_base, stub_end;
    uint64_t dtb, dtb_size;   /* the boot loader's DTB, kept for guests later */
    unsigned pa_bits;         /* physical addresses a VM's stage 2 can reach (below) */
    struct mem_reserved reserved[MEMMAP_MAX_RESERVED];
    int reserved_count;
};

void memmap_init(const void *dtb);
/* ID_AA64MMFR0_EL1.PARange as bits, capped at what VTCR_EL2.PS gives stage 2 (40). */
unsigned memmap_pa_bits(uint64_t id_aa64mmfr0);
const struct memmap *memmap_get(void);

/* 0 when [addr, addr+len) may be accessed that way; otherwise -1 and a one-line
 * reason in why (naming the reserved node, when that is what is in the way). */
int memmap_check(uint64_t addr, uint64_t len, enum mem_access access, char *why, size_t why_size);

/* 0 when [addr, addr+len) touches no reserved range (for device passthrough, which may
 * lie outside RAM); otherwise -1 and the reason. */
int memmap_check_reserved(uint64_t addr, uint64_t len, char *why, size_t why_size);

/* "/reserved-memory/NAME" or "/memreserve/": how refusals and `info` name a range. */
void memmap_reserved_path(const struct mem_reserved *r, char *out, size_t size);

#endif
