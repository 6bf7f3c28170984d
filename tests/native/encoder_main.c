/* Host driver for the stub's DEFLATE encoder (firmware/link/deflate.c), used the way
 * MEM_READ_DEFLATE uses it: DRIVER SRC PIECE HISTORY OUT cuts SRC into pieces of PIECE
 * bytes and compresses each with up to HISTORY bytes before it as a preset dictionary,
 * writing to OUT one record per piece: u32 raw length, u32 history used, u32 compressed
 * length, the compressed bytes. Each piece and its history are copied into one exactly
 * sized heap buffer and the output has exactly DEFLATE_BOUND(len) bytes, so ASan sees any
 * access outside them. Prints "pieces=N polls=P". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deflate.h"

static unsigned long polls;
static void count_poll(void) { polls++; }

static void put32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f), piece = strtoul(argv[2], NULL, 0), most = strtoul(argv[3], NULL, 0);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(len ? len : 1);
    if (fread(data, 1, len, f) != len)
        return 2;
    fclose(f);
    FILE *out = fopen(argv[4], "wb");
    unsigned long pieces = 0;
    for (size_t at = 0; at < len || (len == 0 && pieces == 0); at += piece) {
        size_t n = len - at < piece ? len - at : piece, history = at < most ? at : most;
        uint8_t *buffer = malloc(history + n ? history + n : 1), *dst = malloc(DEFLATE_BOUND(n));
        memcpy(buffer, data + at - history, history + n);
        size_t written = deflate_raw(buffer + history, n, history, dst, DEFLATE_BOUND(n), count_poll);
        if (written == 0 || written > DEFLATE_BOUND(n)) {
            fprintf(stderr, "piece at %zu: deflate_raw returned %zu\n", at, written);
            return 1;
        }
        put32(out, (uint32_t)n);
        put32(out, (uint32_t)history);
        put32(out, (uint32_t)written);
        fwrite(dst, 1, written, out);
        free(buffer);
        free(dst);
        pieces++;
        if (len == 0)
            break;
    }
    fclose(out);
    printf("pieces=%lu polls=%lu\n", pieces, polls);
    free(data);
    return 0;
}
