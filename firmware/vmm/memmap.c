#include "memmap.h"

#include "percpu.h"
#include "print.h"
#include "snapshot.h"
#include "stage2.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

extern char __image_start[], __image_end[];

static struct memmap map;

/* Physical cores from the DTB: percpus[0] is the boot core (this one), then the others in
 * DTB order; slots without a core get MPIDR ~0. */
static void cpus_init(const void *dtb)
{
    uint64_t ids[MAX_CPUS];
    int n = fdt_cpu_ids(dtb, ids, MAX_CPUS);
    uint64_t self = read_sysreg(mpidr_el1) & 0xFF00FFFFFFUL;
    unsigned next = 1;
    for (unsigned i = 1; i < MAX_CPUS; i++)
        percpus[i].mpidr = ~0UL;
    for (int i = 0; i < n && next < MAX_CPUS; i++)
        if (ids[i] != self)
            percpus[next++].mpidr = ids[i];
}

/* ID_AA64MMFR0_EL1.PARange, bits [3:0]: 0 32 bits, 1 36, 2 40, 3 42, 4 44, 5 48, 6 52
 * (Arm ARM D17.2.64). Stage 2 outputs at most S2_PA_BITS whatever the core has (VTCR_EL2.PS,
 * stage2.h); an unknown encoding is taken as the smallest. */
unsigned memmap_pa_bits(uint64_t id_aa64mmfr0)
{
    static const unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
    unsigned range = (unsigned)(id_aa64mmfr0 & 0xF);
    unsigned pa = range < sizeof bits / sizeof bits[0] ? bits[range] : 32;
    return pa < S2_PA_BITS ? pa : S2_PA_BITS;
}

static void copy_name(char *out, const char *name)
{
    size_t i = 0;
    for (; i + 1 < LIMIT_RESERVED_NAME && name[i]; i++)
        out[i] = name[i];
    out[i] = '\0';
}

/* One reservation of the boot DTB into the table. /memreserve/ entries and /reserved-memory
 * children with reg are kept out of every request, whether no-map or not: the stub maps
 * and hands out neither kind (no-map only tells an OS to keep the range out of its linear
 * map). A child with only size asks the OS booted with this DTB to allocate a pool for
 * itself (Linux's CMA): nobody has placed it and the stub allocates none, so it is listed
 * as DYNAMIC and reserves nothing. When the table is full, the last entry grows to cover
 * the new one too: more may be refused than was reserved, never less. */
static void add_reservation(void *ctx, const struct fdt_reservation *r)
{
    (void)ctx;
    uint32_t flags = (r->no_map ? RESERVED_NO_MAP : 0) |
                     (r->kind == FDT_MEMRESERVE ? RESERVED_MEMRESERVE : 0) |
                     (r->kind == FDT_RESERVED_SIZE ? RESERVED_DYNAMIC : 0);
    uint64_t end = r->base + r->size < r->base ? ~0UL : r->base + r->size;
    if (map.reserved_count < MEMMAP_MAX_RESERVED) {
        struct mem_reserved *m = &map.reserved[map.reserved_count++];
        m->base = r->base;
        m->size = end - r->base;
        m->flags = flags;
        copy_name(m->name, r->name);
        return;
    }
    if (flags & RESERVED_DYNAMIC)
        return;
    struct mem_reserved *last = &map.reserved[MEMMAP_MAX_RESERVED - 1];
    uint64_t low = last->base < r->base ? last->base : r->base;
    uint64_t high = last->base + last->size > end ? last->base + last->size : end;
    if (last->flags & RESERVED_DYNAMIC)
        low = r->base, high = end;
    last->base = low;
    last->size = high - low;
    last->flags = RESERVED_MERGED;
    copy_name(last->name, "(merged)");
}

/* A DTB whose /memreserve/ or /reserved-memory cannot be read may reserve anything: all
 * of RAM is then refused, and `info` says why. */
static void reserve_everything(void)
{
    map.reserved_count = 0;
    for (int i = 0; i < map.ram_count && i < MEMMAP_MAX_RESERVED; i++) {
        struct mem_reserved *m = &map.reserved[map.reserved_count++];
        m->base = map.ram[i].base;
        m->size = map.ram[i].size;
        m->flags = RESERVED_MERGED;
        copy_name(m->name, "(unreadable)");
    }
}

