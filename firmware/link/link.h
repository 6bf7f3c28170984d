/* The byte stream to the host, as the protocol engine sees it. A real debug UART has a
 * 64-byte receive FIFO and no flow control (RK3588: full in ~0.4 ms at 1.5 Mbaud), so
 * every wait in the stub -- for transmit room, in long CRC or fill loops -- keeps moving
 * received bytes into a software ring, and nothing arriving meanwhile is lost. */
#ifndef HVMON_LINK_H
#define HVMON_LINK_H

#include <stdint.h>

#define LINK_RX_RING 65536u

/* Move whatever the UART holds into the ring. Cheap; call it from any long loop. */
void link_poll(void);
/* Next received byte, or -1. */
int link_getc(void);
/* Send one byte, draining the receiver while the transmitter is busy. */
void link_putc(uint8_t c);
void link_write(const uint8_t *data, uint32_t len);
/* Nothing received and nothing to do: sleep until the UART, a guest core or the
 * idle tick wakes the boot core. Returns at once when a byte is waiting. */
void link_idle(void);
/* Bytes dropped because the ring was full (only if the stub stalled far too long). */
uint32_t link_rx_overruns(void);

#endif
