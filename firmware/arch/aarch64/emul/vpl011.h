/* The PL011 a guest sees as its console: a register model driven by the guest's trapped
 * accesses (ARM PrimeCell UART PL011 TRM, DDI 0183, section 3). Transmission is
 * instantaneous (bytes go to the host at once), so the transmit FIFO is always empty. */
#ifndef HVMON_VPL011_H
#define HVMON_VPL011_H

#include <stdint.h>

#define VPL011_FIFO 32

typedef void (*vpl011_tx_fn)(void *ctx, uint8_t byte);

struct vpl011 {
    vpl011_tx_fn tx;
    void *ctx;
    uint8_t rx[VPL011_FIFO];
    uint32_t rx_head, rx_count;
    uint32_t ris, imsc;
    uint32_t cr, lcr_h, ibrd, fbrd, ifls, ilpr, dmacr;
};

void vpl011_init(struct vpl011 *u, vpl011_tx_fn tx, void *ctx);
/* A guest access at byte offset off of the 4 KiB register page, size 1, 2 or 4. 0 when
 * handled, -1 for an access a PL011 cannot take (misaligned or 8 bytes wide). */
int vpl011_read(struct vpl011 *u, uint32_t off, unsigned size, uint32_t *value);
int vpl011_write(struct vpl011 *u, uint32_t off, unsigned size, uint32_t value);
/* Host input for the guest: how many of the n bytes fitted into the receive FIFO. */
uint32_t vpl011_receive(struct vpl011 *u, const uint8_t *data, uint32_t n);
uint32_t vpl011_rx_room(const struct vpl011 *u);
/* The interrupt line: (RIS & IMSC) != 0. */
int vpl011_irq_level(const struct vpl011 *u);

#endif
