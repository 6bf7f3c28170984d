/* Host stand-in for firmware/drivers/mmio.h: the same four calls, forwarded to a
 * register model instead of the bus. Put tests/native first on the include path so a
 * driver's #include "mmio.h" lands here; the include guard is the firmware's own, so
 * the two can never both be pulled into one translation unit. */
#ifndef HVMON_MMIO_H
#define HVMON_MMIO_H

#include <stddef.h>
#include <stdint.h>

/* Bus side: implemented by the device model linked into the test. */
uint32_t model_read32(uintptr_t addr);
void model_write32(uintptr_t addr, uint32_t v);
uint8_t model_read8(uintptr_t addr);
void model_write8(uintptr_t addr, uint8_t v);

static inline uint32_t mmio_read32(uintptr_t addr)
{
    return model_read32(addr);
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    model_write32(addr, v);
}

static inline uint8_t mmio_read8(uintptr_t addr)
{
    return model_read8(addr);
}

static inline void mmio_write8(uintptr_t addr, uint8_t v)
{
    model_write8(addr, v);
}

/* Test side of the 16550 model (tests/native/uart_16550_model.c). Declared here,
 * where the model itself includes them, so the compiler checks both ends agree. None
 * of these touch the status-poll clock the driver sees. */
#define MODEL_RX_FE 0x08    /* framing error on this byte (LSR.FE value) */
#define MODEL_RX_PE 0x04    /* parity error on this byte (LSR.PE value) */
#define MODEL_RX_BI 0x10    /* a break, received as this byte (LSR.BI value) */

void model_reset(uint8_t lcr, uint8_t dll, uint8_t dlm, uint8_t ier);
int model_rx_push(uint8_t byte, uint8_t errors);      /* 0, or -1 when it overran */
void model_tx_prefill(size_t n, uint8_t byte);        /* bytes already queued by U-Boot */
size_t model_tx_log(uint8_t *out, size_t max);        /* bytes that left the wire */
size_t model_tx_fifo_level(void);
int model_tx_idle(void);                              /* TX FIFO and shifter empty */
size_t model_rx_fifo_level(void);
uint8_t model_lcr(void);
uint8_t model_dll(void);
uint8_t model_dlm(void);
uint8_t model_ier(void);
int model_fifos_enabled(void);
uint8_t model_lsr_peek(void);                         /* LSR without read side effects */
unsigned long model_status_polls(void);               /* LSR + USR reads so far */
unsigned long model_lcr_writes(void);
unsigned model_rx_trigger(void);                     /* FCR bits 7:6 last written */

#endif
