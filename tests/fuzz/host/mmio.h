#ifndef HVMON_MMIO_H
#define HVMON_MMIO_H
#include <stdint.h>
/* No device is touched from the paths the harness drives; reads return 0, except the
 * distributor's GICD_TYPER, which says how many INTIDs the board has: QEMU virt's
 * (0x037a0007: ITLinesNumber 7, 256 INTIDs), the board whose addresses the host builds
 * use (BOARD_GICD_BASE in their Makefiles). */
static inline uint32_t mmio_read32(uintptr_t a)
{
    return a == BOARD_GICD_BASE + 4 ? 0x037a0007u : 0;
}
static inline void mmio_write32(uintptr_t a, uint32_t v) { (void)a; (void)v; }
static inline uint8_t mmio_read8(uintptr_t a) { (void)a; return 0; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { (void)a; (void)v; }
#endif
