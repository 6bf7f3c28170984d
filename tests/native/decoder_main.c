/* Host driver for the stub's decoders (firmware/link/inflate.c and unlzma.c, which share
 * one signature and one set of status codes), built once per decoder with
 * -DDECODER_H='"inflate.h"' -DDECODE=inflate_raw (or unlzma.h, unlzma2_raw):
 * DRIVER SRC CAPACITY OUT [HISTORY] prints "status=N out_len=M polls=P" (HISTORY: a file
 * whose bytes sit just before the output, as a preset dictionary the stream may refer
 * back into); DRIVER --mutate SEED COUNT SRC CAPACITY flips random bits of a valid stream
 * COUNT times and decodes each (ASan/UBSan watch every run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include DECODER_H

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(*len ? *len : 1);
    if (fread(data, 1, *len, f) != *len) {
        fclose(f);
        free(data);
        return NULL;
    }
    fclose(f);
    return data;
}

/* The stub drains its UART here; the test checks it is called as often as promised. */
static unsigned long polls;
static void count_poll(void) { polls++; }

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--mutate") == 0) {
        unsigned seed = (unsigned)strtoul(argv[2], NULL, 0), count = (unsigned)strtoul(argv[3], NULL, 0);
        size_t len, cap = strtoul(argv[5], NULL, 0), out;
        uint8_t *src = read_file(argv[4], &len), *dst = malloc(cap ? cap : 1);
        if (!src || !len)
            return 2;
        unsigned results[4] = {0};
        srand(seed);
        for (unsigned i = 0; i < count; i++) {
            uint8_t *copy = malloc(len);
            memcpy(copy, src, len);
            for (int flips = 1 + rand() % 3; flips > 0; flips--)
                copy[rand() % len] ^= (uint8_t)(1u << (rand() % 8));
            results[DECODE(copy, len, dst, cap, 0, &out, count_poll)]++;
            free(copy);
        }
        printf("mutations=%u ok=%u bad=%u truncated=%u full=%u\n", count, results[0], results[1],
               results[2], results[3]);
        free(src);
        free(dst);
        return 0;
    }
    if (argc != 4 && argc != 5)
        return 2;
    size_t len, cap = strtoul(argv[2], NULL, 0), out = 0, hlen = 0;
    uint8_t *src = read_file(argv[1], &len), *history = NULL;
    if (argc == 5 && !(history = read_file(argv[4], &hlen)))
        return 2;
    /* Exactly history + capacity bytes, so ASan catches a reference before the history. */
    uint8_t *buffer = malloc(hlen + cap ? hlen + cap : 1), *dst = buffer + hlen;
    if (!src)
        return 2;
    if (hlen)
        memcpy(buffer, history, hlen);
    int status = DECODE(src, len, dst, cap, hlen, &out, count_poll);
    FILE *o = fopen(argv[3], "wb");
    fwrite(dst, 1, out, o);
    fclose(o);
    printf("status=%d out_len=%zu polls=%lu\n", status, out, polls);
    free(src);
    free(history);
    free(buffer);
    return 0;
}
