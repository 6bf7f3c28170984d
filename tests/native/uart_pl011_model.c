/* Register model of an ARM PL011 at BOARD_UART_BASE, for tests/native/test_uart_pl011.c.
 * Registers and bits: ARM PL011 Technical Reference Manual (DDI 0183), 3.2 and 3.3:
 * UARTDR carries the received character with its status in bits 11:8 (OE, BE, PE, FE);
 * UARTRSR/UARTECR holds the same status, and a write to UARTECR clears it; overrun is set
 * when a character arrives with the receive FIFO full (that character is lost) and stays
 * set until cleared through UARTECR or until a new character enters the FIFO (3.3.1).
 *
 * Time only passes when the driver reads UARTFR: each read moves one character out of
 * the transmitter, so a driver that does not wait for room overflows the TX FIFO and the
 * model aborts. It also aborts on any access outside the UART's page, of a width other
 * than 32 bits, to a register it does not model, or on a read of an empty receive FIFO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mmio.h"
#include "uart_pl011_model.h"

#define FIFO 16             /* DDI 0183 r1p4: 16 entries each way (QEMU's model too) */

#define R_DR    0x000
#define R_RSR   0x004
#define R_FR    0x018
#define R_LCRH  0x02c
#define R_CR    0x030
#define R_IMSC  0x038
#define R_ICR   0x044

#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)
#define LCRH_FEN (1u << 4)

static struct {
    uint16_t rx[FIFO];      /* character | status bits 10:8 */
    unsigned rx_head, rx_count;
    int overrun;
    uint32_t rsr, lcrh, cr, imsc;
    unsigned tx_count, wire_len, ecr_writes;
    int shifter_busy;
} m;

static _Noreturn void die(const char *what, uintptr_t addr)
{
    fprintf(stderr, "uart_pl011_model: %s (address %#lx)\n", what, (unsigned long)addr);
    abort();
}

static unsigned capacity(void)
{
    return (m.lcrh & LCRH_FEN) ? FIFO : 1;     /* FIFOs off: one holding register */
}

static void tick(void)
{
    if (m.shifter_busy) {
        m.wire_len++;
        m.shifter_busy = 0;
    }
    if (m.tx_count) {
        m.tx_count--;
        m.shifter_busy = 1;
    }
}

static uint32_t offset_of(uintptr_t addr)
{
    if (addr < (uintptr_t)BOARD_UART_BASE || addr >= (uintptr_t)BOARD_UART_BASE + 0x1000)
        die("access outside the UART", addr);
    if (addr & 3)
        die("misaligned access", addr);
    return (uint32_t)(addr - (uintptr_t)BOARD_UART_BASE);
}

uint32_t model_read32(uintptr_t addr)
{
    switch (offset_of(addr)) {
    case R_DR: {
        if (!m.rx_count)
            die("UARTDR read with the receive FIFO empty (FR.RXFE not checked)", addr);
        uint32_t v = m.rx[m.rx_head];
        m.rx_head = (m.rx_head + 1) % FIFO;
        m.rx_count--;
        if (m.overrun)
            v |= PL011_MODEL_OE;
        m.rsr = v >> 8;
        return v;
    }
    case R_RSR:
        return m.rsr;
    case R_FR: {
        uint32_t v = 0;
        if (m.tx_count || m.shifter_busy)
            v |= FR_BUSY;
        if (!m.rx_count)
            v |= FR_RXFE;
        if (m.rx_count == capacity())
            v |= FR_RXFF;
        if (m.tx_count == capacity())
            v |= FR_TXFF;
        if (!m.tx_count)
            v |= FR_TXFE;
        tick();
        return v;
    }
    case R_LCRH:
        return m.lcrh;
    case R_CR:
        return m.cr;
    case R_IMSC:
        return m.imsc;
    default:
        die("read of an unmodelled register", addr);
    }
}

void model_write32(uintptr_t addr, uint32_t v)
{
    switch (offset_of(addr)) {
    case R_DR:
        if (m.tx_count >= capacity())
            die("UARTDR written with the transmit FIFO full", addr);
        m.tx_count++;
        if (!m.shifter_busy)
            tick();
        return;
    case R_RSR:                 /* UARTECR: any write clears the error status */
        m.rsr = 0;
        m.overrun = 0;
        m.ecr_writes++;
        return;
    case R_CR:
        m.cr = v;
        return;
    case R_IMSC:
        m.imsc = v;
        return;
    case R_ICR:
        return;
    default:
        die("write to a register the driver must leave alone", addr);
    }
}

uint8_t model_read8(uintptr_t addr) { die("8-bit read: the PL011's registers are 32-bit", addr); }
void model_write8(uintptr_t addr, uint8_t v) { (void)v; die("8-bit write: the PL011's registers are 32-bit", addr); }

/* ---- test side ---- */

void pl011_model_reset(int fifos_on)
{
    memset(&m, 0, sizeof m);
    m.lcrh = fifos_on ? LCRH_FEN | 0x60 : 0x60;  /* 8 bits, as U-Boot leaves it */
    m.cr = 0x301;
}

int pl011_model_rx_push(uint8_t byte, uint16_t status)
{
    if (m.rx_count >= capacity()) {
        m.overrun = 1;              /* the character is lost */
        return -1;
    }
    m.rx[(m.rx_head + m.rx_count) % FIFO] = (uint16_t)(byte | (status & 0x700));
    m.rx_count++;
    m.overrun = 0;                  /* a new character entered the FIFO (DDI 0183 3.3.1) */
    return 0;
}

unsigned pl011_model_wire_len(void) { return m.wire_len; }
unsigned pl011_model_ecr_writes(void) { return m.ecr_writes; }
int pl011_model_overrun(void) { return m.overrun; }
