/* The stub's own serial line: one driver per UART kind, picked by the board profile
 * (boards/<name>/board.toml, [firmware] uart = ...). Exactly one driver is linked in,
 * so there is no table of function pointers: the early boot path may run before the
 * image is known to sit at its link address. */
#ifndef HVMON_UART_H
#define HVMON_UART_H

#include <stdint.h>

/* Take over the UART the boot loader left configured; keep its baud rate and framing. */
void uart_init(void);
/* Wait for room in the transmit FIFO, then send one byte. */
void uart_putc(char c);
/* How many bytes uart_tx_byte may send now without waiting: the whole FIFO when it is
 * empty, else 0 or 1. One status read per FIFO-full instead of one per byte matters on
 * QEMU, where every UART register access takes QEMU's global lock and so stalls the
 * guest's vCPU while the boot core streams console output. */
unsigned uart_tx_room(void);
/* Send one byte; the caller got room for it from uart_tx_room. */
void uart_tx_byte(uint8_t c);
/* One received byte, or -1 when the receive FIFO is empty. Never blocks. */
int uart_getc_nonblock(void);
/* How many received bytes the receive interrupt waits for before it rises (fewer raise it
 * after the UART's character timeout); 1 when it rises for every byte. With more, the
 * boot core can sleep between FIFO-fulls instead of polling through a stream. */
unsigned uart_rx_irq_batch(void);
/* Raise the UART's interrupt while received data waits (the boot core sleeps on it), or
 * not: while the stub polls, an interrupt line toggling with every byte only costs. */
void uart_rx_irq_enable(int enable);
/* Wait until every byte handed to uart_putc has left the shift register. */
void uart_flush(void);

/* What the link UART has seen since uart_init, for UART_STATS and the monitor's `uart`.
 * Errors are counted as the UART reports them: an overrun is one event however many
 * characters it cost (neither the PL011 nor the 16550 counts those), a framing or parity
 * error or a break one per character the UART flags. */
struct uart_stats {
    uint64_t rx_bytes;          /* handed out by uart_getc_nonblock */
    uint64_t tx_bytes;          /* written to the transmit FIFO */
    uint32_t overruns, framing_errors, parity_errors, breaks;
    uint32_t fifo_depth;        /* bytes, as the driver uses it (1: FIFOs off) */
    uint32_t depth_source;      /* UART_DEPTH_* (protocol.h): where that number came from */
    const char *driver;         /* "pl011", "16550" */
};
void uart_stats(struct uart_stats *out);

/* A physical range the stub's UART depends on: its registers, and on a board where the
 * UART is found on a bus (PCI), the configuration space that places it there. */
struct uart_claim {
    uint64_t base, size;
};
#define UART_MAX_CLAIMS 2
/* Fill out[] with what no guest may be handed (UART_MAX_CLAIMS at most); returns how
 * many. Valid after uart_init. */
unsigned uart_claims(struct uart_claim *out);

#endif
