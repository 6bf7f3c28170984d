#include "inflate.h"
#include "deflate_tables.h"

/* Section numbers below are RFC 1951's. */

#define MAX_CODE_BITS 15        /* 3.2.7: code lengths are 0..15 */
#define NUM_LITLEN 288          /* 3.2.6: the fixed code assigns 288; 286 and 287 never occur */
#define NUM_DIST 32             /* 3.2.6: likewise 32 distance codes, of which 30 and 31 never occur */
#define NUM_CODELEN 19          /* 3.2.7 */

/* Codes up to this many bits decode with one table lookup; longer ones take the slow walk.
 * 9 bits keeps all of the decoder's state near 3 KiB of stack while covering nearly every
 * literal/length code a real encoder emits; distance codes are fewer and shorter. */
#define LITLEN_FAST_BITS 9
#define DIST_FAST_BITS 8

/* Fast-table entry: symbol << 4 | code length. Length 0 means "not resolved by the table":
 * a code longer than the table, or a bit string that is no code at all. */
#define ENTRY_LEN(e) ((e) & 15u)
#define ENTRY_SYM(e) ((e) >> 4)

/* Negative decode results. */
#define NEED_INPUT (-1)
#define NOT_A_CODE (-2)

struct bitin {
    const uint8_t *src;
    size_t len, pos;
    uint64_t buf;       /* next bit in bit 0: 3.1.1 packs data elements from the LSB */
    unsigned count;     /* real input bits in buf; the bits above them are zero */
};

struct output {
    uint8_t *buf;
    size_t cap, pos;
    size_t history;         /* readable bytes before buf (a preset dictionary) */
    void (*every_4k)(void);
};

#define POLL_BYTES 4096

/* A canonical Huffman code (3.2.2). The canonical form gives a code of each length as a
 * run of consecutive values, so first/count/index locate any symbol from its code value,
 * and the fast table is a cache of that for the short codes. */
struct huffman {
    uint16_t count[MAX_CODE_BITS + 1];   /* codes of each length */
    uint16_t first[MAX_CODE_BITS + 1];   /* smallest code value of each length (3.2.2 next_code) */
    uint16_t index[MAX_CODE_BITS + 1];   /* where that length's symbols begin in sorted[] */
    uint16_t *sorted;                    /* symbols ordered by (length, symbol value) */
    uint16_t *fast;                      /* 1 << fast_bits entries, indexed by the next input bits */
    unsigned fast_bits;
};


/* Tops buf up to at least 57 bits while input lasts: enough for a whole length/distance
 * pair (15 + 5 + 15 + 13 bits) or a dynamic header's 19 code-length lengths (57 bits).
 * Byte loads only: with the EL2 MMU off memory is Device memory, which faults on
 * unaligned wider loads, and src need not be aligned. */
static inline void refill(struct bitin *in)
{
    while (in->count <= 56 && in->pos < in->len) {
        in->buf |= (uint64_t)in->src[in->pos++] << in->count;
        in->count += 8;
    }
}

/* The caller has checked n <= in->count. */
static inline uint32_t take(struct bitin *in, unsigned n)
{
    uint32_t v = (uint32_t)(in->buf & (((uint64_t)1 << n) - 1));
    in->buf >>= n;
    in->count -= n;
    return v;
}

/* Codes the fast table does not resolve. Huffman codes are packed starting from their most
 * significant bit (3.1.1), so the code value grows one input bit at a time; at each length
 * the canonical run tells whether it is complete. Running out of real bits before a code
 * completes is truncation; 15 bits that complete nothing are bad data. */
static int decode_slow(uint64_t buf, unsigned avail, const struct huffman *h)
{
    unsigned code = 0;
    for (unsigned len = 1; len <= MAX_CODE_BITS; len++) {
        if (len > avail)
            return NEED_INPUT;
        code = code << 1 | (unsigned)(buf >> (len - 1) & 1);
        unsigned offset = code - h->first[len];     /* wraps high when code < first */
        if (offset < h->count[len])
            return (int)((unsigned)h->sorted[h->index[len] + offset] << 4 | len);
    }
    return NOT_A_CODE;
}

