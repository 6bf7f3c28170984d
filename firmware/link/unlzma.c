#include "unlzma.h"

/* Written from the format descriptions: the LZMA SDK's lzma-specification.txt (range
 * decoder, probability model, literal/match/rep coding) and the .xz file format's LZMA2
 * chunk layout. "spec" below means the former. */

/* Range decoder (spec: "The range decoder"). Probabilities are 11-bit, start at one half
 * and move by 1/32 of the distance to 0 or 1 after each bit. */
#define PROB_BITS 11
#define PROB_INIT (1u << (PROB_BITS - 1))
#define PROB_MOVE_BITS 5
#define RANGE_TOP (1u << 24)        /* below this the range takes in another input byte */
#define RC_INIT_BYTES 5             /* a zero byte, then the 32-bit code, big-endian */

/* The probability model (spec: "The LZMA Decoding"). */
#define NUM_STATES 12               /* the last-packets state machine */
#define LITERAL_STATES 7            /* states 0..6 follow a literal */
#define POS_STATES_MAX 16           /* 1 << pb, pb <= 4 */
#define LIT_CODER_SIZE 0x300        /* one literal coder: 8-bit tree + the matched-literal trees */
#define LC_LP_MAX 4                 /* LZMA2 (xz) refuses lc + lp > 4: at most 16 literal coders */
#define LEN_TO_DIST_STATES 4        /* match lengths 2, 3, 4 and 5+ pick a distance-slot tree */
#define DIST_SLOT_BITS 6
#define DIST_MODEL_END 14           /* slots from here on send their middle bits directly */
#define FULL_DISTANCES 128          /* 1 << (DIST_MODEL_END / 2) */
#define ALIGN_BITS 4
#define MATCH_LEN_MIN 2
#define LEN_LOW_BITS 3
#define LEN_MID_BITS 3
#define LEN_HIGH_BITS 8

/* LZMA2 control byte (xz file format, 5.3.1 LZMA2): 0x00 ends the stream; 0x01 and 0x02
 * are uncompressed chunks, with and without a dictionary reset; 0x80..0xff are LZMA
 * chunks whose bits 5-6 say what resets first: 0 nothing, 1 the state, 2 the state and new
 * properties (a byte after the header), 3 all that and the dictionary. Bits 0-4 are bits
 * 16-20 of the chunk's unpacked size - 1. */
#define CONTROL_STATE_RESET 0xa0    /* LZMA chunks from here on reset the state */
#define CONTROL_NEW_PROPS 0xc0      /* ... and carry a properties byte */
#define CONTROL_DICT_RESET 0xe0     /* ... and start a new dictionary */
#define CONTROL_LZMA 0x80
/* The decoder keeps the least LZMA control byte the next chunk may have: DICT_RESET before
 * any data (without history), NEW_PROPS until properties are known (and after 0x01), else
 * any LZMA chunk. */

#define POLL_BYTES 4096

struct len_probs {
    uint16_t choice, choice2;
    uint16_t low[POS_STATES_MAX][1 << LEN_LOW_BITS];
    uint16_t mid[POS_STATES_MAX][1 << LEN_MID_BITS];
    uint16_t high[1 << LEN_HIGH_BITS];
};

/* Every probability, all uint16_t, so a reset is one loop over the struct. Static: 28 KiB
 * is too much for the stub's stack, and lc + lp <= 4 keeps the size fixed. */
static struct probs {
    uint16_t is_match[NUM_STATES][POS_STATES_MAX];
    uint16_t is_rep[NUM_STATES], is_rep_g0[NUM_STATES], is_rep_g1[NUM_STATES], is_rep_g2[NUM_STATES];
    uint16_t is_rep0_long[NUM_STATES][POS_STATES_MAX];
    uint16_t dist_slot[LEN_TO_DIST_STATES][1 << DIST_SLOT_BITS];
    uint16_t dist_special[1 + FULL_DISTANCES - DIST_MODEL_END];
    uint16_t dist_align[1 << ALIGN_BITS];
    struct len_probs match_len, rep_len;
    uint16_t literal[1 << LC_LP_MAX][LIT_CODER_SIZE];
} probs;

struct rc {
    const uint8_t *in, *end;        /* this chunk's compressed bytes */
    uint32_t range, code;
    int overrun;                    /* wanted a byte past end: the chunk is corrupt */
};

/* The decoder's state across chunks. Positions count bytes of buf, which starts history
 * bytes before the output: dict_start is where the dictionary begins (0, or where a chunk
 * reset it), and pos - dict_start is the "position" the spec's pb and lp contexts use. */
