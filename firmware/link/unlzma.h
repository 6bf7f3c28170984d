/* A raw LZMA2 decoder (the chunk format of .xz files, without the .xz container) for data
 * the host compressed: like inflate.h, the output buffer is the final load address and is
 * the whole dictionary, so the decoder needs no window buffer of its own. It never reads
 * outside src, never reads before dst - history, never writes outside [dst, dst + dst_cap),
 * and ends on every input. */
#ifndef HVMON_UNLZMA_H
#define HVMON_UNLZMA_H

#include <stddef.h>
#include <stdint.h>

/* The same numbers as enum inflate_status: the request handler reports both alike. */
enum unlzma_status {
    UNLZMA_OK = 0,
    UNLZMA_BAD_DATA = 1,     /* corrupt: a bad control byte, property, distance or range-coder end */
    UNLZMA_TRUNCATED = 2,    /* the input ends before the end-of-stream control byte (0x00) */
    UNLZMA_OUTPUT_FULL = 3,  /* a chunk would write past dst_cap; nothing of it was written */
};

/* Decodes src[0:src_len], which must end exactly with the end-of-stream byte. The stream
 * may refer back into the history bytes just before dst (a preset dictionary: data already
 * in place, which the caller has checked is readable); its first chunk then need not reset
 * the dictionary. every_4k, if not NULL, is called once for every 4 KiB of output, at most
 * one match (273 bytes) late: the stub drains its UART there. */
enum unlzma_status unlzma2_raw(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap,
                               size_t history, size_t *out_len, void (*every_4k)(void));

#endif
