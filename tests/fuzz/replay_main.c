/* Runs the fuzz target without libFuzzer: over the files named on the command line, then
 * over N seeded random inputs (half raw line bytes, half framed requests). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    unsigned runs = 0, random_inputs = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == 'n') {
            random_inputs = (unsigned)strtoul(argv[i] + 2, NULL, 0);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            return 2;
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        runs++;
    }
    srand(1);
    static uint8_t input[8192];
    for (unsigned r = 0; r < random_inputs; r++) {
        size_t n = 1 + (size_t)rand() % sizeof input;
        for (size_t i = 0; i < n; i++)
            input[i] = (uint8_t)rand();
        /* Framed mode with small plausible requests most of the time. */
        if (r % 2) {
            input[0] |= 1;
            for (size_t at = 1; at + 6 < n; at += 2 + (input[at] | input[at + 1] << 8) % 64) {
                input[at + 1] = 0;
                input[at] %= 64;
                input[at + 2] = (uint8_t)(1 + rand() % 0x16);   /* a command number */
            }
        }
        LLVMFuzzerTestOneInput(input, n);
        runs++;
    }
    printf("replay: %u inputs, no crash\n", runs);
    return 0;
}