struct lzma2 {
    uint8_t *buf;
    size_t pos, dict_start, end;    /* end: history + dst_cap */
    size_t next_poll;
    void (*every_4k)(void);
    unsigned lc, lp, pb;
    unsigned state;
    uint32_t rep[4];                /* the last four match distances, minus one */
};

static uint8_t rc_byte(struct rc *rc)
{
    if (rc->in == rc->end) {
        rc->overrun = 1;
        return 0;
    }
    return *rc->in++;
}

static void rc_normalize(struct rc *rc)
{
    if (rc->range < RANGE_TOP) {
        rc->range <<= 8;
        rc->code = (rc->code << 8) | rc_byte(rc);
    }
}

static unsigned rc_bit(struct rc *rc, uint16_t *prob)
{
    rc_normalize(rc);
    uint32_t bound = (rc->range >> PROB_BITS) * *prob;
    if (rc->code < bound) {
        rc->range = bound;
        *prob = (uint16_t)(*prob + (((1u << PROB_BITS) - *prob) >> PROB_MOVE_BITS));
        return 0;
    }
    rc->range -= bound;
    rc->code -= bound;
    *prob = (uint16_t)(*prob - (*prob >> PROB_MOVE_BITS));
    return 1;
}

/* Bits of equal probability (spec: "direct bits"), most significant first. */
static uint32_t rc_direct(struct rc *rc, unsigned count)
{
    uint32_t value = 0;
    while (count--) {
        rc_normalize(rc);
        rc->range >>= 1;
        unsigned bit = rc->code >= rc->range;
        if (bit)
            rc->code -= rc->range;
        value = (value << 1) | bit;
    }
    return value;
}

/* A bit tree of 1 << bits probabilities (index 0 unused), most significant bit first. */
static unsigned rc_tree(struct rc *rc, uint16_t *probs_, unsigned bits)
{
    unsigned m = 1;
    while (m < (1u << bits))
        m = (m << 1) | rc_bit(rc, &probs_[m]);
    return m - (1u << bits);
}

/* The same tree read least significant bit first (distance low bits). */
static unsigned rc_tree_reverse(struct rc *rc, uint16_t *probs_, unsigned bits)
{
    unsigned m = 1, value = 0;
    for (unsigned i = 0; i < bits; i++) {
        unsigned bit = rc_bit(rc, &probs_[m]);
        m = (m << 1) | bit;
        value |= bit << i;
    }
    return value;
}

static void reset_state(struct lzma2 *d)
{
    uint16_t *p = (uint16_t *)&probs;
    for (size_t i = 0; i < sizeof probs / sizeof *p; i++)
        p[i] = PROB_INIT;
    d->state = 0;
    d->rep[0] = d->rep[1] = d->rep[2] = d->rep[3] = 0;
}

static void poll_due(struct lzma2 *d)
{
    while (d->pos >= d->next_poll) {
        d->every_4k();
        d->next_poll += POLL_BYTES;
    }
}

/* Match length minus MATCH_LEN_MIN: 8 low, 8 mid or 256 high values (spec: "LenDecoder"). */
static unsigned decode_len(struct rc *rc, struct len_probs *l, unsigned pos_state)
{
    if (!rc_bit(rc, &l->choice))
        return rc_tree(rc, l->low[pos_state], LEN_LOW_BITS);
    if (!rc_bit(rc, &l->choice2))
        return (1u << LEN_LOW_BITS) + rc_tree(rc, l->mid[pos_state], LEN_MID_BITS);
    return (1u << LEN_LOW_BITS) + (1u << LEN_MID_BITS) + rc_tree(rc, l->high, LEN_HIGH_BITS);
}

/* A new match's distance minus one (spec: "DecodeDistance"): a 6-bit slot, whose low bit and
 * implied top bit start the distance; slots 4..13 code the rest with reverse trees, higher
 * slots send all but the low 4 bits directly and those through the align tree. */
static uint32_t decode_dist(struct rc *rc, unsigned len)
{
    unsigned slot = rc_tree(rc, probs.dist_slot[len < LEN_TO_DIST_STATES ? len : LEN_TO_DIST_STATES - 1],
                            DIST_SLOT_BITS);
    if (slot < 4)
        return slot;
    unsigned bits = (slot >> 1) - 1;
    uint32_t dist = (2u | (slot & 1)) << bits;
    if (slot < DIST_MODEL_END)
        return dist + rc_tree_reverse(rc, probs.dist_special + dist - slot, bits);
    dist += rc_direct(rc, bits - ALIGN_BITS) << ALIGN_BITS;
    return dist + rc_tree_reverse(rc, probs.dist_align, ALIGN_BITS);
}

/* rep0 + 1 bytes back must lie inside the dictionary: after dict_start, and so never
 * before the history the caller vouched for. */
