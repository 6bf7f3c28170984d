/* 16550-compatible UARTs: RK3588's Synopsys DesignWare APB UART2, and the PCI 16550 that
 * QEMU's `-device pci-serial` puts on the virt board (boards/qemu-virt-16550).
 *
 * Register indices and bits: the 16550 map as in Linux include/uapi/linux/serial_reg.h
 * (the National PC16550D datasheet's RBR/THR/IER/IIR/FCR/LCR/MCR/LSR); the DW-specific CPR
 * (offset 0xf4, index 0x3d) as in Linux drivers/tty/serial/8250/8250_dwlib.h and the
 * DW_apb_uart databook. The board profile says how the registers sit on the bus:
 * BOARD_UART_REG_SHIFT spaces index i at (i << shift) bytes, BOARD_UART_IO_WIDTH is the
 * access size (RK3588: reg-shift = <2>, reg-io-width = <4> in Linux
 * arch/arm64/boot/dts/rockchip/rk3588-base.dtsi; QEMU's pci-serial: 8 one-byte registers,
 * hw/char/serial-pci.c and hw/char/serial.c, whose 32-bit read of LSR would also read
 * MSR, SCR and a byte past the BAR).
 *
 * On RK3588 the boot loader set the baud rate (1,500,000) and 8N1, and this driver keeps
 * them: the DW UART ignores LCR writes while USR.BUSY is set (Linux 8250_dw.c works around
 * it), and the host tool only knows U-Boot's baud. A UART no boot loader configured
 * (QEMU's PCI one: U-Boot prints on the PL011) gets 8N1 and BOARD_UART_DIVISOR here. */
#include <stdint.h>
#include <mmio.h>   /* <>: host tests shadow it */
#include "protocol.h"
#include "uart.h"

#ifndef BOARD_UART_REG_SHIFT
#error "BOARD_UART_REG_SHIFT missing: set [firmware] uart_reg_shift in the board profile"
#endif
#ifndef BOARD_UART_IO_WIDTH
#error "BOARD_UART_IO_WIDTH missing: set [firmware] uart_io_width (1 or 4) in the board profile"
#endif
#if BOARD_UART_IO_WIDTH != 1 && BOARD_UART_IO_WIDTH != 4
#error "[firmware] uart_io_width must be 1 (8-bit registers) or 4 (32-bit registers)"
#endif
#if BOARD_UART_IO_WIDTH > (1 << BOARD_UART_REG_SHIFT)
#error "[firmware] uart_io_width is wider than the register spacing 1 << uart_reg_shift"
#endif
#if !defined(BOARD_UART_FIFO_DEPTH)
#error "BOARD_UART_FIFO_DEPTH missing: set [firmware] uart_fifo_depth (16550A: 16)"
#endif
#if defined(BOARD_UART_CPR) && BOARD_UART_CPR && BOARD_UART_IO_WIDTH != 4
#error "[firmware] uart_cpr needs uart_io_width = 4: CPR is a 32-bit DW register"
#endif
#if defined(BOARD_UART_RX_TRIGGER) && BOARD_UART_RX_TRIGGER > 3
#error "[firmware] uart_rx_trigger is FCR bits 7:6, 0..3"
#endif

#if defined(BOARD_UART_BASE)
#define uart_phys ((uintptr_t)BOARD_UART_BASE)
#else
/* The board finds its UART at run time (e.g. drivers/pci_ecam_serial.c). */
#include "uart_locate.h"
static uintptr_t uart_phys;            /* BSS: the loaded image is never written */
#endif

#define UART_RBR    0x00    /* read, DLAB = 0 */
#define UART_THR    0x00    /* write, DLAB = 0 */
#define UART_DLL    0x00    /* DLAB = 1 */
#define UART_IER    0x01    /* DLAB = 0 */
#define UART_DLM    0x01    /* DLAB = 1 */
#define UART_FCR    0x02    /* write; reads return IIR */
#define UART_IIR    0x02    /* read */
#define UART_LCR    0x03
#define UART_LSR    0x05
#define DW_UART_CPR 0x3d    /* byte offset 0xf4 with reg-shift 2 */

#define IER_NONE        0x00    /* also clears DW IER.PTIME (bit 7), see uart_putc */
#define IER_ERBFI       0x01    /* received data available (and, with FIFOs, its timeout) */
#define IIR_ID_MASK     0x0f    /* bit 0: none pending; bits 3:1 the highest one */
#define IIR_RDI         0x04    /* received data available: the FIFO reached its trigger */
#define FCR_ENABLE      0x01
#define FCR_CLEAR_RX    0x02
#define FCR_CLEAR_TX    0x04
#define FCR_RX_TRIGGER_SHIFT 6  /* bits 7:6; 16550A: 1, 4, 8, 14 bytes */
#define LCR_8N1         0x03    /* word length 8 (bits 1:0 = 11), 1 stop bit, no parity */
#define LCR_DLAB        0x80
#define LSR_DR          0x01    /* receive data ready */
#define LSR_OE          0x02    /* overrun: a character arrived with the RX FIFO full */
#define LSR_PE          0x04    /* parity error, of the character at the FIFO's top */
#define LSR_FE          0x08    /* framing error (no stop bit), likewise */
#define LSR_BI          0x10    /* break: the line held low for a whole character */
#define LSR_ERRORS      (LSR_OE | LSR_PE | LSR_FE | LSR_BI)
#define LSR_THRE        0x20    /* transmit holding register / TX FIFO empty */
#define LSR_TEMT        0x40    /* TX FIFO and shift register empty */
#define CPR_FIFO_MODE(cpr) (((cpr) >> 16) & 0xff)  /* depth / 16; 0: no FIFO */

