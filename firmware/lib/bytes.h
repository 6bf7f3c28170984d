/* Little-endian fields in byte buffers. Byte by byte on purpose: with the EL2 MMU off
 * all memory is Device memory, where an unaligned wider access faults. */
#ifndef HVMON_BYTES_H
#define HVMON_BYTES_H

#include <stdint.h>

static inline uint64_t get_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = size; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static inline void put_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

#define get16(p) ((uint16_t)get_le((p), 2))
#define get32(p) ((uint32_t)get_le((p), 4))
#define get64(p) get_le((p), 8)
#define put16(p, v) put_le((p), (v), 2)
#define put32(p, v) put_le((p), (v), 4)
#define put64(p, v) put_le((p), (v), 8)

#endif
