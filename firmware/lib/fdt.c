#include "fdt.h"

#include "libc.h"

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1u
#define FDT_END_NODE    2u
#define FDT_PROP        3u
#define FDT_NOP         4u
#define FDT_END         9u

/* Header fields (spec 5.2): byte offsets. */
#define HDR_TOTALSIZE       4
#define HDR_OFF_STRUCT      8
#define HDR_OFF_STRINGS     12
#define HDR_OFF_MEM_RSVMAP  16
#define HDR_SIZE_STRINGS    32
#define HDR_SIZE_STRUCT     36

/* Nodes deeper than this are walked but not named; every question the stub asks is
 * about depth 3 at most (/reserved-memory/child, /cpus/cpu@N). */
#define WALK_DEPTH 8

/* With the EL2 MMU off every load is Device memory and must be aligned: read bytes. */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

uint32_t fdt_valid_size(const void *dtb)
{
    const uint8_t *h = dtb;
    if (dtb == NULL || ((uintptr_t)dtb & 7) != 0 || be32(h) != FDT_MAGIC)
        return 0;
    uint32_t total = be32(h + HDR_TOTALSIZE), off_struct = be32(h + HDR_OFF_STRUCT);
    uint32_t off_strings = be32(h + HDR_OFF_STRINGS);
    uint32_t size_strings = be32(h + HDR_SIZE_STRINGS), size_struct = be32(h + HDR_SIZE_STRUCT);
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

/* Where the walk is: the names of the nodes on the path and the #address-cells /
 * #size-cells each declared (spec 2.3.5: 2 and 1 when a node has none). */
struct walk {
    int depth;                              /* 1 = the root */
    const char *name[WALK_DEPTH + 1];
    uint32_t addr_cells[WALK_DEPTH + 1], size_cells[WALK_DEPTH + 1];
};

/* A property of the node at w->depth (name != NULL), or the end of that node (name
 * NULL). Returns 0 to go on, -1 when what it found is malformed. */
typedef int (*visit_fn)(void *ctx, const struct walk *w, const char *name,
                        const uint8_t *value, uint32_t len);

/* The string at off in the strings block, or NULL when it is not NUL-terminated inside
 * the block: a name is compared only once it is known to end in bounds. */
static const char *string_at(const char *strings, uint32_t size, uint32_t off)
{
    for (uint32_t i = off; i < size; i++)
        if (strings[i] == '\0')
            return strings + off;
    return NULL;
}

/* A cells property of any other length is ignored, as before: the nodes the stub reads
 * are then refused by cells_supported, the others do not matter. */
static void cells_value(const uint8_t *value, uint32_t len, uint32_t *out)
{
    if (len == 4)
        *out = be32(value);
}

/* One pass over the structure block (spec 5.4): every token, offset and length checked
 * against the block, which fdt_valid_size checked against the blob. */
static int walk(const void *dtb, visit_fn visit, void *ctx)
{
    uint32_t total = fdt_valid_size(dtb);
    if (total == 0)
        return -1;
    const uint8_t *base = dtb;
    const uint8_t *p = base + be32(base + HDR_OFF_STRUCT);
    const uint8_t *end = p + be32(base + HDR_SIZE_STRUCT);
    const char *strings = (const char *)base + be32(base + HDR_OFF_STRINGS);
    uint32_t strings_size = be32(base + HDR_SIZE_STRINGS);
    struct walk w = {0};

    while (end - p >= 4) {
        uint32_t token = be32(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            size_t len = 0;
            while (p + len < end && name[len])
                len++;
            if (p + len >= end)
                return -1;
            w.depth++;
            if (w.depth <= WALK_DEPTH) {
                w.name[w.depth] = name;
                w.addr_cells[w.depth] = 2;
                w.size_cells[w.depth] = 1;
            }
            size_t skip = (len + 4) & ~(size_t)3;
            if (skip > (size_t)(end - p))
                return -1;
            p += skip;
        } else if (token == FDT_END_NODE) {
            if (w.depth < 1)
                return -1;
            if (visit(ctx, &w, NULL, NULL, 0) != 0)
                return -1;
            w.depth--;
        } else if (token == FDT_PROP) {
            if (end - p < 8 || w.depth < 1)
                return -1;
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *value = p + 8;
            if (len > (uint32_t)(end - value))
                return -1;
            const char *pname = string_at(strings, strings_size, nameoff);
            if (pname == NULL)
                return -1;
            if (w.depth <= WALK_DEPTH) {
                if (strcmp(pname, "#address-cells") == 0)
                    cells_value(value, len, &w.addr_cells[w.depth]);
                else if (strcmp(pname, "#size-cells") == 0)
                    cells_value(value, len, &w.size_cells[w.depth]);
            }
            if (visit(ctx, &w, pname, value, len) != 0)
                return -1;
            uint32_t padded = (len + 3) & ~3u;
            if (padded > (uint32_t)(end - value))
                return -1;
            p = value + padded;
        } else if (token == FDT_NOP) {
            continue;
        } else if (token == FDT_END) {
            return w.depth == 0 ? 0 : -1;
        } else {
            return -1;
        }
    }
    return -1;
}

/* Does the node at this depth have this name, or this name and a unit address? */
static int node_is(const struct walk *w, int depth, const char *name)
{
    if (w->depth < depth || depth > WALK_DEPTH)
        return 0;
    size_t n = strlen(name);
    const char *have = w->name[depth];
    return strncmp(have, name, n) == 0 && (have[n] == '\0' || have[n] == '@');
}

static int cells_supported(uint32_t addr_cells, uint32_t size_cells)
{
    return addr_cells >= 1 && addr_cells <= 2 && size_cells >= 1 && size_cells <= 2;
}

/* --- /memory ------------------------------------------------------------------------ */

struct memory_query {
    struct mem_range *out;
    int max, count;
};

static int visit_memory(void *ctx, const struct walk *w, const char *name, const uint8_t *value,
                        uint32_t len)
{
    struct memory_query *q = ctx;
    if (name == NULL || w->depth != 2 || !node_is(w, 2, "memory") || strcmp(name, "reg") != 0)
        return 0;
    uint32_t ac = w->addr_cells[1], sc = w->size_cells[1];
    if (!cells_supported(ac, sc))
        return -1;
    uint32_t entry = 4 * (ac + sc);
    for (uint32_t off = 0; len - off >= entry && q->count < q->max; off += entry) {
        struct mem_range r = {read_cells(value + off, ac), read_cells(value + off + 4 * ac, sc)};
        if (r.size != 0)
            q->out[q->count++] = r;
    }
    return 0;
}

int fdt_memory_ranges(const void *dtb, struct mem_range *out, int max)
{
    struct memory_query q = {out, max, 0};
    return walk(dtb, visit_memory, &q) == 0 ? q.count : -1;
}

/* --- /cpus -------------------------------------------------------------------------- */

struct cpu_query {
    uint64_t *out;
    int max, count;
};

static int visit_cpu(void *ctx, const struct walk *w, const char *name, const uint8_t *value,
                     uint32_t len)
{
    struct cpu_query *q = ctx;
    if (name == NULL || w->depth != 3 || !node_is(w, 2, "cpus") ||
        strncmp(w->name[3], "cpu@", 4) != 0 || strcmp(name, "reg") != 0)
        return 0;
    uint32_t cells = w->addr_cells[2];
    if (cells < 1 || cells > 2 || len < 4 * cells)
        return -1;
    if (q->count < q->max)
        q->out[q->count++] = read_cells(value, cells);
    return 0;
}

int fdt_cpu_ids(const void *dtb, uint64_t *out, int max)
{
    struct cpu_query q = {out, max, 0};
    return walk(dtb, visit_cpu, &q) == 0 ? q.count : -1;
}

/* --- /memreserve/ and /reserved-memory ---------------------------------------------- */

struct reservation_query {
    fdt_reservation_fn fn;
    void *ctx;
    int count;
    /* The /reserved-memory child being walked: its properties may come in any order. */
    const uint8_t *reg, *size;
    uint32_t reg_len, size_len;
    int no_map;
};

static void report(struct reservation_query *q, enum fdt_reservation_kind kind, uint64_t base,
                   uint64_t size, int no_map, const char *name)
{
    struct fdt_reservation r = {kind, base, size, no_map, name};
    q->fn(q->ctx, &r);
    q->count++;
}

/* At the end of a child: one reservation per reg entry, or the dynamic one. */
static int reserved_child_done(struct reservation_query *q, const struct walk *w)
{
    uint32_t ac = w->addr_cells[2], sc = w->size_cells[2];
    if ((q->reg || q->size) && !cells_supported(ac, sc))
        return -1;
    if (q->reg) {
        uint32_t entry = 4 * (ac + sc);
        if (q->reg_len == 0 || q->reg_len % entry != 0)
            return -1;
        for (uint32_t off = 0; off < q->reg_len; off += entry) {
            uint64_t base = read_cells(q->reg + off, ac), size = read_cells(q->reg + off + 4 * ac, sc);
            if (size != 0)
                report(q, FDT_RESERVED_NODE, base, size, q->no_map, w->name[3]);
        }
    } else if (q->size) {
        if (q->size_len != 4 * sc)
            return -1;
        report(q, FDT_RESERVED_SIZE, 0, read_cells(q->size, sc), q->no_map, w->name[3]);
    }
    q->reg = q->size = NULL;
    q->no_map = 0;
    return 0;
}

static int visit_reserved(void *ctx, const struct walk *w, const char *name, const uint8_t *value,
                          uint32_t len)
{
    struct reservation_query *q = ctx;
    if (w->depth != 3 || strcmp(w->name[2], "reserved-memory") != 0)
        return 0;
    if (name == NULL)
        return reserved_child_done(q, w);
    if (strcmp(name, "reg") == 0) {
        q->reg = value;
        q->reg_len = len;
    } else if (strcmp(name, "size") == 0) {
        q->size = value;
        q->size_len = len;
    } else if (strcmp(name, "no-map") == 0) {
        q->no_map = 1;
    }
    return 0;
}

/* The memory reservation block (spec 5.3): (address u64, size u64) pairs up to one of
 * two zeros, all inside the blob. */
static int memreserve_entries(const void *dtb, struct reservation_query *q)
{
    const uint8_t *base = dtb;
    uint32_t total = fdt_valid_size(dtb);
    if (total == 0)
        return -1;
    for (uint32_t off = be32(base + HDR_OFF_MEM_RSVMAP);; off += 16) {
        if (off > total || total - off < 16)
            return -1;
        uint64_t addr = be64(base + off), size = be64(base + off + 8);
        if (addr == 0 && size == 0)
            return 0;
        if (size != 0)
            report(q, FDT_MEMRESERVE, addr, size, 0, "/memreserve/");
    }
}

int fdt_reservations(const void *dtb, fdt_reservation_fn fn, void *ctx)
{
    struct reservation_query q = {0};
    q.fn = fn;
    q.ctx = ctx;
    if (memreserve_entries(dtb, &q) != 0 || walk(dtb, visit_reserved, &q) != 0)
        return -1;
    return q.count;
}
