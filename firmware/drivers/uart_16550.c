/* Synopsys DesignWare APB UART (16550-compatible): RK3588's debug UART2.
 *
 * Register indices and bits: the 16550 map as in Linux include/uapi/linux/serial_reg.h;
 * the DW-specific USR index (0x1f) as in Linux drivers/tty/serial/8250/8250_dwlib.h.
 * Each index is shifted by BOARD_UART_REG_SHIFT (RK3588: reg-shift = <2>,
 * reg-io-width = <4> in Linux arch/arm64/boot/dts/rockchip/rk3588-base.dtsi, formerly
 * rk3588s.dtsi), so every register is a 32-bit word and is only accessed as one.
 *
 * The boot loader set the baud rate (1,500,000 on RK3588) and 8N1. This driver never
 * writes LCR or the divisor latch: the DW UART ignores LCR writes while USR.BUSY is set
 * (Linux 8250_dw.c works around it), and the host tool only knows U-Boot's baud. */
#include <stdint.h>
#include <mmio.h>   /* <>: host tests shadow it */
#include "uart.h"

#ifndef BOARD_UART_BASE
#error "BOARD_UART_BASE missing: set [firmware] uart_base in the board profile"
#endif
#ifndef BOARD_UART_REG_SHIFT
#error "BOARD_UART_REG_SHIFT missing: set [firmware] uart_reg_shift in the board profile"
#endif

#define UART_RBR    0x00    /* read, DLAB = 0 */
#define UART_THR    0x00    /* write, DLAB = 0 */
#define UART_IER    0x01    /* DLAB = 0 */
#define UART_FCR    0x02    /* write; reads return IIR */
#define UART_LSR    0x05

#define IER_NONE        0x00    /* also clears DW IER.PTIME (bit 7), see uart_putc */
#define IER_ERBFI       0x01    /* received data available (and, with FIFOs, its timeout) */
#define FCR_ENABLE      0x01
#define FCR_CLEAR_RX    0x02
#define FCR_CLEAR_TX    0x04
#define LSR_DR          0x01    /* receive data ready */
#define LSR_THRE        0x20    /* transmit holding register / TX FIFO empty */
#define LSR_TEMT        0x40    /* TX FIFO and shift register empty */

static inline uintptr_t reg_addr(uint32_t index)
{
    return (uintptr_t)BOARD_UART_BASE + ((uintptr_t)index << BOARD_UART_REG_SHIFT);
}

static inline uint32_t reg_read(uint32_t index)
{
    return mmio_read32(reg_addr(index));
}

static inline void reg_write(uint32_t index, uint32_t v)
{
    mmio_write32(reg_addr(index), v);
}

void uart_init(void)
{
    /* Let the boot loader's last bytes ("Starting kernel ...") leave the wire before the
     * FIFO reset below would throw them away. */
    uart_flush();
    /* No interrupt may reach the GIC before the stub is ready for it (idle_init). */
    reg_write(UART_IER, IER_NONE);
    /* FIFOs on (RK3588: 64 bytes each way, not yet read from CPR on a board), both
     * emptied: drops Ctrl-C bytes the host sent while U-Boot was still running. */
    reg_write(UART_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX);
    /* Reading LSR clears error flags (OE/PE/FE/BI) left over from boot-time noise. */
    (void)reg_read(UART_LSR);
}

/* FCR's receive trigger stays at 1 byte (bits 7:6 = 0, written by uart_init), so the
 * interrupt is up whenever data waits; it drops when the FIFO is read empty. PTIME stays
 * clear: the transmit side keeps its meaning described below. */
void uart_rx_irq_enable(int enable)
{
    reg_write(UART_IER, enable ? IER_ERBFI : IER_NONE);
}

/* LSR.THRE rather than the DW USR.TFNF bit: THRE is plain 16550 and always present,
 * whereas USR bits 1..4 exist only if the IP was built with FIFO_STAT, which nothing
 * public confirms for RK3588. With FIFOs on and IER.PTIME clear (uart_init writes
 * IER = 0), THRE means "TX FIFO empty", so one byte waits behind the one being shifted
 * out and the line never idles; the price is that putc blocks for up to one character
 * time (~6.7 us at 1.5 Mbaud) instead of queueing 64 bytes. With PTIME set, DW's THRE
 * would instead mean "FIFO full" -- another reason to keep IER at 0. */
void uart_putc(char c)
{
    while (!(reg_read(UART_LSR) & LSR_THRE))
        ;
    reg_write(UART_THR, (uint8_t)c);
}

/* THRE means the TX FIFO is empty (see uart_putc), so a whole FIFO may follow. 16 is the
 * 16550A's depth; RK3588's DW UART has 64, but its depth is not read from CPR yet. A
 * caller that comes back within 16 character times (~107 us at 1.5 Mbaud) keeps the
 * line busy. */
#define TX_FIFO_DEPTH 16

unsigned uart_tx_room(void)
{
    return (reg_read(UART_LSR) & LSR_THRE) ? TX_FIFO_DEPTH : 0;
}

void uart_tx_byte(uint8_t c)
{
    reg_write(UART_THR, c);
}

int uart_getc_nonblock(void)
{
    /* One LSR read both tests DR and clears OE/PE/FE/BI, so a framing error or an
     * overrun never sticks. The byte is returned even if it arrived damaged: the
     * protocol's CRC decides, and dropping it here would only hide the damage. */
    if (!(reg_read(UART_LSR) & LSR_DR))
        return -1;
    return (int)(reg_read(UART_RBR) & 0xff);
}

void uart_flush(void)
{
    while (!(reg_read(UART_LSR) & LSR_TEMT))
        ;
}