void memmap_init(const void *dtb)
{
    cpus_init(dtb);
    map.pa_bits = memmap_pa_bits(read_sysreg(id_aa64mmfr0_el1));
    map.stub_base = (uintptr_t)__image_start;
    map.stub_end = (uintptr_t)__image_end;
    map.reserved_count = 0;
    uint32_t dtb_size = fdt_valid_size(dtb);
    if (dtb_size != 0) {
        map.dtb = (uintptr_t)dtb;
        map.dtb_size = dtb_size;
        int n = fdt_memory_ranges(dtb, map.ram, MEMMAP_MAX_RAM);
        if (n > 0) {
            map.ram_count = n;
            map.ram_from_dtb = 1;
            if (fdt_reservations(dtb, add_reservation, NULL) < 0)
                reserve_everything();
            return;
        }
    }
    map.ram[0].base = BOARD_RAM_BASE;
    map.ram[0].size = BOARD_RAM_SIZE;
    map.ram_count = 1;
    map.ram_from_dtb = 0;
}

const struct memmap *memmap_get(void)
{
    return &map;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return blen != 0 && a < b + blen && b < a + alen;
}

int memmap_check(uint64_t addr, uint64_t len, enum mem_access access, char *why, size_t why_size)
{
    if (len == 0) {
        snprintf_(why, why_size, "empty range at 0x%lx", addr);
        return -1;
    }
    if (addr + len < addr) {
        snprintf_(why, why_size, "0x%lx+0x%lx wraps around the address space", addr, len);
        return -1;
    }
    const struct mem_range *ram = NULL;
    for (int i = 0; i < map.ram_count; i++)
        if (addr >= map.ram[i].base && addr - map.ram[i].base < map.ram[i].size)
            ram = &map.ram[i];
    if (ram == NULL) {
        snprintf_(why, why_size, "0x%lx is outside RAM", addr);
        return -1;
    }
    if (len > ram->base + ram->size - addr) {
        snprintf_(why, why_size, "0x%lx+0x%lx runs past the end of RAM at 0x%lx", addr, len,
                  ram->base + ram->size);
        return -1;
    }
    /* The boot DTB may be read even where a reservation covers it: U-Boot's `fdt resize`
     * adds a /memreserve/ entry for the DTB itself, and the host reads it to cut guests'
     * DTBs from. */
    int in_dtb = map.dtb_size != 0 && addr >= map.dtb && len <= map.dtb_size &&
                 addr - map.dtb <= map.dtb_size - len;
    if (!(access == MEM_READ && in_dtb) && memmap_check_reserved(addr, len, why, why_size) != 0)
        return -1;
    if (access == MEM_READ)
        return 0;
    if (overlaps(addr, len, map.stub_base, map.stub_end - map.stub_base)) {
        snprintf_(why, why_size, "0x%lx+0x%lx overlaps the stub (0x%lx-0x%lx)", addr, len,
                  map.stub_base, map.stub_end - 1);
        return -1;
    }
    if (overlaps(addr, len, map.dtb, map.dtb_size)) {
        snprintf_(why, why_size, "0x%lx+0x%lx overlaps the boot DTB (0x%lx-0x%lx)", addr, len,
                  map.dtb, map.dtb + map.dtb_size - 1);
        return -1;
    }
    /* A snapshot is the stub's until dropped; reads stay open for a host saving it. */
    const struct snapshot *s = snapshot_holding(addr, len);
    if (s) {
        snprintf_(why, why_size, "0x%lx+0x%lx overlaps snapshot %s of VM %u (0x%lx-0x%lx)", addr,
                  len, s->tag, s->vm, s->pa, s->pa + s->size - 1);
        return -1;
    }
    snapshot_note_write(addr, len);
    return 0;
}

void memmap_reserved_path(const struct mem_reserved *r, char *out, size_t size)
{
    if (r->flags & (RESERVED_MEMRESERVE | RESERVED_MERGED))
        snprintf_(out, size, "%s", r->name);
    else
        snprintf_(out, size, "/reserved-memory/%s", r->name);
}

int memmap_check_reserved(uint64_t addr, uint64_t len, char *why, size_t why_size)
{
    for (int i = 0; i < map.reserved_count; i++) {
        const struct mem_reserved *r = &map.reserved[i];
        if ((r->flags & RESERVED_DYNAMIC) || !overlaps(addr, len, r->base, r->size))
            continue;
        char path[LIMIT_RESERVED_NAME + 20];
        memmap_reserved_path(r, path, sizeof path);
        snprintf_(why, why_size, "0x%lx+0x%lx overlaps reserved memory %s (0x%lx-0x%lx)", addr,
                  len, path, r->base, r->base + r->size - 1);
        return -1;
    }
    return 0;
}
