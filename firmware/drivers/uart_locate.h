/* For a board whose UART has no fixed address (the profile sets [firmware] uart_locator
 * instead of uart_base): the driver named there finds it at start-up. Exactly one
 * locator is linked in, like the UART driver itself (firmware/sources.mk). */
#ifndef HVMON_UART_LOCATE_H
#define HVMON_UART_LOCATE_H

#include <stdint.h>
#include "uart.h"

/* The physical address of the UART's register block, made reachable (e.g. a PCI BAR
 * assigned and decoding). Does not return when the UART is missing: the stub has no
 * other line to say so on, and the host's bring-up then reports that no banner came. */
uintptr_t uart_locate(void);

/* Ranges besides the register page that place the UART (a PCI function's configuration
 * space): no guest may be handed them, or it could move the stub's UART. At most room
 * entries; returns how many. */
unsigned uart_locate_claims(struct uart_claim *out, unsigned room);

#endif
