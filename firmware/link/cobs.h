/* Consistent Overhead Byte Stuffing (Cheshire and Baker, IEEE/ACM ToN 1999): frames
 * contain no 0x00, so 0x00 delimits them and a receiver resynchronises at the next one. */
#ifndef HVMON_COBS_H
#define HVMON_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Encode src into dst (room for len + len / 254 + 1 bytes); returns the encoded length. */
size_t cobs_encode(const uint8_t *src, size_t len, uint8_t *dst);

/* Streaming decoder: feed encoded bytes (not the 0x00 delimiter) one at a time. */
struct cobs_decoder {
    uint8_t *out;
    size_t cap, len;
    unsigned left;       /* bytes left in the current block */
    int zero_pending;    /* a block shorter than 254 bytes ends in an implied 0x00 */
    int overflow;
};

void cobs_decoder_start(struct cobs_decoder *d, uint8_t *out, size_t cap);
void cobs_decoder_byte(struct cobs_decoder *d, uint8_t b);
/* At the delimiter: the decoded length, or -1 when the frame was malformed or too long. */
long cobs_decoder_finish(struct cobs_decoder *d);

#endif