#ifndef BOARD_UART_RX_TRIGGER
#define BOARD_UART_RX_TRIGGER 0
#endif

/* The TX FIFO's depth, set by uart_init: CPR where the board has it, else the profile. */
static unsigned tx_fifo_depth;
static uint32_t depth_source;          /* UART_DEPTH_PROFILE or UART_DEPTH_REGISTER */
static struct uart_stats stats;        /* BSS, like everything the stub writes */
/* Bytes the receive interrupt waits for, set by uart_init from the trigger level. */
static unsigned rx_irq_batch;
static int rx_irq_on;              /* IER.ERBFI as last written */
/* Bytes IIR promised are in the receive FIFO and not read yet: read without LSR. */
static unsigned rx_known;

static inline uintptr_t reg_addr(uint32_t index)
{
    return uart_phys + ((uintptr_t)index << BOARD_UART_REG_SHIFT);
}

static inline uint32_t reg_read(uint32_t index)
{
#if BOARD_UART_IO_WIDTH == 1
    return mmio_read8(reg_addr(index));
#else
    return mmio_read32(reg_addr(index));
#endif
}

static inline void reg_write(uint32_t index, uint32_t v)
{
#if BOARD_UART_IO_WIDTH == 1
    mmio_write8(reg_addr(index), (uint8_t)v);
#else
    mmio_write32(reg_addr(index), v);
#endif
}

/* Reading LSR clears OE, PE, FE and BI (PC16550D, "Line Status Register"): every read
 * after uart_init goes through here, or a transmit-side read would lose an error the
 * receive side never saw. PE/FE/BI describe the character at the top of the RX FIFO and
 * show once for it. */
static uint32_t lsr_read(void)
{
    uint32_t lsr = reg_read(UART_LSR);
    if (__builtin_expect(lsr & LSR_ERRORS, 0)) {
        stats.overruns += !!(lsr & LSR_OE);
        stats.parity_errors += !!(lsr & LSR_PE);
        stats.framing_errors += !!(lsr & LSR_FE);
        stats.breaks += !!(lsr & LSR_BI);
    }
    return lsr;
}

static unsigned trigger_bytes(unsigned depth);

static unsigned fifo_depth(void)
{
#if defined(BOARD_UART_CPR) && BOARD_UART_CPR
    /* CPR reads 0 when the IP was built without UART_ADD_ENCODED_PARAMS (DW databook):
     * then the profile's depth stands. */
    uint32_t mode = CPR_FIFO_MODE(mmio_read32(reg_addr(DW_UART_CPR)));
    if (mode) {
        depth_source = UART_DEPTH_REGISTER;
        return mode * 16;
    }
#endif
    depth_source = UART_DEPTH_PROFILE;
    return BOARD_UART_FIFO_DEPTH;
}

#if defined(BOARD_UART_DIVISOR)
/* Only for a UART no boot loader set up. Divisor = clock / (16 x baud) (PC16550D, "Baud
 * rate generator"); the profile gives it, since the clock is a board fact. */
static void set_line(void)
{
    reg_write(UART_LCR, LCR_DLAB | LCR_8N1);
    reg_write(UART_DLL, BOARD_UART_DIVISOR & 0xff);
    reg_write(UART_DLM, (BOARD_UART_DIVISOR >> 8) & 0xff);
    reg_write(UART_LCR, LCR_8N1);
}
#endif

void uart_init(void)
{
#if !defined(BOARD_UART_BASE)
    uart_phys = uart_locate();         /* does not return if the UART is missing */
#endif
    /* Let the boot loader's last bytes ("Starting kernel ...") leave the wire before the
     * FIFO reset below would throw them away. */
    uart_flush();
    /* No interrupt may reach the GIC before the stub is ready for it (idle_init). */
    reg_write(UART_IER, IER_NONE);
    rx_irq_on = 0;
    rx_known = 0;                      /* the FIFO is emptied below */
#if defined(BOARD_UART_DIVISOR)
    set_line();
#endif
    /* FIFOs on, both emptied: drops Ctrl-C bytes the host sent while U-Boot was still
     * running. The receive trigger (FCR bits 7:6, profile uart_rx_trigger) decides how
     * many bytes wait before the interrupt rises; fewer wait for the character timeout
     * (4 character times). On QEMU it also bounds how many bytes the model accepts per
     * turn of its main loop (hw/char/serial.c, serial_can_receive). */
    reg_write(UART_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX |
                        (BOARD_UART_RX_TRIGGER << FCR_RX_TRIGGER_SHIFT));
    /* Reading LSR clears error flags (OE/PE/FE/BI) left over from boot-time noise, which
     * the counters (zeroed here) do not count: they are about the stub's own line. */
    (void)reg_read(UART_LSR);
    stats = (struct uart_stats){0};
    tx_fifo_depth = fifo_depth();
    rx_irq_batch = trigger_bytes(tx_fifo_depth);
}

