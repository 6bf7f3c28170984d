/* Test side of the PL011 register model (tests/native/uart_pl011_model.c). */
#ifndef HVMON_UART_PL011_MODEL_H
#define HVMON_UART_PL011_MODEL_H

#include <stdint.h>

/* UARTDR status bits (DDI 0183 3.3.1), for pl011_model_rx_push. */
#define PL011_MODEL_FE 0x100
#define PL011_MODEL_PE 0x200
#define PL011_MODEL_BE 0x400
#define PL011_MODEL_OE 0x800

void pl011_model_reset(int fifos_on);
int pl011_model_rx_push(uint8_t byte, uint16_t status);    /* 0, or -1 when it overran */
unsigned pl011_model_wire_len(void);                       /* bytes that left the wire */
unsigned pl011_model_ecr_writes(void);
int pl011_model_overrun(void);

#endif
