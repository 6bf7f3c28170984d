#include "link.h"

#include "idle.h"
#include "timer.h"
#include "uart.h"

static uint8_t ring[LINK_RX_RING];
static uint32_t head, tail;        /* free-running; index with % LINK_RX_RING */
static uint32_t overruns;
static uint64_t last_rx;           /* timer_now() when a byte last arrived */

/* How long the boot core keeps polling after the last received byte before it sleeps.
 * While the host streams, bytes come every ~7 us at 1.5 Mbaud; waking from WFI for each
 * costs more than that (on QEMU a host thread wake-up), so sleep only in real pauses. */
#define LINK_SPIN_US 200

void link_poll(void)
{
    int c, got = 0;
    while ((c = uart_getc_nonblock()) >= 0) {
        got = 1;
        if (head - tail == LINK_RX_RING) {
            overruns++;
            continue;
        }
        ring[head++ % LINK_RX_RING] = (uint8_t)c;
    }
    if (got)
        last_rx = timer_now();
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
    if (head == tail && timer_now() - last_rx > timer_us(LINK_SPIN_US))
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
