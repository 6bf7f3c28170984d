/* Host test of firmware/drivers/uart_pl011.c's counters and FIFO depth against
 * tests/native/uart_pl011_model.c. Built and run by tests/unit/test_uart_pl011.py; prints
 * one summary line and exits 0 only if every check passed. Any register access the model
 * forbids aborts the run. */
#include <stdio.h>
#include <string.h>
#include "mmio.h"
#include "protocol.h"
#include "uart.h"
#include "uart_pl011_model.h"

#include "check.h"

static struct uart_stats stats_now(void)
{
    struct uart_stats st;
    uart_stats(&st);
    return st;
}

static void drain_rx(void)
{
    while (uart_getc_nonblock() >= 0)
        ;
}

static void test_depth_and_a_clean_start(void)
{
    pl011_model_reset(1);
    pl011_model_rx_push('x', PL011_MODEL_FE);   /* boot-time noise stays uncounted */
    uart_init();
    struct uart_stats st = stats_now();
    CHECK(st.fifo_depth == 16 && st.depth_source == UART_DEPTH_DRIVER);
    CHECK(st.driver && strcmp(st.driver, "pl011") == 0);
    CHECK(st.rx_bytes == 0 && st.tx_bytes == 0 && st.overruns == 0 && st.framing_errors == 0);
    drain_rx();

    pl011_model_reset(0);                        /* FIFOs off: one byte at a time */
    uart_init();
    CHECK(stats_now().fifo_depth == 1);
    CHECK(uart_tx_room() == 1);
}

static void test_bytes_each_way(void)
{
    pl011_model_reset(1);
    uart_init();
    unsigned ecr = pl011_model_ecr_writes();     /* uart_init clears what U-Boot left */
    for (const char *p = "hello"; *p; p++)
        uart_putc(*p);
    uart_flush();
    unsigned room = uart_tx_room();
    CHECK(room == 16);
    for (unsigned i = 0; i < room; i++)
        uart_tx_byte((uint8_t)i);
    uart_flush();
    CHECK(pl011_model_wire_len() == 21);
    CHECK(stats_now().tx_bytes == 21);
    for (int i = 0; i < 10; i++)
        pl011_model_rx_push((uint8_t)i, 0);
    int got = 0;
    for (int i = 0; i < 14; i++)
        got += uart_getc_nonblock() >= 0;
    CHECK(got == 10 && stats_now().rx_bytes == 10);
    CHECK(pl011_model_ecr_writes() == ecr);      /* nothing flagged: no error clearing */
}

static void test_line_errors_once_per_character(void)
{
    pl011_model_reset(1);
    uart_init();
    pl011_model_rx_push('a', 0);
    pl011_model_rx_push('b', PL011_MODEL_FE);
    pl011_model_rx_push('c', PL011_MODEL_PE);
    pl011_model_rx_push('d', PL011_MODEL_FE | PL011_MODEL_PE);
    pl011_model_rx_push(0, PL011_MODEL_BE | PL011_MODEL_FE);
    CHECK(uart_getc_nonblock() == 'a');
    CHECK(uart_getc_nonblock() == 'b');          /* handed on: the protocol's CRC decides */
    CHECK(uart_getc_nonblock() == 'c');
    CHECK(uart_getc_nonblock() == 'd');
    CHECK(uart_getc_nonblock() == 0);
    CHECK(uart_getc_nonblock() == -1);
    struct uart_stats st = stats_now();
    CHECK(st.framing_errors == 3 && st.parity_errors == 2 && st.breaks == 1);
    CHECK(st.overruns == 0 && st.rx_bytes == 5);
}

/* One overrun is one event, not one per character read while the FIFO drains: the
 * driver clears the status through UARTECR after the read that shows it. */
static void test_an_overrun_counts_once(void)
{
    pl011_model_reset(1);
    uart_init();
    int lost = 0;
    for (int i = 0; i < 16 + 5; i++)
        lost += pl011_model_rx_push((uint8_t)i, 0) != 0;
    CHECK(lost == 5 && pl011_model_overrun());
    int got = 0;
    while (uart_getc_nonblock() >= 0)
        got++;
    CHECK(got == 16);
    CHECK(!pl011_model_overrun());
    struct uart_stats st = stats_now();
    CHECK(st.overruns == 1 && st.rx_bytes == 16);
    CHECK(st.framing_errors == 0 && st.parity_errors == 0 && st.breaks == 0);
    for (int i = 0; i < 17; i++)                 /* a second overrun is a second event */
        pl011_model_rx_push((uint8_t)i, 0);
    drain_rx();
    CHECK(stats_now().overruns == 2);
}

int main(void)
{
    test_depth_and_a_clean_start();
    test_bytes_each_way();
    test_line_errors_once_per_character();
    test_an_overrun_counts_once();
    if (failures) {
        printf("test_uart_pl011: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_uart_pl011: all %d checks passed\n", checks);
    return 0;
}