static int dist_ok(const struct lzma2 *d)
{
    return (uint64_t)d->rep[0] + 1 <= d->pos - d->dict_start;
}

static void literal(struct lzma2 *d, struct rc *rc)
{
    size_t pos = d->pos - d->dict_start;
    unsigned prev = pos ? d->buf[d->pos - 1] : 0;
    unsigned coder = (unsigned)((pos & ((1u << d->lp) - 1)) << d->lc) + (prev >> (8 - d->lc));
    uint16_t *p = probs.literal[coder];
    unsigned symbol = 1;
    /* After a match the byte at rep0 steers the probabilities until a bit differs from it
     * (spec: "DecodeLiteral", the matched case). dist_ok holds: the match just checked it. */
    if (d->state >= LITERAL_STATES) {
        unsigned match = d->buf[d->pos - d->rep[0] - 1];
        do {
            unsigned match_bit = (match >> 7) & 1;
            match <<= 1;
            unsigned bit = rc_bit(rc, &p[((1 + match_bit) << 8) + symbol]);
            symbol = (symbol << 1) | bit;
            if (bit != match_bit)
                break;
        } while (symbol < 0x100);
    }
    while (symbol < 0x100)
        symbol = (symbol << 1) | rc_bit(rc, &p[symbol]);
    d->buf[d->pos++] = (uint8_t)symbol;
    d->state = d->state < 4 ? 0 : d->state < 10 ? d->state - 3 : d->state - 6;
}

/* Decodes one LZMA chunk of `unpacked` bytes whose range-coded data is exactly rc's input. */
static enum unlzma_status lzma_chunk(struct lzma2 *d, struct rc *rc, size_t unpacked)
{
    size_t stop = d->pos + unpacked;
    unsigned pb_mask = (1u << d->pb) - 1;
    while (d->pos < stop) {
        if (rc->overrun)
            return UNLZMA_BAD_DATA;
        poll_due(d);
        unsigned pos_state = (unsigned)(d->pos - d->dict_start) & pb_mask, s = d->state;
        if (!rc_bit(rc, &probs.is_match[s][pos_state])) {
            literal(d, rc);
            continue;
        }
        size_t len;
        if (!rc_bit(rc, &probs.is_rep[s])) {              /* a new distance */
            len = decode_len(rc, &probs.match_len, pos_state);
            d->rep[3] = d->rep[2];
            d->rep[2] = d->rep[1];
            d->rep[1] = d->rep[0];
            d->rep[0] = decode_dist(rc, (unsigned)len);
            d->state = s < LITERAL_STATES ? 7 : 10;
            len += MATCH_LEN_MIN;
        } else if (!rc_bit(rc, &probs.is_rep_g0[s])) {   /* rep0 again */
            if (!rc_bit(rc, &probs.is_rep0_long[s][pos_state])) {
                d->state = s < LITERAL_STATES ? 9 : 11;  /* "short rep": one byte */
                len = 1;
            } else {
                len = decode_len(rc, &probs.rep_len, pos_state) + MATCH_LEN_MIN;
                d->state = s < LITERAL_STATES ? 8 : 11;
            }
        } else {                                         /* rep1..3 moves to the front */
            uint32_t dist;
            if (!rc_bit(rc, &probs.is_rep_g1[s])) {
                dist = d->rep[1];
            } else {
                if (!rc_bit(rc, &probs.is_rep_g2[s])) {
                    dist = d->rep[2];
                } else {
                    dist = d->rep[3];
                    d->rep[3] = d->rep[2];
                }
                d->rep[2] = d->rep[1];
            }
            d->rep[1] = d->rep[0];
            d->rep[0] = dist;
            len = decode_len(rc, &probs.rep_len, pos_state) + MATCH_LEN_MIN;
            d->state = s < LITERAL_STATES ? 8 : 11;
        }
        /* A match reaching before the dictionary, or past the chunk (LZMA2 chunks end on
         * symbol boundaries), is corrupt. Distance 0xffffffff, LZMA's end marker, is
         * never allowed in LZMA2 and fails the first test. */
        if (rc->overrun || !dist_ok(d) || len > stop - d->pos)
            return UNLZMA_BAD_DATA;
        const uint8_t *from = d->buf + d->pos - d->rep[0] - 1;
        uint8_t *to = d->buf + d->pos;
        for (size_t i = 0; i < len; i++)                 /* overlapping copies repeat bytes */
            to[i] = from[i];
        d->pos += len;
    }
    /* The encoder flushes its range coder so that, after the last symbol's normalization,
     * every byte of the chunk is consumed and the code is zero. */
    rc_normalize(rc);
    if (rc->overrun || rc->in != rc->end || rc->code != 0)
        return UNLZMA_BAD_DATA;
    return UNLZMA_OK;
}

