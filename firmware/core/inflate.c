#include "inflate.h"

#define MAX_BITS 15
#define MAX_LITLEN 288
#define MAX_DIST 30

struct bit_reader {
    const uint8_t *src;
    size_t len, pos;
    uint32_t buf;       /* bits not yet used, least significant first (RFC 1951 3.1.1) */
    unsigned count;
};

/* Canonical Huffman code (RFC 1951 3.2.2) as counts per length and symbols in code order:
 * decoding walks the lengths, which needs no table larger than the alphabet. */
struct huffman {
    uint16_t count[MAX_BITS + 1];
    uint16_t symbol[MAX_LITLEN];
};

struct state {
    struct bit_reader in;
    uint8_t *out;
    size_t cap, pos;
};

static int bits(struct bit_reader *b, unsigned n, uint32_t *value)
{
    while (b->count < n) {
        if (b->pos == b->len)
            return -1;
        b->buf |= (uint32_t)b->src[b->pos++] << b->count;
        b->count += 8;
    }
    *value = b->buf & ((1u << n) - 1);
    b->buf >>= n;
    b->count -= n;
    return 0;
}

/* Returns 0 for a complete code, > 0 for an incomplete one, < 0 when over-subscribed. */
static int build(struct huffman *h, const uint8_t *lengths, unsigned n)
{
    uint16_t offsets[MAX_BITS + 1];
    for (unsigned i = 0; i <= MAX_BITS; i++)
        h->count[i] = 0;
    for (unsigned s = 0; s < n; s++)
        h->count[lengths[s]]++;
    if (h->count[0] == n)
        return 0;                      /* no codes at all: only valid if never used */
    int left = 1;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0)
            return left;
    }
    offsets[1] = 0;
    for (unsigned len = 1; len < MAX_BITS; len++)
        offsets[len + 1] = (uint16_t)(offsets[len] + h->count[len]);
    for (unsigned s = 0; s < n; s++)
        if (lengths[s])
            h->symbol[offsets[lengths[s]]++] = (uint16_t)s;
    return left;
}

