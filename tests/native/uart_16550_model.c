/* Register model of a 16550-compatible UART at BOARD_UART_BASE, registers on
 * 1 << BOARD_UART_REG_SHIFT byte strides, each BOARD_UART_IO_WIDTH bytes wide. Two
 * variants, picked by the test's flags (tests/unit/test_uart_16550.py):
 *  - a Synopsys DW-APB UART as on RK3588 (shift 2, 32-bit access, MODEL_FIFO_DEPTH 64,
 *    CPR reading MODEL_CPR, USR at index 0x1f);
 *  - QEMU's PCI 16550A (shift 0, 8-bit access, 16-byte FIFOs, no DW registers), which no
 *    boot loader configured (MODEL_UNCONFIGURED: the driver must set 8N1 and a divisor).
 * Bit meanings follow Linux include/uapi/linux/serial_reg.h; USR and CPR follow Linux
 * drivers/tty/serial/8250/8250_dwlib.h and the DW_apb_uart databook.
 *
 * Time only passes when the driver reads a status register (LSR or USR): each such
 * poll moves one character out of the transmitter, so a driver that does not wait
 * for room overflows the TX FIFO and the model aborts.
 *
 * The model is strict on purpose: it abort()s, with a message, on any access outside
 * the UART, to a misaligned or unmodelled register, of the wrong width, on a write to
 * a read-only register, on a read of an empty RBR, on a TX FIFO overflow, and -- unless
 * MODEL_UNCONFIGURED -- on any write to the divisor latch or LCR, so a passing test
 * proves the driver keeps U-Boot's baud rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mmio.h"

#ifndef MODEL_FIFO_DEPTH
#define MODEL_FIFO_DEPTH 64
#endif
#define FIFO_DEPTH  MODEL_FIFO_DEPTH
#define STRIDE      (1u << BOARD_UART_REG_SHIFT)
/* The register window: RK3588 reg = <... 0x100>; a plain 16550 has 8 registers (QEMU:
 * an 8-byte BAR). */
#define WINDOW      MODEL_WINDOW

/* Register indices (before the shift). */
#define R_RBR_THR_DLL   0x00
#define R_IER_DLM       0x01
#define R_IIR_FCR       0x02
#define R_LCR           0x03
#define R_MCR           0x04
#define R_LSR           0x05
#define R_MSR           0x06
#define R_SCR           0x07
#define R_USR           0x1f    /* DW only */
#define R_CPR           0x3d    /* DW only: offset 0xf4 with reg-shift 2 */

#define LCR_DLAB    0x80
#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_CLR_TX  0x04
#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_PE      0x04
#define LSR_FE      0x08
#define LSR_BI      0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LSR_FIFOE   0x80
#define USR_BUSY    0x01
#define USR_TFNF    0x02
#define USR_TFE     0x04
#define USR_RFNE    0x08
#define USR_RFF     0x10

#define TX_LOG_MAX  4096

static struct {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    int fifo_on;
    uint8_t rx[FIFO_DEPTH], rx_err[FIFO_DEPTH];
    size_t rx_head, rx_count;
    int overrun;                        /* sticky until LSR is read */
    uint8_t tx[FIFO_DEPTH];
    size_t tx_head, tx_count;
    int shifter_busy;
    uint8_t shifter;
    uint8_t wire[TX_LOG_MAX];
    size_t wire_len;
    unsigned long polls, lcr_writes;
    uint8_t rx_trigger;                 /* FCR bits 7:6 as last written */
} m;

static _Noreturn void die(const char *what, uintptr_t addr)
{
    fprintf(stderr, "uart_16550_model: %s (address %#lx)\n", what, (unsigned long)addr);
    abort();
}

static size_t tx_capacity(void)
{
    return m.fifo_on ? FIFO_DEPTH : 1;  /* FIFOs off: a single holding register */
}

static void tx_load_shifter(void)
{
    if (!m.shifter_busy && m.tx_count) {
        m.shifter = m.tx[m.tx_head];
        m.tx_head = (m.tx_head + 1) % FIFO_DEPTH;
        m.tx_count--;
        m.shifter_busy = 1;
    }
}

/* One character time: the byte in the shifter reaches the wire, the next moves in. */
static void tick(void)
{
    m.polls++;
    if (m.shifter_busy) {
        if (m.wire_len < TX_LOG_MAX)
            m.wire[m.wire_len++] = m.shifter;
        m.shifter_busy = 0;
    }
    tx_load_shifter();
}