static enum unlzma_status uncompressed_chunk(struct lzma2 *d, const uint8_t *in, size_t size)
{
    while (size) {
        size_t n = size < POLL_BYTES ? size : POLL_BYTES;
        for (size_t i = 0; i < n; i++)
            d->buf[d->pos + i] = in[i];
        d->pos += n;
        in += n;
        size -= n;
        poll_due(d);
    }
    return UNLZMA_OK;
}

/* Parses one chunk header at src[*at] and decodes the chunk; *at moves past it. */
static enum unlzma_status chunk(struct lzma2 *d, const uint8_t *src, size_t src_len, size_t *at,
                                unsigned *need)
{
    const uint8_t *in = src + *at;
    size_t left = src_len - *at;
    unsigned control = in[0];
    if (control < 0x80) {                        /* 0x01 / 0x02: size - 1 (u16 BE), data */
        if (control > 2 || (control == 2 && *need == CONTROL_DICT_RESET))
            return UNLZMA_BAD_DATA;
        if (left < 3)
            return UNLZMA_TRUNCATED;
        size_t size = ((size_t)in[1] << 8 | in[2]) + 1;
        if (left - 3 < size)
            return UNLZMA_TRUNCATED;
        if (size > d->end - d->pos)
            return UNLZMA_OUTPUT_FULL;
        if (control == 1) {
            d->dict_start = d->pos;
            *need = CONTROL_NEW_PROPS;
        }
        *at += 3 + size;
        return uncompressed_chunk(d, in + 3, size);
    }
    /* LZMA chunk: control, unpacked size - 1 (u16 BE, bits 16-20 in control), packed size - 1
     * (u16 BE), then a properties byte if the chunk sets new ones. */
    if (control < *need)
        return UNLZMA_BAD_DATA;
    size_t header = control >= CONTROL_NEW_PROPS ? 6 : 5;
    if (left < header)
        return UNLZMA_TRUNCATED;
    size_t unpacked = ((size_t)(control & 0x1f) << 16 | (size_t)in[1] << 8 | in[2]) + 1;
    size_t packed = ((size_t)in[3] << 8 | in[4]) + 1;
    if (control >= CONTROL_NEW_PROPS) {
        unsigned props = in[5];                  /* (pb * 5 + lp) * 9 + lc */
        if (props >= 9 * 5 * 5)
            return UNLZMA_BAD_DATA;
        d->lc = props % 9;
        d->lp = props / 9 % 5;
        d->pb = props / 45;
        if (d->lc + d->lp > LC_LP_MAX)
            return UNLZMA_BAD_DATA;
    }
    if (left - header < packed)
        return UNLZMA_TRUNCATED;
    if (unpacked > d->end - d->pos)
        return UNLZMA_OUTPUT_FULL;
    if (control >= CONTROL_DICT_RESET)
        d->dict_start = d->pos;
    if (control >= CONTROL_STATE_RESET)
        reset_state(d);
    *need = CONTROL_LZMA;
    in += header;
    if (packed < RC_INIT_BYTES || in[0] != 0)    /* the range coder's first byte is always 0 */
        return UNLZMA_BAD_DATA;
    struct rc rc = {.in = in + RC_INIT_BYTES, .end = in + packed, .range = 0xffffffffu,
                    .code = (uint32_t)in[1] << 24 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 8 | in[4]};
    *at += header + packed;
    return lzma_chunk(d, &rc, unpacked);
}

static void no_poll(void) {}

enum unlzma_status unlzma2_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap,
                               size_t history, size_t *out_len, void (*every_4k)(void))
{
    struct lzma2 d = {.buf = dst - history, .pos = history, .end = history + dst_cap,
                      .next_poll = history + POLL_BYTES, .every_4k = every_4k ? every_4k : no_poll};
    /* With a preset dictionary the first chunk may use it straight away (xz's encoder then
     * starts with 0xc0: new properties and state, no dictionary reset). */
    unsigned need = history ? CONTROL_NEW_PROPS : CONTROL_DICT_RESET;
    size_t at = 0;
    enum unlzma_status status;
    for (;;) {
        if (at == src_len) {
            status = UNLZMA_TRUNCATED;
            break;
        }
        if (src[at] == 0x00) {                   /* end of stream: nothing may follow it */
            status = at + 1 == src_len ? UNLZMA_OK : UNLZMA_BAD_DATA;
            break;
        }
        status = chunk(&d, src, src_len, &at, &need);
        if (status != UNLZMA_OK)
            break;
    }
    *out_len = d.pos - history;
    return status;
}
