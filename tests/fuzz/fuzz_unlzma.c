/* libFuzzer harness for the stub's LZMA2 decoder (firmware/link/unlzma.c) on its own: the
 * request harness (fuzz_session.c) reaches it too, but rarely with a stream deep enough to
 * get past the first chunk header. Seeds from unlzma_seeds.py are real streams.
 *
 * Input: history code u8 (history length: 0, 1, 64, 4096 or 65536 bytes, chosen by the code
 * mod 5), capacity u24 little-endian (at most 4 MiB), then the stream. The history and the
 * output are one heap buffer of exactly history + capacity bytes, so ASan sees any access
 * outside it; the harness aborts on a status or length the decoder must never give, or
 * too few polls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "unlzma.h"

#define HEADER 4
#define MAX_CAPACITY (4u << 20)

static const size_t history_lengths[] = {0, 1, 64, 4096, 65536};
static unsigned long polls;

static void count_poll(void) { polls++; }

/* The history's bytes (unlzma_seeds.py makes the same ones for its preset-dictionary seeds). */
static uint8_t history_byte(size_t i)
{
    return (uint8_t)((uint32_t)(i * 2654435761u) >> 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    size_t history = history_lengths[data[0] % 5];
    size_t capacity = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16;
    if (capacity > MAX_CAPACITY)
        capacity = MAX_CAPACITY;
    uint8_t *buffer = malloc(history + capacity ? history + capacity : 1);
    for (size_t i = 0; i < history; i++)
        buffer[i] = history_byte(history - i);   /* counted back from the output */
    size_t out_len = (size_t)-1;
    polls = 0;
    enum unlzma_status status = unlzma2_raw(data + HEADER, size - HEADER, buffer + history, capacity,
                                            history, &out_len, count_poll);
    if ((unsigned)status > UNLZMA_OUTPUT_FULL || out_len > capacity ||
        polls + 1 < out_len / 4096) {
        fprintf(stderr, "status %d, %zu of %zu bytes, %lu polls\n", status, out_len, capacity, polls);
        abort();
    }
    free(buffer);
    return 0;
}
