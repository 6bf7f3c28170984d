#include "vpl011.h"

/* Offsets and bits: DDI 0183, table 3-1 and sections 3.3.x. */
#define DR      0x000
#define RSR     0x004
#define FR      0x018
#define ILPR    0x020
#define IBRD    0x024
#define FBRD    0x028
#define LCR_H   0x02C
#define CR      0x030
#define IFLS    0x034
#define IMSC    0x038
#define RIS     0x03C
#define MIS     0x040
#define ICR     0x044
#define DMACR   0x048

#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)
#define CR_RXE  (1u << 9)
#define INT_RX  (1u << 4)
#define INT_TX  (1u << 5)
#define INT_RT  (1u << 6)
#define INT_ALL 0x7FFu

/* Peripheral and PrimeCell identification at 0xFE0..0xFFC (DDI 0183, 3.3.14-3.3.15). */
static const uint8_t id_bytes[8] = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

void vpl011_init(struct vpl011 *u, vpl011_tx_fn tx, void *ctx)
{
    *u = (struct vpl011){0};
    u->tx = tx;
    u->ctx = ctx;
    u->cr = 0x300;                     /* TXE, RXE: reset values */
    u->ifls = 0x12;                    /* 1/2 full both ways */
    u->ris = INT_TX;                   /* the transmit FIFO is empty */
}

/* Receive interrupts from the FIFO level: RX at or above the IFLS threshold, and the
 * receive timeout as soon as anything waits below it (a real PL011 waits 32 bit times of
 * silence; here the line is always silent once the host's bytes are in). */
static void update_rx(struct vpl011 *u)
{
    static const uint32_t eighths[8] = {1, 2, 4, 6, 7, 7, 7, 7};
    uint32_t threshold = VPL011_FIFO * eighths[(u->ifls >> 3) & 7] / 8;
    u->ris &= ~(INT_RX | INT_RT);
    if (u->rx_count >= threshold)
        u->ris |= INT_RX;
    else if (u->rx_count > 0)
        u->ris |= INT_RT;
}

uint32_t vpl011_rx_room(const struct vpl011 *u)
{
    return (u->cr & CR_RXE) ? VPL011_FIFO - u->rx_count : 0;
}

uint32_t vpl011_receive(struct vpl011 *u, const uint8_t *data, uint32_t n)
{
    uint32_t taken = 0;
    while (taken < n && vpl011_rx_room(u) > 0) {
        u->rx[(u->rx_head + u->rx_count) % VPL011_FIFO] = data[taken++];
        u->rx_count++;
    }
    update_rx(u);
    return taken;
}

int vpl011_irq_level(const struct vpl011 *u)
{
    return (u->ris & u->imsc) != 0;
}

static int valid(uint32_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 && off < 0x1000;
}

int vpl011_read(struct vpl011 *u, uint32_t off, unsigned size, uint32_t *value)
{
    if (!valid(off, size))
        return -1;
    uint32_t reg = off & ~3u, v = 0;
    switch (reg) {
    case DR:
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % VPL011_FIFO;
            u->rx_count--;
            update_rx(u);
        }
        break;
    case FR:
        v = FR_TXFE | (u->rx_count ? 0 : FR_RXFE) | (u->rx_count == VPL011_FIFO ? FR_RXFF : 0);
        break;
    case ILPR: v = u->ilpr; break;
    case IBRD: v = u->ibrd; break;
    case FBRD: v = u->fbrd; break;
    case LCR_H: v = u->lcr_h; break;
    case CR: v = u->cr; break;
    case IFLS: v = u->ifls; break;
    case IMSC: v = u->imsc; break;
    case RIS: v = u->ris; break;
    case MIS: v = u->ris & u->imsc; break;
    case DMACR: v = u->dmacr; break;
    default:
        if (reg >= 0xFE0)
            v = id_bytes[(reg - 0xFE0) / 4];
        break;                          /* RSR (no errors ever), reserved: zero */
    }
    *value = (v >> (8 * (off & 3))) & (size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1);
    return 0;
}

int vpl011_write(struct vpl011 *u, uint32_t off, unsigned size, uint32_t value)
{
    if (!valid(off, size))
        return -1;
    uint32_t reg = off & ~3u;
    value <<= 8 * (off & 3);
    switch (reg) {
    case DR:
        /* Sent whatever CR says: Linux's earlycon writes before anyone enables the UART. */
        if (u->tx)
            u->tx(u->ctx, (uint8_t)value);
        u->ris |= INT_TX;               /* and the FIFO is empty again at once */
        break;
    case ILPR: u->ilpr = value & 0xFF; break;
    case IBRD: u->ibrd = value & 0xFFFF; break;
    case FBRD: u->fbrd = value & 0x3F; break;
    case LCR_H: u->lcr_h = value & 0xFF; break;
    case CR: u->cr = value & 0xFFFF; break;
    case IFLS: u->ifls = value & 0x3F; update_rx(u); break;
    case IMSC: u->imsc = value & INT_ALL; break;
    case ICR:
        /* TX stays asserted while the FIFO is empty (it always is): clearing it only lasts
         * until the next byte, which is what the driver's TX path waits for. RX/RT are
         * levels of the FIFO and come back at once if data is still waiting. */
        u->ris &= ~(value & INT_ALL);
        update_rx(u);
        break;
    case DMACR: u->dmacr = value & 7; break;
    default: break;                      /* RSR/ECR, reserved, IDs: ignored */
    }
    return 0;
}
