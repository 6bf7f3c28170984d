#include "crc32c.h"

#if defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

/* ARMv8 CRC32C instructions (FEAT_CRC32, mandatory from Armv8.1; both boards' cores). */
uint32_t crc32c(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    while (len && ((uintptr_t)p & 7)) {      /* MMU off: loads must be aligned */
        crc = __crc32cb(crc, *p++);
        len--;
    }
    for (; len >= 8; len -= 8, p += 8)
        crc = __crc32cd(crc, *(const uint64_t *)p);
    while (len--)
        crc = __crc32cb(crc, *p++);
    return ~crc;
}

#else
/* Bit-at-a-time fallback for host builds of the decoder (fuzzing, unit tests). */
uint32_t crc32c(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}
#endif