/* The next symbol, NEED_INPUT or NOT_A_CODE. */
static inline int decode(struct bitin *in, const struct huffman *h, const uint16_t *fast,
                         uint32_t mask)
{
    int e = fast[in->buf & mask];
    if (ENTRY_LEN(e) == 0) {
        e = decode_slow(in->buf, in->count, h);
        if (e < 0)
            return e;
    }
    unsigned len = ENTRY_LEN(e);
    if (len > in->count)     /* the table matched zero padding above the real bits */
        return NEED_INPUT;
    in->buf >>= len;
    in->count -= len;
    return (int)ENTRY_SYM(e);
}

static unsigned reverse_bits(unsigned code, unsigned len)
{
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++, code >>= 1)
        r = r << 1 | (code & 1);
    return r;
}

/* Builds h from per-symbol code lengths as in 3.2.2. Returns 0, or -1 when the lengths are
 * over-subscribed (no prefix code has them) or incomplete. Incomplete is accepted for
 * fewer than two codes: 3.2.7 allows a single distance code (and zero of them), and the
 * unused bit strings then decode as NOT_A_CODE. */
static int build(struct huffman *h, const uint8_t *lengths, unsigned n)
{
    uint16_t next[MAX_CODE_BITS + 1];
    unsigned len, codes = 0;
    int left = 1;

    for (len = 0; len <= MAX_CODE_BITS; len++)
        h->count[len] = 0;
    for (unsigned s = 0; s < n; s++)
        h->count[lengths[s]]++;
    for (len = 1; len <= MAX_CODE_BITS; len++) {
        left = 2 * left - h->count[len];     /* bit strings of this length still free */
        if (left < 0)
            return -1;
        codes += h->count[len];
    }
    if (left > 0 && codes > 1)
        return -1;

    unsigned code = 0, index = 0, prev_count = 0;
    for (len = 1; len <= MAX_CODE_BITS; len++) {
        code = (code + prev_count) << 1;
        prev_count = h->count[len];
        h->first[len] = next[len] = (uint16_t)code;
        h->index[len] = (uint16_t)index;
        index += prev_count;
    }

    unsigned size = 1u << h->fast_bits;
    for (unsigned i = 0; i < size; i++)
        h->fast[i] = 0;
    for (unsigned s = 0; s < n; s++) {
        len = lengths[s];
        if (len == 0)
            continue;
        unsigned c = next[len]++;
        h->sorted[h->index[len] + c - h->first[len]] = (uint16_t)s;
        if (len > h->fast_bits)
            continue;
        /* Every table index whose low len bits are this code, first bit lowest. */
        for (unsigned i = reverse_bits(c, len); i < size; i += 1u << len)
            h->fast[i] = (uint16_t)(s << 4 | len);
    }
    return 0;
}

/* 3.2.5 and 3.2.3: literal and length/distance symbols until end-of-block. The bit reader
 * and output position live in locals for the loop: every output byte store could alias
 * the structs (uint8_t aliases anything), which would force them through memory. */
