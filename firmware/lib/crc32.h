#ifndef HVMON_CRC32_H
#define HVMON_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 as in IEEE 802.3, zlib and U-Boot's `crc32` command (reflected polynomial
 * 0xEDB88320, initial and final XOR 0xFFFFFFFF), so a person can compare the stub's
 * answer with U-Boot's and the host's. Pass 0 as crc to start. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
