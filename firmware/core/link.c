#include "link.h"

#include "idle.h"
#include "uart.h"

static uint8_t ring[LINK_RX_RING];
static uint32_t head, tail;        /* free-running; index with % LINK_RX_RING */
static uint32_t overruns;

void link_poll(void)
{
    int c;
    while ((c = uart_getc_nonblock()) >= 0) {
        if (head - tail == LINK_RX_RING) {
            overruns++;
            continue;
        }
        ring[head++ % LINK_RX_RING] = (uint8_t)c;
    }
}

int link_getc(void)
{
    if (head == tail)
        link_poll();
    if (head == tail)
        return -1;
    return ring[tail++ % LINK_RX_RING];
}

void link_idle(void)
{
    link_poll();
    if (head == tail)
        idle_wait();
}

void link_putc(uint8_t c)
{
    while (!uart_tx_ready())
        link_poll();
    uart_putc((char)c);
}

void link_write(const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        link_putc(data[i]);
}

uint32_t link_rx_overruns(void)
{
    return overruns;
}
