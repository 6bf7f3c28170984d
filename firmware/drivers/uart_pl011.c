/* ARM PrimeCell PL011 (QEMU virt's serial0). Register offsets and bits: ARM PL011
 * Technical Reference Manual (DDI 0183), section 3.2 "Summary of registers"; QEMU's
 * model is hw/char/pl011.c. */
#include "uart.h"
#include <mmio.h>   /* <>: host tests shadow it */
#include "protocol.h"

#define PL011_DR    0x000
#define PL011_RSR   0x004   /* write: clears the receive error flags (ECR) */
#define PL011_FR    0x018
#define PL011_LCRH  0x02c
#define PL011_CR    0x030
#define PL011_IMSC  0x038
#define PL011_ICR   0x044

#define FR_BUSY     (1u << 3)
#define FR_RXFE     (1u << 4)
#define FR_TXFF     (1u << 5)
#define FR_TXFE     (1u << 7)
#define TX_FIFO_DEPTH 16    /* DDI 0183 r1p4: 16 x 8-bit transmit FIFO (r1p5 has 32); the
                             * smaller is safe on both and is QEMU's (include/hw/char/
                             * pl011.h, PL011_FIFO_DEPTH) */
/* UARTDR bits 11:8, the receive status of the character read with them (DDI 0183, 3.3.1). */
#define DR_FE       (1u << 8)   /* framing error: no valid stop bit */
#define DR_PE       (1u << 9)   /* parity error */
#define DR_BE       (1u << 10)  /* break: the line held low longer than a whole character */
#define DR_OE       (1u << 11)  /* overrun: data arrived with the receive FIFO full */

#define LCRH_FEN    (1u << 4)
#define CR_UARTEN   (1u << 0)
#define CR_TXE      (1u << 8)
#define CR_RXE      (1u << 9)
#define IMSC_RXIM   (1u << 4)   /* receive (FIFO level reached) */
#define IMSC_RTIM   (1u << 6)   /* receive timeout: bytes below the level sat for 32 bit times */

/* Once FR.TXFE is set the whole FIFO fits, unless FIFOs are off (LCR_H.FEN clear: TXFE then
 * means the holding register is empty, DDI 0183 3.3.3, UARTFR): then one byte. The stub
 * keeps the boot loader's LCR_H, since the TRM forbids changing it while the UART is
 * enabled. Zero-initialised on purpose: the stub never writes inside its loaded image,
 * whose CRC the host checks against the file. */
static unsigned tx_fifo_off;
static struct uart_stats stats;

/* Only reached when a flag is set: the receive path stays one test per byte. */
static void count_errors(uint32_t dr)
{
    stats.framing_errors += !!(dr & DR_FE);
    stats.parity_errors += !!(dr & DR_PE);
    stats.breaks += !!(dr & DR_BE);
    stats.overruns += !!(dr & DR_OE);
}

static inline uint32_t reg_read(uint32_t off)
{
    return mmio_read32(BOARD_UART_BASE + off);
}

static inline void reg_write(uint32_t off, uint32_t v)
{
    mmio_write32(BOARD_UART_BASE + off, v);
}

void uart_init(void)
{
    /* The boot loader chose baud rate and framing; receive interrupts come on
     * later (uart_rx_irq_enable), so mask and clear every interrupt and make sure both directions are enabled. */
    reg_write(PL011_IMSC, 0);
    reg_write(PL011_ICR, 0x7ff);
    reg_write(PL011_RSR, 0);
    tx_fifo_off = !(reg_read(PL011_LCRH) & LCRH_FEN);
    stats = (struct uart_stats){0};
    reg_write(PL011_CR, reg_read(PL011_CR) | CR_UARTEN | CR_TXE | CR_RXE);
}

/* The interrupt is level: it stays asserted while the FIFO holds data, so the stub never
 * needs to clear it (DDI 0183 3.4, UARTRXINTR and UARTRTINTR). */
void uart_rx_irq_enable(int enable)
{
    reg_write(PL011_IMSC, enable ? IMSC_RXIM | IMSC_RTIM : 0);
}

/* QEMU 7.2's PL011 raises its receive interrupt for every byte (hw/char/pl011.c,
 * pl011_set_read_trigger: read_trigger = 1 whatever IFLS says), and the stub leaves IFLS
 * as the boot loader set it, so it counts on no more. */
unsigned uart_rx_irq_batch(void)
{
    return 1;
}

void uart_putc(char c)
{
    while (reg_read(PL011_FR) & FR_TXFF)
        ;
    reg_write(PL011_DR, (uint8_t)c);
    stats.tx_bytes++;
}

unsigned uart_tx_room(void)
{
    uint32_t fr = reg_read(PL011_FR);
    if (fr & FR_TXFE)
        return tx_fifo_off ? 1 : TX_FIFO_DEPTH;
    return (fr & FR_TXFF) ? 0 : 1;
}

void uart_tx_byte(uint8_t c)
{
    reg_write(PL011_DR, c);
    stats.tx_bytes++;
}

int uart_getc_nonblock(void)
{
    if (reg_read(PL011_FR) & FR_RXFE)
        return -1;
    uint32_t dr = reg_read(PL011_DR);
    stats.rx_bytes++;
    if (dr & 0xf00) {        /* framing/parity/break/overrun: count, clear, keep going */
        count_errors(dr);
        reg_write(PL011_RSR, 0);
    }
    return (int)(dr & 0xff);
}

void uart_flush(void)
{
    while (reg_read(PL011_FR) & FR_BUSY)
        ;
}

void uart_stats(struct uart_stats *out)
{
    *out = stats;
    out->fifo_depth = tx_fifo_off ? 1 : TX_FIFO_DEPTH;
    out->depth_source = UART_DEPTH_DRIVER;
    out->driver = "pl011";
}

/* The PL011 occupies one 4 KiB page (DDI 0183, 3.2: offsets up to 0xFFC). */
unsigned uart_claims(struct uart_claim *out)
{
    out[0] = (struct uart_claim){BOARD_UART_BASE, 0x1000};
    return 1;
}
