#include "cobs.h"

size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst)
{
    size_t out = 1, code_at = 0;
    uint8_t code = 1;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == 0) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
            continue;
        }
        dst[out++] = src[i];
        if (++code == 0xFF) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
        }
    }
    dst[code_at] = code;
    return out;
}

void cobs_decoder_start(struct cobs_decoder *d, uint8_t *out, size_t cap)
{
    d->out = out;
    d->cap = cap;
    d->len = 0;
    d->left = 0;
    d->zero_pending = 0;
    d->overflow = 0;
}

static void put(struct cobs_decoder *d, uint8_t b)
{
    if (d->len < d->cap)
        d->out[d->len++] = b;
    else
        d->overflow = 1;
}

void cobs_decoder_byte(struct cobs_decoder *d, uint8_t b)
{
    if (d->left == 0) {           /* b is a code byte */
        if (d->zero_pending)
            put(d, 0);
        d->left = b - 1u;
        d->zero_pending = b != 0xFF;
        return;
    }
    put(d, b);
    d->left--;
}

long cobs_decoder_finish(struct cobs_decoder *d)
{
    /* The last block's implied zero is not data; a block cut short is an error. */
    if (d->overflow || d->left != 0)
        return -1;
    return (long)d->len;
}
