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
uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}
#endif