static enum inflate_status codes(struct bitin *bits, struct output *o, const struct huffman *lit,
                                 const struct huffman *dist)
{
    struct bitin in = *bits;
    uint8_t *out = o->buf;
    size_t cap = o->cap, pos = o->pos, history = o->history;
    const uint16_t *lfast = lit->fast, *dfast = dist->fast;
    uint32_t lmask = (1u << lit->fast_bits) - 1, dmask = (1u << dist->fast_bits) - 1;
    enum inflate_status status;
    size_t next_poll = o->every_4k ? pos + POLL_BYTES : (size_t)-1;

    for (;;) {
        if (pos >= next_poll) {
            o->every_4k();
            next_poll = pos + POLL_BYTES;
        }
        refill(&in);
        int sym = decode(&in, lit, lfast, lmask);
        if (sym < 256) {
            if (sym < 0) {
                status = sym == NEED_INPUT ? INFLATE_TRUNCATED : INFLATE_BAD_DATA;
                break;
            }
            if (pos == cap) {
                status = INFLATE_OUTPUT_FULL;
                break;
            }
            out[pos++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256) {
            status = INFLATE_OK;
            break;
        }
        sym -= 257;
        if (sym >= 29) {
            status = INFLATE_BAD_DATA;
            break;
        }
        unsigned extra = length_extra[sym];
        if (extra > in.count) {
            status = INFLATE_TRUNCATED;
            break;
        }
        size_t length = length_base[sym] + take(&in, extra);

        /* No refill needed: at most 20 of the 57 bits are used so far. */
        int dsym = decode(&in, dist, dfast, dmask);
        if (dsym < 0 || dsym >= 30) {
            status = dsym == NEED_INPUT ? INFLATE_TRUNCATED : INFLATE_BAD_DATA;
            break;
        }
        extra = dist_extra[dsym];
        if (extra > in.count) {
            status = INFLATE_TRUNCATED;
            break;
        }
        size_t distance = dist_base[dsym] + take(&in, extra);
        if (distance > pos + history) { /* the window is dst and the history before it */
            status = INFLATE_BAD_DATA;
            break;
        }
        if (length > cap - pos) {
            status = INFLATE_OUTPUT_FULL;
            break;
        }
        /* Forward, byte by byte: a distance shorter than the length repeats bytes this
         * same copy writes (3.2.3). */
        const uint8_t *from = out + pos - distance;
        uint8_t *to = out + pos;
        for (size_t i = 0; i < length; i++)
            to[i] = from[i];
        pos += length;
    }
    *bits = in;
    o->pos = pos;
    return status;
}

/* 3.2.4: a stored block starts at the next byte boundary with LEN and its complement NLEN. */
static enum inflate_status stored(struct bitin *in, struct output *o)
{
    /* Past the partial byte, buf holds whole bytes read ahead: hand them back to src. */
    in->pos -= in->count >> 3;
    in->buf = 0;
    in->count = 0;
    if (in->len - in->pos < 4)
        return INFLATE_TRUNCATED;
    const uint8_t *p = in->src + in->pos;
    size_t len = p[0] | (size_t)p[1] << 8, nlen = p[2] | (size_t)p[3] << 8;
    if (len != (~nlen & 0xFFFF))
        return INFLATE_BAD_DATA;
    in->pos += 4;
    if (in->len - in->pos < len)
        return INFLATE_TRUNCATED;
    if (o->cap - o->pos < len)
        return INFLATE_OUTPUT_FULL;
    const uint8_t *from = in->src + in->pos;
    uint8_t *to = o->buf + o->pos;
    for (size_t i = 0; i < len; i++)
        to[i] = from[i];
    in->pos += len;
    o->pos += len;
    return INFLATE_OK;
}

/* 3.2.6 */
static void build_fixed(struct huffman *lit, struct huffman *dist)
{
    uint8_t lengths[NUM_LITLEN];
    unsigned s = 0;
    for (; s < 144; s++)
        lengths[s] = 8;
    for (; s < 256; s++)
        lengths[s] = 9;
    for (; s < 280; s++)
        lengths[s] = 7;
    for (; s < NUM_LITLEN; s++)
        lengths[s] = 8;
    build(lit, lengths, NUM_LITLEN);
    /* All 32 five-bit codes, so the table is complete; codes() rejects 30 and 31. */
    for (s = 0; s < NUM_DIST; s++)
        lengths[s] = 5;
    build(dist, lengths, NUM_DIST);
}

/* 3.2.7: the header of a dynamic block. dist doubles as the code-length code's table,
 * which is no longer needed once the real distance code is built into it. */
static enum inflate_status dynamic(struct bitin *in, struct huffman *lit, struct huffman *dist)
{
    static const uint8_t order[NUM_CODELEN] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                               11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint8_t lengths[286 + 30];

    refill(in);
    if (in->count < 14)
        return INFLATE_TRUNCATED;
    unsigned hlit = take(in, 5) + 257, hdist = take(in, 5) + 1, hclen = take(in, 4) + 4;
    if (hlit > 286 || hdist > 30)
        return INFLATE_BAD_DATA;

    refill(in);
    if (in->count < 3 * hclen)
        return INFLATE_TRUNCATED;
    for (unsigned i = 0; i < NUM_CODELEN; i++)
        lengths[order[i]] = i < hclen ? (uint8_t)take(in, 3) : 0;
    if (build(dist, lengths, NUM_CODELEN) != 0)
        return INFLATE_BAD_DATA;

    const uint32_t mask = (1u << dist->fast_bits) - 1;
    unsigned total = hlit + hdist;
    for (unsigned i = 0; i < total;) {
        refill(in);
        int sym = decode(in, dist, dist->fast, mask);
        if (sym < 0)
            return sym == NEED_INPUT ? INFLATE_TRUNCATED : INFLATE_BAD_DATA;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        /* 16 repeats the previous length 3..6 times, 17 and 18 give runs of zeros. */
        unsigned nbits = sym == 16 ? 2 : sym == 17 ? 3 : 7;
        unsigned base = sym == 18 ? 11 : 3;
        if (nbits > in->count)
            return INFLATE_TRUNCATED;
        unsigned repeat = base + take(in, nbits);
        uint8_t value = 0;
        if (sym == 16) {
            if (i == 0)
                return INFLATE_BAD_DATA;
            value = lengths[i - 1];
        }
        /* Runs may cross from the literal/length into the distance lengths, not past them. */
        if (repeat > total - i)
            return INFLATE_BAD_DATA;
        while (repeat--)
            lengths[i++] = value;
    }

    if (lengths[256] == 0)           /* a block that could never end */
        return INFLATE_BAD_DATA;
    if (build(lit, lengths, hlit) != 0 || build(dist, lengths + hlit, hdist) != 0)
        return INFLATE_BAD_DATA;
    return INFLATE_OK;
}

enum inflate_status inflate_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap,
                                size_t history, size_t *out_len, void (*every_4k)(void))
{
    uint16_t lit_fast[1u << LITLEN_FAST_BITS], lit_sorted[NUM_LITLEN];
    uint16_t dist_fast[1u << DIST_FAST_BITS], dist_sorted[NUM_DIST];
    struct huffman lit = {.sorted = lit_sorted, .fast = lit_fast, .fast_bits = LITLEN_FAST_BITS};
    struct huffman dist = {.sorted = dist_sorted, .fast = dist_fast, .fast_bits = DIST_FAST_BITS};
    struct bitin in = {.src = src, .len = src_len};
    struct output o = {.buf = dst, .cap = dst_cap, .history = history, .every_4k = every_4k};
    int tables_fixed = 0;           /* rebuilding the fixed code for every fixed block is waste */
    enum inflate_status status;
    unsigned final;

    do {
        refill(&in);
        if (in.count < 3) {
            status = INFLATE_TRUNCATED;
            break;
        }
        final = take(&in, 1);       /* 3.2.3: BFINAL, then BTYPE */
        switch (take(&in, 2)) {
        case 0:
            status = stored(&in, &o);
            break;
        case 1:
            if (!tables_fixed)
                build_fixed(&lit, &dist);
            tables_fixed = 1;
            status = codes(&in, &o, &lit, &dist);
            break;
        case 2:
            tables_fixed = 0;
            status = dynamic(&in, &lit, &dist);
            if (status == INFLATE_OK)
                status = codes(&in, &o, &lit, &dist);
            break;
        default:
            status = INFLATE_BAD_DATA;
            break;
        }
    } while (status == INFLATE_OK && !final);
    *out_len = o.pos;
    return status;
}