/* FCR bits 7:6 in bytes. PC16550D FCR: 1, 4, 8 or 14 of its 16; DW_apb_uart FCR.RT: one
 * character, a quarter, half, two less than full, which is the same on a 16-byte FIFO.
 * The receive FIFO is as deep as the transmit one on both. */
static unsigned trigger_bytes(unsigned depth)
{
    switch (BOARD_UART_RX_TRIGGER) {
    case 1:  return depth / 4;
    case 2:  return depth / 2;
    case 3:  return depth - 2;
    default: return 1;
    }
}

unsigned uart_rx_irq_batch(void)
{
    return rx_irq_batch;
}

/* The interrupt is up while the FIFO holds the trigger level or bytes sat there for the
 * character timeout; it drops when the FIFO is read empty. PTIME stays clear: the
 * transmit side keeps its meaning described below. */
void uart_rx_irq_enable(int enable)
{
    /* With a batching trigger IIR tells uart_getc_nonblock when a batch is there, and
     * IIR reports only enabled interrupts: once on, ERBFI stays on (the boot core
     * keeps PSTATE.I set, so the raised line only wakes its next WFI). */
    if (!enable && rx_irq_batch > 1 && rx_irq_on)
        return;
    rx_irq_on = enable;
    reg_write(UART_IER, enable ? IER_ERBFI : IER_NONE);
}

/* LSR.THRE rather than the DW USR.TFNF bit: THRE is plain 16550 and always present,
 * whereas USR bits 1..4 exist only if the IP was built with FIFO_STAT, which nothing
 * public confirms for RK3588. With FIFOs on and IER.PTIME clear (uart_init writes
 * IER = 0), THRE means "TX FIFO empty", so one byte waits behind the one being shifted
 * out and the line never idles; the price is that putc blocks for up to one character
 * time (~6.7 us at 1.5 Mbaud) instead of queueing a FIFO's worth. With PTIME set, DW's
 * THRE would instead mean "FIFO full" -- another reason to keep IER at 0. */
void uart_putc(char c)
{
    while (!(lsr_read() & LSR_THRE))
        ;
    reg_write(UART_THR, (uint8_t)c);
    stats.tx_bytes++;
}

/* THRE means the TX FIFO is empty (see uart_putc), so a whole FIFO may follow. A caller
 * that comes back within that many character times (16: ~107 us at 1.5 Mbaud) keeps the
 * line busy. */
unsigned uart_tx_room(void)
{
    return (lsr_read() & LSR_THRE) ? tx_fifo_depth : 0;
}

void uart_tx_byte(uint8_t c)
{
    reg_write(UART_THR, c);
    stats.tx_bytes++;
}

/* A byte out of the receive FIFO, counted: every receive path ends here. */
static int rbr_take(void)
{
    stats.rx_bytes++;
    return (int)(reg_read(UART_RBR) & 0xff);
}

int uart_getc_nonblock(void)
{
    if (rx_known) {
        rx_known--;
        return rbr_take();
    }
    /* IIR "received data available": the FIFO holds at least the trigger level
     * (PC16550D IIR, priority 2), so that many RBR reads need no LSR read each. */
    if (rx_irq_batch > 1 && rx_irq_on && (reg_read(UART_IIR) & IIR_ID_MASK) == IIR_RDI) {
        rx_known = rx_irq_batch - 1;
        return rbr_take();
    }
    /* One LSR read both tests DR and clears OE/PE/FE/BI (counted), so a framing error
     * or an overrun never sticks. The byte is returned even if it arrived damaged: the
     * protocol's CRC decides, and dropping it here would only hide the damage. */
    if (!(lsr_read() & LSR_DR))
        return -1;
    return rbr_take();
}

void uart_flush(void)
{
    while (!(lsr_read() & LSR_TEMT))
        ;
}

void uart_stats(struct uart_stats *out)
{
    *out = stats;
    out->fifo_depth = tx_fifo_depth;
    out->depth_source = depth_source;
    out->driver = "16550";
}

/* The register page: 8 registers << reg-shift fit in 4 KiB (RK3588: 0x100 bytes). */
unsigned uart_claims(struct uart_claim *out)
{
    unsigned n = 0;
    out[n++] = (struct uart_claim){uart_phys & ~(uint64_t)0xfff, 0x1000};
#if !defined(BOARD_UART_BASE)
    n += uart_locate_claims(&out[n], UART_MAX_CLAIMS - n);
#endif
    return n;
}
