#ifndef HVMON_CRC32C_H
#define HVMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, reflected 0x82F63B78, init and final XOR 0xFFFFFFFF): the frame
 * check of the host link. Chosen over CRC-32 for frames because it keeps Hamming
 * distance 4 over much longer messages (Koopman's tables); see protocol/spec.md. */
uint32_t crc32c(const void *data, size_t len);

#endif
