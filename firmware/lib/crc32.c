#include "crc32.h"

#if defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

/* The ARMv8 CRC32{B,D} instructions use the IEEE polynomial, so zlib's CRC-32 costs one
 * instruction per 8 bytes: a 32 MB kernel's skip-unchanged check stays well under a second. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    const volatile uint8_t *p = data;   /* may be any RAM, even code being loaded */
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {  /* MMU off: loads must be aligned */
        crc = __crc32b(crc, *p++);
        len--;
    }
    for (; len >= 8; len -= 8, p += 8)
        crc = __crc32d(crc, *(const volatile uint64_t *)p);
    while (len--)
        crc = __crc32b(crc, *p++);
    return ~crc;
}

#else
/* Builds without the CRC instructions (bench/hoststub, the fuzzers on the host): a byte
 * table, eight times the bit-at-a-time loop, so a host-built stub checks a 32 MiB load in
 * tens of milliseconds as a board does, not in seconds that the benchmarks would count. */
static uint32_t table[256];

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        table[i] = c;
    }
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (table[1] == 0)               /* entry 1 is never 0 once made */
        table_init();
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
#endif