static uint8_t lsr_value(void)
{
    uint8_t v = 0;
    if (m.rx_count) {
        v |= LSR_DR;
        v |= m.rx_err[m.rx_head];       /* errors belong to the byte at the FIFO top */
        for (size_t i = 0; i < m.rx_count; i++)
            if (m.rx_err[(m.rx_head + i) % FIFO_DEPTH])
                v |= LSR_FIFOE;
    }
    if (m.overrun)
        v |= LSR_OE;
    if (m.tx_count == 0)
        v |= LSR_THRE;                  /* IER.PTIME clear: THRE = "TX FIFO empty" */
    if (m.tx_count == 0 && !m.shifter_busy)
        v |= LSR_TEMT;
    return v;
}

#ifdef MODEL_DW
static uint8_t usr_value(void)
{
    uint8_t v = 0;
    if (m.tx_count || m.shifter_busy)
        v |= USR_BUSY;
    if (m.tx_count < tx_capacity())
        v |= USR_TFNF;
    if (m.tx_count == 0)
        v |= USR_TFE;
    if (m.rx_count)
        v |= USR_RFNE;
    if (m.rx_count == FIFO_DEPTH)
        v |= USR_RFF;
    return v;
}
#endif

static void rx_clear(void)
{
    m.rx_head = m.rx_count = 0;
    memset(m.rx_err, 0, sizeof m.rx_err);
}

static void divisor_write(uintptr_t addr)
{
#ifdef MODEL_UNCONFIGURED
    (void)addr;                         /* nobody set this UART up: the driver must */
#else
    die("write to the divisor latch: the boot loader's baud rate must stay", addr);
#endif
}

static uint32_t index_of(uintptr_t addr)
{
    if (addr < (uintptr_t)BOARD_UART_BASE || addr >= (uintptr_t)BOARD_UART_BASE + WINDOW)
        die("access outside the UART", addr);
    uintptr_t off = addr - (uintptr_t)BOARD_UART_BASE;
    if (off % STRIDE)
        die("access not aligned to the register stride", addr);
    return (uint32_t)(off / STRIDE);
}

/* FCR bits 7:6 in bytes: 1, 4, 8, 14 on a 16550A; on a DW UART one character, a quarter,
 * half, two less than full (the same numbers on 16 bytes). */
static size_t trigger_level(void)
{
    static const size_t quarters[4] = {0, 1, 2, 0};
    if (m.rx_trigger == 0)
        return 1;
    if (m.rx_trigger == 3)
        return FIFO_DEPTH - 2;
    return FIFO_DEPTH * quarters[m.rx_trigger] / 4;
}

static uint32_t reg_read(uintptr_t addr)
{
    uint32_t idx = index_of(addr);
    int dlab = (m.lcr & LCR_DLAB) != 0;
    switch (idx) {
    case R_RBR_THR_DLL:
        if (dlab)
            return m.dll;
        if (!m.rx_count)
            die("RBR read with the RX FIFO empty (LSR.DR not checked)", addr);
        {
            uint8_t b = m.rx[m.rx_head];
            m.rx_err[m.rx_head] = 0;
            m.rx_head = (m.rx_head + 1) % FIFO_DEPTH;
            m.rx_count--;
            return b;
        }
    case R_IER_DLM:
        return dlab ? m.dlm : m.ier;
    case R_IIR_FCR:
        /* FIFOs on?; "received data available" (0x04) while ERBFI is set and the FIFO
         * holds its trigger level (PC16550D IIR), else no interrupt pending. The
         * character timeout is not modelled: time passes only at status polls. */
        if ((m.ier & 0x01) && m.fifo_on && m.rx_count >= trigger_level())
            return 0xc4u;
        return (m.fifo_on ? 0xc0u : 0u) | 0x01u;
    case R_LCR:
        return m.lcr;
    case R_MCR:
        return m.mcr;
    case R_LSR: {
        uint8_t v = lsr_value();
        /* Reading LSR clears OE and the top byte's PE/FE/BI. */
        m.overrun = 0;
        if (m.rx_count)
            m.rx_err[m.rx_head] = 0;
        tick();
        return v;
    }
    case R_MSR:
        return 0;
    case R_SCR:
        return m.scr;
#ifdef MODEL_DW
    case R_USR: {
        uint8_t v = usr_value();
        tick();
        return v;
    }
    case R_CPR:
        return MODEL_CPR;
#endif
    default:
        die("read of an unmodelled register", addr);
    }
}

