#include "fdt.h"

#include "libc.h"

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1u
#define FDT_END_NODE    2u
#define FDT_PROP        3u
#define FDT_NOP         4u
#define FDT_END         9u

/* With the EL2 MMU off every load is Device memory and must be aligned: read bytes. */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t fdt_valid_size(const void *dtb)
{
    const uint8_t *h = dtb;
    if (dtb == NULL || ((uintptr_t)dtb & 7) != 0 || be32(h) != FDT_MAGIC)
        return 0;
    uint32_t total = be32(h + 4), off_struct = be32(h + 8), off_strings = be32(h + 12);
    uint32_t size_strings = be32(h + 32), size_struct = be32(h + 36);
    if (total < 40 || total > FDT_MAX_SIZE)
        return 0;
    if (off_struct > total || size_struct > total - off_struct)
        return 0;
    if (off_strings > total || size_strings > total - off_strings)
        return 0;
    return total;
}

static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < cells; i++)
        v = v << 32 | be32(p + 4 * i);
    return v;
}

/* Walk the structure block. Collects memory reg entries (mode 0) or cpu reg values
 * (mode 1). */
static int walk(const void *dtb, int mode, struct mem_range *mem, uint64_t *cpus, int max);

int fdt_memory_ranges(const void *dtb, struct mem_range *out, int max)
{
    return walk(dtb, 0, out, NULL, max);
}

int fdt_cpu_ids(const void *dtb, uint64_t *out, int max)
{
    return walk(dtb, 1, NULL, out, max);
}

static int walk(const void *dtb, int mode, struct mem_range *out, uint64_t *cpus, int max)
{
    uint32_t total = fdt_valid_size(dtb);
    if (total == 0)
        return -1;
    const uint8_t *base = dtb;
    const uint8_t *p = base + be32(base + 8);
    const uint8_t *end = p + be32(base + 36);
    const char *strings = (const char *)base + be32(base + 12);
    uint32_t strings_size = be32(base + 32);
    uint32_t addr_cells = 2, size_cells = 1;   /* spec defaults for the root node */
    uint32_t cpu_addr_cells = 1;
    int depth = 0, in_memory = 0, in_cpus = 0, in_cpu = 0, count = 0;

    while (p + 4 <= end) {
        uint32_t token = be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            size_t len = 0;
            while (p + len < end && name[len])
                len++;
            if (p + len >= end)
                return -1;
            depth++;
            in_memory = depth == 2 && strncmp(name, "memory", 6) == 0 &&
                        (name[6] == '\0' || name[6] == '@');
            if (depth == 2)
                in_cpus = strcmp(name, "cpus") == 0;
            in_cpu = depth == 3 && in_cpus && strncmp(name, "cpu@", 4) == 0;
            p += (len + 4) & ~(size_t)3;
        } else if (token == FDT_END_NODE) {
            if (--depth < 0)
                return -1;
            in_memory = 0;
            in_cpu = 0;
            if (depth < 2)
                in_cpus = 0;
        } else if (token == FDT_PROP) {
            if (p + 8 > end)
                return -1;
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *value = p + 8;
            if (len > (uint32_t)(end - value) || nameoff >= strings_size)
                return -1;
            const char *pname = strings + nameoff;
            if (depth == 1 && len == 4 && strcmp(pname, "#address-cells") == 0)
                addr_cells = be32(value);
            else if (depth == 1 && len == 4 && strcmp(pname, "#size-cells") == 0)
                size_cells = be32(value);
            else if (depth == 2 && in_cpus && len == 4 && strcmp(pname, "#address-cells") == 0)
                cpu_addr_cells = be32(value);
            else if (mode == 1 && in_cpu && strcmp(pname, "reg") == 0) {
                if (cpu_addr_cells < 1 || cpu_addr_cells > 2 || len < 4 * cpu_addr_cells)
                    return -1;
                if (count < max)
                    cpus[count++] = read_cells(value, cpu_addr_cells);
            } else if (mode == 0 && in_memory && strcmp(pname, "reg") == 0) {
                if (addr_cells < 1 || addr_cells > 2 || size_cells < 1 || size_cells > 2)
                    return -1;
                uint32_t entry = 4 * (addr_cells + size_cells);
                for (uint32_t off = 0; off + entry <= len && count < max; off += entry) {
                    out[count].base = read_cells(value + off, addr_cells);
                    out[count].size = read_cells(value + off + 4 * addr_cells, size_cells);
                    if (out[count].size != 0)
                        count++;
                }
            }
            p = value + ((len + 3) & ~3u);
        } else if (token == FDT_NOP) {
            continue;
        } else if (token == FDT_END) {
            return count;
        } else {
            return -1;
        }
    }
    return -1;
}
