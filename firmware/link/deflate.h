/* A raw DEFLATE encoder (RFC 1951) for data the stub sends: MEM_READ_DEFLATE compresses
 * one range of memory per request, which the host inflates with zlib (wbits -15). Memory
 * is static and bounded; the output never passes the stored size. */
#ifndef HVMON_DEFLATE_H
#define HVMON_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

/* DEFLATE's window (RFC 1951, 3.2.5: distances up to 32768). */
#define DEFLATE_MAX_HISTORY 32768u
/* One stored block holds at most 65535 bytes (3.2.4), and history + input must fit the
 * 16-bit positions of the match finder: one request's input is far below either. */
#define DEFLATE_MAX_INPUT 32767u
/* The most a call writes: the input as one stored block (3 header bits padded to a byte,
 * LEN, NLEN) when coding does not pay. */
#define DEFLATE_BOUND(len) ((len) + 5u)

/* Compresses src[0:len] as one final block. Matches may refer back into the history bytes
 * just before src (a preset dictionary: the host already holds them), never further and
 * never past src + len. Returns the bytes written to dst, which are at most
 * DEFLATE_BOUND(len); 0 when the call is malformed (len or history beyond the limits, or
 * cap below DEFLATE_BOUND(len)), as a valid stream is never empty. every_4k, if not NULL,
 * is called after each 4 KiB of history indexed and of input coded: the stub drains its
 * UART there. Not reentrant: the match finder's tables are static. */
size_t deflate_raw(const uint8_t *src, size_t len, size_t history, uint8_t *dst, size_t cap,
                   void (*every_4k)(void));

#endif