static void reg_write(uintptr_t addr, uint32_t v)
{
    uint32_t idx = index_of(addr);
    int dlab = (m.lcr & LCR_DLAB) != 0;
    if (v > 0xff)
        die("write with bits above 7 set", addr);
    switch (idx) {
    case R_RBR_THR_DLL:
        if (dlab) {
            divisor_write(addr);
            m.dll = (uint8_t)v;
            return;
        }
        if (m.tx_count >= tx_capacity())
            die("THR written while the TX FIFO is full", addr);
        m.tx[(m.tx_head + m.tx_count) % FIFO_DEPTH] = (uint8_t)v;
        m.tx_count++;
        tx_load_shifter();              /* an idle transmitter takes it at once */
        return;
    case R_IER_DLM:
        if (dlab) {
            divisor_write(addr);
            m.dlm = (uint8_t)v;
            return;
        }
        m.ier = (uint8_t)v;
        return;
    case R_IIR_FCR: {
        int on = (v & FCR_ENABLE) != 0;
        if (on != m.fifo_on) {          /* toggling FIFO mode empties both FIFOs */
            rx_clear();
            m.tx_head = m.tx_count = 0;
        }
        m.fifo_on = on;
        m.rx_trigger = (uint8_t)(v >> 6);
        if (v & FCR_CLR_RX)
            rx_clear();
        if (v & FCR_CLR_TX)
            m.tx_head = m.tx_count = 0; /* the shifter keeps its byte */
        return;
    }
    case R_LCR:
#ifndef MODEL_UNCONFIGURED
        die("LCR written: the boot loader's framing must stay", addr);
#endif
        m.lcr_writes++;
        m.lcr = (uint8_t)v;
        return;
    case R_MCR:
        m.mcr = (uint8_t)v;
        return;
    case R_SCR:
        m.scr = (uint8_t)v;
        return;
    case R_LSR:
    case R_MSR:
#ifdef MODEL_DW
    case R_USR:
    case R_CPR:
#endif
        die("write to a read-only register", addr);
    default:
        die("write to an unmodelled register", addr);
    }
}

/* The bus: only accesses of the profile's width reach the registers. */
uint32_t model_read32(uintptr_t addr)
{
    if (BOARD_UART_IO_WIDTH != 4)
        die("32-bit read: this UART's registers are 8-bit (reg-io-width 1)", addr);
    return reg_read(addr);
}

void model_write32(uintptr_t addr, uint32_t v)
{
    if (BOARD_UART_IO_WIDTH != 4)
        die("32-bit write: this UART's registers are 8-bit (reg-io-width 1)", addr);
    reg_write(addr, v);
}

uint8_t model_read8(uintptr_t addr)
{
    if (BOARD_UART_IO_WIDTH != 1)
        die("8-bit read: reg-io-width is 4, registers are 32-bit only", addr);
    return (uint8_t)reg_read(addr);
}

void model_write8(uintptr_t addr, uint8_t v)
{
    if (BOARD_UART_IO_WIDTH != 1)
        die("8-bit write: reg-io-width is 4, registers are 32-bit only", addr);
    reg_write(addr, v);
}

/* ---- test side ---- */

void model_reset(uint8_t lcr, uint8_t dll, uint8_t dlm, uint8_t ier)
{
    memset(&m, 0, sizeof m);
    m.lcr = lcr;
    m.dll = dll;
    m.dlm = dlm;
    m.ier = ier;
    m.fifo_on = 1;                      /* as U-Boot's ns16550 driver leaves it */
}

int model_rx_push(uint8_t byte, uint8_t errors)
{
    if (m.rx_count >= (m.fifo_on ? FIFO_DEPTH : 1)) {
        m.overrun = 1;                  /* the new character is lost */
        return -1;
    }
    size_t at = (m.rx_head + m.rx_count) % FIFO_DEPTH;
    m.rx[at] = byte;
    m.rx_err[at] = errors & (LSR_PE | LSR_FE | LSR_BI);
    m.rx_count++;
    return 0;
}

void model_tx_prefill(size_t n, uint8_t byte)
{
    for (size_t i = 0; i < n; i++) {
        if (m.tx_count >= tx_capacity())
            die("model_tx_prefill beyond the TX FIFO", (uintptr_t)BOARD_UART_BASE);
        m.tx[(m.tx_head + m.tx_count) % FIFO_DEPTH] = byte;
        m.tx_count++;
    }
}

size_t model_tx_log(uint8_t *out, size_t max)
{
    size_t n = m.wire_len < max ? m.wire_len : max;
    memcpy(out, m.wire, n);
    return m.wire_len;
}

size_t model_tx_fifo_level(void) { return m.tx_count; }
int model_tx_idle(void) { return m.tx_count == 0 && !m.shifter_busy; }
size_t model_rx_fifo_level(void) { return m.rx_count; }
uint8_t model_lcr(void) { return m.lcr; }
uint8_t model_dll(void) { return m.dll; }
uint8_t model_dlm(void) { return m.dlm; }
uint8_t model_ier(void) { return m.ier; }
int model_fifos_enabled(void) { return m.fifo_on; }
uint8_t model_lsr_peek(void) { return lsr_value(); }
unsigned long model_status_polls(void) { return m.polls; }
unsigned long model_lcr_writes(void) { return m.lcr_writes; }
unsigned model_rx_trigger(void) { return m.rx_trigger; }
