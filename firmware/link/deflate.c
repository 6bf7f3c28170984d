#include "deflate.h"
#include "deflate_tables.h"

/* Section numbers below are RFC 1951's.
 *
 * Fixed Huffman codes only (3.2.6), never dynamic ones (3.2.7): there is no symbol count,
 * no code-length computation and no code-length header, so the encoder is the match finder
 * plus a few shifts, and its memory is the two match tables below. The price, measured
 * with zlib at level 6 on the first 8 MiB of Debian's arm64 kernel Image in 4 KiB pieces,
 * each with the 32 KiB before it as history (MEM_READ_DEFLATE's use): fixed codes give
 * 0.547 of the input, dynamic ones 0.509, so about 7.5 % more bytes. This encoder (greedy
 * matching, no lazy evaluation) gives 0.571 on the same pieces. */

#define WINDOW 32768u               /* 3.2.5: the farthest distance */
#define WINDOW_MASK (WINDOW - 1)
#define MIN_MATCH 3u                /* 3.2.5: lengths 3..258 */
#define MAX_MATCH 258u
#define HASH_BITS 13u
#define HASH_SIZE (1u << HASH_BITS)
/* Candidates tried per position: more finds longer matches on code but costs the stub's
 * core time while the line waits; 32 keeps nearly all of the ratio of a deeper search. */
#define MAX_CHAIN 32u
/* A match this long is taken without looking at older candidates. */
#define GOOD_ENOUGH 64u
#define POLL_BYTES 4096u

/* Positions count from src - history and are stored plus one, so 0 means "none" and a
 * 16-bit entry reaches history + len <= 65535 (deflate.h's limits). head: the newest
 * position whose three bytes hash to an entry; prev: for a position (modulo the window),
 * the one before it with the same hash. Static: the stub has no heap, and a request's
 * compression must not eat its stack. */
static uint16_t head[HASH_SIZE];
static uint16_t prev[WINDOW];


struct bitout {
    uint8_t *dst;
    size_t cap, pos;
    uint64_t buf;       /* 3.1.1: data elements are packed from the byte's LSB */
    unsigned count;
    int full;           /* a byte did not fit: the coded block is no smaller than stored */
};

static void put_bits(struct bitout *o, uint32_t bits, unsigned n)
{
    o->buf |= (uint64_t)bits << o->count;
    o->count += n;
    while (o->count >= 8) {
        if (o->pos < o->cap)
            o->dst[o->pos++] = (uint8_t)o->buf;
        else
            o->full = 1;
        o->buf >>= 8;
        o->count -= 8;
    }
}

/* 3.1.1: Huffman codes are packed starting with their most significant bit. */
static void put_code(struct bitout *o, uint32_t code, unsigned n)
{
    uint32_t reversed = 0;
    for (unsigned i = 0; i < n; i++, code >>= 1)
        reversed = reversed << 1 | (code & 1);
    put_bits(o, reversed, n);
}

