#ifndef HVMON_MMIO_H
#define HVMON_MMIO_H
#include <stdint.h>
/* No device is touched from the paths the host builds drive, except the GIC's identity:
 * the distributor's GICD_TYPER, which says how many INTIDs the board has (QEMU virt's
 * 0x037a0007: ITLinesNumber 7, 256 INTIDs), and each redistributor's GICR_TYPER, by which
 * a core finds its own (IHI 0069, GICR_TYPER: Affinity_Value in bits 63:32, Last in bit 4).
 * Frame n belongs to the core with MPIDR n, eight of them, as on QEMU virt with eight
 * CPUs. Addresses: the board's (BOARD_GICD_BASE, BOARD_GICR_BASE in the Makefiles). Every
 * other read returns 0. */
#define HOST_GICR_FRAME 0x20000u
#define HOST_GICR_FRAMES 8u
static inline uint32_t mmio_read32(uintptr_t a)
{
    if (a == BOARD_GICD_BASE + 4)
        return 0x037a0007u;
    if (a >= BOARD_GICR_BASE && a < BOARD_GICR_BASE + HOST_GICR_FRAMES * HOST_GICR_FRAME) {
        uint32_t frame = (uint32_t)((a - BOARD_GICR_BASE) / HOST_GICR_FRAME);
        uintptr_t off = (a - BOARD_GICR_BASE) % HOST_GICR_FRAME;
        if (off == 8)
            return frame == HOST_GICR_FRAMES - 1 ? 1u << 4 : 0;
        if (off == 12)
            return frame;
    }
    return 0;
}
static inline void mmio_write32(uintptr_t a, uint32_t v) { (void)a; (void)v; }
static inline uint8_t mmio_read8(uintptr_t a) { (void)a; return 0; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { (void)a; (void)v; }
#endif
