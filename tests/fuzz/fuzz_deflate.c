/* libFuzzer harness for the stub's DEFLATE encoder (firmware/link/deflate.c): whatever it
 * is given must come back exactly through zlib's inflate and through the stub's own
 * (firmware/link/inflate.c), both with the same history as preset dictionary.
 *
 * Input: history u16 little-endian (bytes of the data used as history, at most 32768 and
 * at most what there is), alphabet u8 (0: the data as it is; k: every byte taken mod k + 1,
 * so random inputs are rich in matches too), then the data; what follows the history is the
 * input, at most 32767 bytes. History and input are one exactly sized heap buffer and the
 * output exactly DEFLATE_BOUND bytes, so ASan sees any access outside them. Aborts on a
 * refused call, an output beyond the bound, a round trip that differs, or polls not one per
 * 4 KiB of work. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "deflate.h"
#include "inflate.h"

#define HEADER 3

static unsigned long polls;
static void count_poll(void) { polls++; }

static void fail(const char *what, size_t history, size_t len)
{
    fprintf(stderr, "deflate round trip: %s (history %zu, input %zu)\n", what, history, len);
    abort();
}

static void check_with_zlib(const uint8_t *buffer, size_t history, size_t len, const uint8_t *stream,
                            size_t stream_len)
{
    uint8_t *out = malloc(len + 1);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK)
        fail("inflateInit2", history, len);
    if (history && inflateSetDictionary(&z, buffer, (uInt)history) != Z_OK)
        fail("inflateSetDictionary", history, len);
    z.next_in = (Bytef *)stream;
    z.avail_in = (uInt)stream_len;
    z.next_out = out;
    z.avail_out = (uInt)(len + 1);
    int st = inflate(&z, Z_FINISH);
    if (st != Z_STREAM_END || z.avail_in != 0 || z.total_out != len || memcmp(out, buffer + history, len))
        fail("zlib inflates something else", history, len);
    inflateEnd(&z);
    free(out);
}

static void check_with_stub(const uint8_t *buffer, size_t history, size_t len, const uint8_t *stream,
                            size_t stream_len)
{
    uint8_t *back = malloc(history + len ? history + len : 1);
    memcpy(back, buffer, history);
    size_t out_len = 0;
    if (inflate_raw(stream, stream_len, back + history, len, history, &out_len, NULL) != INFLATE_OK ||
        out_len != len || memcmp(back + history, buffer + history, len))
        fail("the stub's inflate gives something else", history, len);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    size_t body = size - HEADER, history = (size_t)data[0] | (size_t)data[1] << 8;
    if (history > DEFLATE_MAX_HISTORY)
        history = DEFLATE_MAX_HISTORY;
    if (history > body)
        history = body;
    size_t len = body - history < DEFLATE_MAX_INPUT ? body - history : DEFLATE_MAX_INPUT;
    uint8_t *buffer = malloc(history + len ? history + len : 1), *stream = malloc(DEFLATE_BOUND(len));
    for (size_t i = 0; i < history + len; i++)
        buffer[i] = data[2] ? (uint8_t)(data[HEADER + i] % (data[2] + 1u)) : data[HEADER + i];
    polls = 0;
    size_t written = deflate_raw(buffer + history, len, history, stream, DEFLATE_BOUND(len), count_poll);
    if (written == 0 || written > DEFLATE_BOUND(len))
        fail("refused or beyond the bound", history, len);
    /* A stored block ends the coding early: its input was not all worked through. */
    int stored = (stream[0] >> 1 & 3) == 0;
    if (polls > history / 4096 + len / 4096 || polls < history / 4096 + (stored ? 0 : len / 4096))
        fail("not one poll per 4 KiB of history and of input coded", history, len);
    check_with_zlib(buffer, history, len, stream, written);
    check_with_stub(buffer, history, len, stream, written);
    free(buffer);
    free(stream);
    return 0;
}