/* 3.2.6's fixed literal/length code. */
static void put_symbol(struct bitout *o, unsigned sym)
{
    if (sym < 144)
        put_code(o, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(o, 0x190 + (sym - 144), 9);
    else if (sym < 280)
        put_code(o, sym - 256, 7);
    else
        put_code(o, 0xC0 + (sym - 280), 8);
}

static void put_match(struct bitout *o, unsigned length, unsigned distance)
{
    unsigned l = 28;
    while (length_base[l] > length)
        l--;
    put_symbol(o, 257 + l);
    put_bits(o, length - length_base[l], length_extra[l]);
    unsigned d = 29;
    while (dist_base[d] > distance)
        d--;
    put_code(o, d, 5);                  /* 3.2.6: distance codes are fixed 5-bit values */
    put_bits(o, distance - dist_base[d], dist_extra[d]);
}

static unsigned hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void insert(const uint8_t *base, unsigned pos)
{
    unsigned h = hash3(base + pos);
    prev[pos & WINDOW_MASK] = head[h];
    head[h] = (uint16_t)(pos + 1);
}

/* The longest earlier match for base[pos..end), within the window; *distance is set when
 * the result is >= MIN_MATCH. */
static unsigned longest_match(const uint8_t *base, unsigned pos, unsigned end, unsigned *distance)
{
    unsigned limit = end - pos < MAX_MATCH ? end - pos : MAX_MATCH, best = 0;
    unsigned entry = head[hash3(base + pos)];
    for (unsigned tries = 0; entry && tries < MAX_CHAIN; tries++) {
        unsigned cand = entry - 1;
        /* Entries go back in time; one that does not was overwritten by a position a
         * window later (prev is indexed modulo the window): the chain ends there. */
        if (cand >= pos || pos - cand > WINDOW)
            break;
        if (base[cand + best] == base[pos + best]) {
            unsigned n = 0;
            while (n < limit && base[cand + n] == base[pos + n])
                n++;
            if (n > best) {
                best = n;
                *distance = pos - cand;
                if (n >= GOOD_ENOUGH || n == limit)
                    break;
            }
        }
        unsigned next = prev[cand & WINDOW_MASK];
        if (next == 0 || next - 1 >= cand)
            break;
        entry = next;
    }
    return best >= MIN_MATCH ? best : 0;
}

static size_t put_stored(const uint8_t *src, size_t len, uint8_t *dst)
{
    dst[0] = 1;                                     /* BFINAL 1, BTYPE 00 (3.2.3), padded */
    dst[1] = (uint8_t)len;                          /* 3.2.4: LEN, then NLEN, little-endian */
    dst[2] = (uint8_t)(len >> 8);
    dst[3] = (uint8_t)~len;
    dst[4] = (uint8_t)(~len >> 8);
    for (size_t i = 0; i < len; i++)
        dst[5 + i] = src[i];
    return len + 5;
}

size_t deflate_raw(const uint8_t *src, size_t len, size_t history, uint8_t *dst, size_t cap,
                   void (*every_4k)(void))
{
    if (len > DEFLATE_MAX_INPUT || history > DEFLATE_MAX_HISTORY || cap < DEFLATE_BOUND(len))
        return 0;
    const uint8_t *base = src - history;
    unsigned start = (unsigned)history, end = (unsigned)(history + len);
    for (unsigned i = 0; i < HASH_SIZE; i++)
        head[i] = 0;
    /* The history's last two positions hash bytes of src: still inside what may be read. */
    for (unsigned pos = 0; pos < start; pos++) {
        if (pos + MIN_MATCH <= end)
            insert(base, pos);
        if (every_4k && (pos + 1) % POLL_BYTES == 0)
            every_4k();
    }

    /* Coded output stops counting as useful once it reaches the stored size. */
    struct bitout o = {dst, DEFLATE_BOUND(len) - 1, 0, 0, 0, 0};
    put_bits(&o, 1 | 1u << 1, 3);                   /* BFINAL 1, BTYPE 01: fixed codes (3.2.3) */
    unsigned pos = start, next_poll = start + POLL_BYTES;
    while (pos < end && !o.full) {
        unsigned distance = 0, n = pos + MIN_MATCH <= end ? longest_match(base, pos, end, &distance) : 0;
        if (n) {
            put_match(&o, n, distance);
        } else {
            put_symbol(&o, base[pos]);
            n = 1;
        }
        for (unsigned k = 0; k < n; k++, pos++)
            if (pos + MIN_MATCH <= end)
                insert(base, pos);
        if (every_4k && pos >= next_poll) {
            every_4k();
            next_poll += POLL_BYTES;
        }
    }
    put_symbol(&o, 256);                            /* end of block */
    if (o.count)
        put_bits(&o, 0, 8 - o.count);
    if (o.full)
        return put_stored(src, len, dst);
    return o.pos;
}
