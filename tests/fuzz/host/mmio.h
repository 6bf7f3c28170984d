#ifndef HVMON_MMIO_H
#define HVMON_MMIO_H
#include <stdint.h>
/* No device is touched from the paths the harness drives; reads return 0. */
static inline uint32_t mmio_read32(uintptr_t a) { (void)a; return 0; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { (void)a; (void)v; }
static inline uint8_t mmio_read8(uintptr_t a) { (void)a; return 0; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { (void)a; (void)v; }
#endif