/* The next symbol, -1 if the input ran out, -2 for a code that is not in the table. */
static int decode(struct bit_reader *b, const struct huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        uint32_t bit;
        if (bits(b, 1, &bit) != 0)
            return -1;
        code |= (int)bit;
        int count = h->count[len];
        if (code - first < count)
            return h->symbol[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -2;
}

/* RFC 1951 3.2.5: base lengths and distances with their extra bits. */
static const uint16_t length_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                         35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                         3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                       257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                       8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                       7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static enum inflate_status codes(struct state *s, const struct huffman *lit, const struct huffman *dist)
{
    for (;;) {
        int sym = decode(&s->in, lit);
        if (sym == -1)
            return INFLATE_TRUNCATED;
        if (sym < 0)
            return INFLATE_BAD_DATA;
        if (sym < 256) {
            if (s->pos == s->cap)
                return INFLATE_OUTPUT_FULL;
            s->out[s->pos++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256)
            return INFLATE_OK;
        sym -= 257;
        if (sym >= 29)
            return INFLATE_BAD_DATA;
        uint32_t extra;
        if (bits(&s->in, length_extra[sym], &extra) != 0)
            return INFLATE_TRUNCATED;
        size_t len = length_base[sym] + extra;
        int dsym = decode(&s->in, dist);
        if (dsym == -1)
            return INFLATE_TRUNCATED;
        if (dsym < 0 || dsym >= 30)
            return INFLATE_BAD_DATA;
        if (bits(&s->in, dist_extra[dsym], &extra) != 0)
            return INFLATE_TRUNCATED;
        size_t distance = dist_base[dsym] + extra;
        if (distance > s->pos)
            return INFLATE_BAD_DATA;    /* before the start of the output */
        if (len > s->cap - s->pos)
            return INFLATE_OUTPUT_FULL;
        for (size_t i = 0; i < len; i++, s->pos++)   /* may overlap itself: byte by byte */
            s->out[s->pos] = s->out[s->pos - distance];
    }
}

static enum inflate_status stored(struct state *s)
{
    s->in.buf = 0;                      /* RFC 1951 3.2.4: skip to a byte boundary */
    s->in.count = 0;
    if (s->in.len - s->in.pos < 4)
        return INFLATE_TRUNCATED;
    const uint8_t *p = s->in.src + s->in.pos;
    unsigned len = p[0] | (unsigned)p[1] << 8, nlen = p[2] | (unsigned)p[3] << 8;
    if (len != (~nlen & 0xFFFF))
        return INFLATE_BAD_DATA;
    s->in.pos += 4;
    if (s->in.len - s->in.pos < len)
        return INFLATE_TRUNCATED;
    if (s->cap - s->pos < len)
        return INFLATE_OUTPUT_FULL;
    for (unsigned i = 0; i < len; i++)
        s->out[s->pos++] = s->in.src[s->in.pos++];
    return INFLATE_OK;
}

static enum inflate_status fixed(struct state *s)
{
    uint8_t lengths[MAX_LITLEN];
    struct huffman lit, dist;
    unsigned i = 0;
    for (; i < 144; i++) lengths[i] = 8;      /* RFC 1951 3.2.6 */
    for (; i < 256; i++) lengths[i] = 9;
    for (; i < 280; i++) lengths[i] = 7;
    for (; i < MAX_LITLEN; i++) lengths[i] = 8;
    build(&lit, lengths, MAX_LITLEN);
    for (i = 0; i < MAX_DIST; i++)
        lengths[i] = 5;
    build(&dist, lengths, MAX_DIST);
    return codes(s, &lit, &dist);
}

static enum inflate_status dynamic(struct state *s)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint8_t lengths[MAX_LITLEN + MAX_DIST];
    struct huffman lencode, lit, dist;
    uint32_t hlit, hdist, hclen, v;
    if (bits(&s->in, 5, &hlit) || bits(&s->in, 5, &hdist) || bits(&s->in, 4, &hclen))
        return INFLATE_TRUNCATED;
    hlit += 257;
    hdist += 1;
    hclen += 4;
    if (hlit > 286 || hdist > MAX_DIST)
        return INFLATE_BAD_DATA;
    for (unsigned i = 0; i < 19; i++) {
        v = 0;
        if (i < hclen && bits(&s->in, 3, &v))
            return INFLATE_TRUNCATED;
        lengths[order[i]] = (uint8_t)v;
    }
    if (build(&lencode, lengths, 19) != 0)
        return INFLATE_BAD_DATA;        /* the code-length code must be complete */
    for (unsigned i = 0; i < hlit + hdist;) {
        int sym = decode(&s->in, &lencode);
        if (sym == -1)
            return INFLATE_TRUNCATED;
        if (sym < 0)
            return INFLATE_BAD_DATA;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        uint8_t repeat_value = 0;
        unsigned repeat;
        if (sym == 16) {
            if (i == 0)
                return INFLATE_BAD_DATA;
            repeat_value = lengths[i - 1];
            if (bits(&s->in, 2, &v))
                return INFLATE_TRUNCATED;
            repeat = 3 + v;
        } else if (sym == 17) {
            if (bits(&s->in, 3, &v))
                return INFLATE_TRUNCATED;
            repeat = 3 + v;
        } else {
            if (bits(&s->in, 7, &v))
                return INFLATE_TRUNCATED;
            repeat = 11 + v;
        }
        if (i + repeat > hlit + hdist)
            return INFLATE_BAD_DATA;
        while (repeat--)
            lengths[i++] = repeat_value;
    }
    if (lengths[256] == 0)
        return INFLATE_BAD_DATA;        /* no end-of-block code */
    int left = build(&lit, lengths, hlit);
    if (left < 0 || (left > 0 && hlit - lit.count[0] != 1))
        return INFLATE_BAD_DATA;        /* only a single-code alphabet may be incomplete */
    left = build(&dist, lengths + hlit, hdist);
    if (left < 0 || (left > 0 && hdist - dist.count[0] != 1))
        return INFLATE_BAD_DATA;
    return codes(s, &lit, &dist);
}

enum inflate_status inflate_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap,
                                size_t *out_len)
{
    struct state s = {{src, src_len, 0, 0, 0}, dst, dst_cap, 0};
    enum inflate_status status;
    uint32_t last, type;
    do {
        if (bits(&s.in, 1, &last) || bits(&s.in, 2, &type)) {
            status = INFLATE_TRUNCATED;
            break;
        }
        if (type == 0)
            status = stored(&s);
        else if (type == 1)
            status = fixed(&s);
        else if (type == 2)
            status = dynamic(&s);
        else
            status = INFLATE_BAD_DATA;
    } while (status == INFLATE_OK && !last);
    *out_len = s.pos;
    return status;
}
