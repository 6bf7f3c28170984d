/* A raw DEFLATE decoder (RFC 1951) for data the host compressed: the output buffer is the
 * final load address and doubles as the sliding window. It never reads outside src,
 * never writes outside dst, and ends on every input. */
#ifndef HVMON_INFLATE_H
#define HVMON_INFLATE_H

#include <stddef.h>
#include <stdint.h>

enum inflate_status {
    INFLATE_OK = 0,
    INFLATE_BAD_DATA = 1,
    INFLATE_TRUNCATED = 2,
    INFLATE_OUTPUT_FULL = 3,
};

/* The stream may refer back into the history bytes just before dst (a preset dictionary:
 * data already in place); the caller has checked they are there to read. every_4k, if not NULL, is called after each 4 KiB or so of output: the stub drains its
 * UART there, whose FIFO (64 bytes on RK3588, no flow control) would overflow during a
 * long inflate. */
enum inflate_status inflate_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap,
                                size_t history, size_t *out_len, void (*every_4k)(void));

#endif
