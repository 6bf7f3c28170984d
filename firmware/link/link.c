#include "link.h"

#include "idle.h"
#include "timer.h"
#include "uart.h"

static uint8_t ring[LINK_RX_RING];
static uint32_t head, tail;        /* free-running; index with % LINK_RX_RING */
static uint32_t overruns;
static uint64_t last_rx;           /* timer_now() when a byte last arrived */
static uint32_t since_sleep;       /* bytes received since the boot core last slept */
static unsigned tx_room;           /* bytes the UART takes before its status is read again */

/* On a UART that interrupts for every byte (QEMU's PL011), while the host streams (a
 * transfer: frames of kilobytes back to back), bytes come every ~7 us at 1.5 Mbaud and
 * waking from WFI for each costs more than that (on QEMU a host thread wake-up), so the
 * boot core keeps polling for LINK_SPIN_US after the last byte.
 * Acknowledgements and small requests are no stream: then it sleeps at once, because on
 * QEMU every poll takes the emulator's global lock, which a running guest's vCPU needs
 * for its own timer and interrupt registers. */
#define LINK_SPIN_US 200
#define LINK_STREAM_BYTES 512
/* Within one small frame QEMU hands over a byte per main-loop turn (~10 us here): poll
 * through such gaps rather than sleep and wake for every byte. */
#define LINK_FRAME_GAP_US 50

void link_poll(void)
{
    int c, got = 0;
    while ((c = uart_getc_nonblock()) >= 0) {
        got++;
        if (head - tail == LINK_RX_RING) {
            overruns++;
            continue;
        }
        ring[head++ % LINK_RX_RING] = (uint8_t)c;
    }
    if (got) {
        last_rx = timer_now();
        since_sleep += (uint32_t)got;
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
    if (head != tail)
        return;
    uint64_t quiet = timer_now() - last_rx;
    /* A UART whose receive interrupt waits for a FIFO's worth wakes the core once per
     * batch, which is cheaper than polling for it. On QEMU's 16550 (trigger 14) polling
     * costs twice: every RBR read the guest makes wakes QEMU's main loop
     * (qemu_chr_fe_accept_input, and the FIFO timeout re-armed), which then takes only
     * what the read freed (serial_can_receive), so a core draining as bytes trickle in
     * has it read 6-7 bytes from its socket at a time; left alone until the interrupt,
     * 10-12 (bench/qemu_line.py, boards/qemu-virt-16550/README.md). */
    if (uart_rx_irq_batch() == 1 &&
        quiet <= timer_us(since_sleep >= LINK_STREAM_BYTES ? LINK_SPIN_US : LINK_FRAME_GAP_US))
        return;
    idle_wait();
    since_sleep = 0;
}

void link_putc(uint8_t c)
{
    while (tx_room == 0) {
        tx_room = uart_tx_room();
        if (tx_room == 0)
            link_poll();
    }
    uart_tx_byte(c);
    tx_room--;
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
