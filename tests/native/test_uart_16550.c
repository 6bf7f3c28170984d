/* Host test of firmware/drivers/uart_16550.c against tests/native/uart_16550_model.c.
 * Built and run by tests/unit/test_uart_16550.py once per board variant (RK3588's DW UART
 * with and without CPR, QEMU's PCI 16550A); prints one summary line and exits 0 only if
 * every check passed. Any register access the model forbids (outside the UART,
 * misaligned, the wrong width, divisor latch on a configured UART, TX overflow, empty
 * RBR) aborts the run.
 *
 * EXPECT_TX_ROOM: the FIFO depth the driver must find (CPR, else the profile),
 * EXPECT_DEPTH_SOURCE where uart_stats must say it came from, and EXPECT_RX_BATCH the
 * bytes its receive trigger level stands for on that FIFO. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mmio.h"
#include "protocol.h"
#include "uart.h"

#define BASE ((uintptr_t)BOARD_UART_BASE)
#define REG(i) (BASE + ((uintptr_t)(i) << BOARD_UART_REG_SHIFT))
#define LSR_OE 0x02
#define LSR_ERRORS 0x9e     /* FIFOE, BI, FE, PE, OE */
#define DEPTH MODEL_FIFO_DEPTH

#if BOARD_UART_IO_WIDTH == 1
#define bus_read(a) mmio_read8(a)
#define bus_write(a, v) mmio_write8((a), (uint8_t)(v))
#else
#define bus_read(a) mmio_read32(a)
#define bus_write(a, v) mmio_write32((a), (v))
#endif

#include "check.h"

static uint8_t wire[4096];

static size_t wire_now(void)
{
    return model_tx_log(wire, sizeof wire);
}

/* The state at `booti`. RK3588: U-Boot's 8N1, divisor 1 (24 MHz / 16 = 1.5 Mbaud), an
 * interrupt enable left behind, bytes still queued for the wire and stale Ctrl-C in RX.
 * QEMU's PCI UART: untouched since reset (LCR 0, divisor 12 = 9600 baud), but with the
 * same leftovers so the same checks apply. */
static void boot_state(void)
{
#ifdef MODEL_UNCONFIGURED
    model_reset(0x00, 0x0c, 0x00, 0x05);
#else
    model_reset(0x03, 0x01, 0x00, 0x05);
#endif
    model_tx_prefill(10, 'U');
    model_rx_push(0x03, 0);
    model_rx_push(0x03, 0);
}

static void test_init(void)
{
    boot_state();
    uart_init();
    CHECK(model_lcr() == 0x03);                 /* 8N1, DLAB off */
#ifdef MODEL_UNCONFIGURED
    CHECK(model_dll() == (BOARD_UART_DIVISOR & 0xff));
    CHECK(model_dlm() == (BOARD_UART_DIVISOR >> 8));
#else
    CHECK(model_dll() == 0x01);
    CHECK(model_dlm() == 0x00);
    CHECK(model_lcr_writes() == 0);
#endif
    CHECK(model_rx_trigger() == BOARD_UART_RX_TRIGGER);
    CHECK(uart_rx_irq_batch() == EXPECT_RX_BATCH);
    CHECK(model_ier() == 0);
    CHECK(model_fifos_enabled());
    CHECK(model_rx_fifo_level() == 0);          /* stale Ctrl-C dropped */
    CHECK(model_tx_idle());
    size_t n = wire_now();                      /* U-Boot's last bytes still went out */
    CHECK(n == 10);
    CHECK(n == 10 && memcmp(wire, "UUUUUUUUUU", 10) == 0);
    CHECK((model_lsr_peek() & LSR_ERRORS) == 0);
}

static void test_putc_order(void)
{
    static const char msg[] = "hvmon on rk3588\r\n";
    boot_state();
    uart_init();
    size_t before = wire_now();
    for (const char *p = msg; *p; p++)
        uart_putc(*p);
    uart_flush();
    size_t n = wire_now();
    CHECK(n == before + strlen(msg));
    CHECK(n == before + strlen(msg) && memcmp(wire + before, msg, strlen(msg)) == 0);

    /* A burst several FIFOs long: the model aborts if a byte is ever written into a
     * full FIFO, so arriving intact and in order proves putc waits. */
    before = wire_now();
    for (int i = 0; i < 300; i++)
        uart_putc((char)(i & 0xff));
    uart_flush();
    n = wire_now();
    CHECK(n == before + 300);
    int in_order = n == before + 300;
    for (int i = 0; in_order && i < 300; i++)
        in_order = wire[before + i] == (uint8_t)(i & 0xff);
    CHECK(in_order);
}

static void test_putc_waits_when_full(void)
{
    boot_state();
    uart_init();
    model_tx_prefill(DEPTH, '.');               /* TX FIFO full */
    CHECK(model_tx_fifo_level() == DEPTH);
    size_t before = wire_now();
    unsigned long polls = model_status_polls();
    uart_putc('X');
    CHECK(model_status_polls() - polls >= DEPTH);   /* one character drains per poll */
    uart_flush();
    size_t n = wire_now();
    CHECK(n == before + DEPTH + 1);
    CHECK(n == before + DEPTH + 1 && wire[before] == '.' && wire[before + DEPTH - 1] == '.' &&
          wire[before + DEPTH] == 'X');
}

static void test_tx_room(void)
{
    boot_state();
    uart_init();
    CHECK(uart_tx_room() == EXPECT_TX_ROOM);    /* empty FIFO: all of it at once */
    uart_putc('a');
    model_tx_prefill(DEPTH - model_tx_fifo_level(), '.');
    CHECK(uart_tx_room() == 0);
    int polls = 1;
    while (uart_tx_room() == 0 && polls < 1000)
        polls++;
    CHECK(polls <= DEPTH + 2);                  /* drains one character per poll */

    /* The pattern the link layer uses: one status read, then as many bytes as it allows;
     * the model aborts on a TX FIFO overflow. */
    uart_flush();
    size_t before = wire_now();
    unsigned long status_before = model_status_polls();
    unsigned room = 0;
    for (int i = 0; i < 200; i++) {
        while (room == 0)
            room = uart_tx_room();
        uart_tx_byte((uint8_t)('A' + i % 26));
        room--;
    }
    CHECK(model_status_polls() - status_before < 200);   /* not one status read per byte */
    uart_flush();
    size_t n = wire_now();
    CHECK(n == before + 200);
    int in_order = n == before + 200;
    for (int i = 0; in_order && i < 200; i++)
        in_order = wire[before + i] == 'A' + i % 26;
    CHECK(in_order);
}

static void test_getc(void)
{
    boot_state();
    uart_init();
    CHECK(uart_getc_nonblock() == -1);
    CHECK(uart_getc_nonblock() == -1);
    model_rx_push('a', 0);
    model_rx_push('b', 0);
    model_rx_push('c', 0);
    CHECK(uart_getc_nonblock() == 'a');
    CHECK(uart_getc_nonblock() == 'b');
    CHECK(uart_getc_nonblock() == 'c');
    CHECK(uart_getc_nonblock() == -1);
    model_rx_push(0xff, 0);                     /* not confused with -1 */
    CHECK(uart_getc_nonblock() == 0xff);
    CHECK(uart_getc_nonblock() == -1);
}

static void test_getc_overrun(void)
{
    boot_state();
    uart_init();
    int lost = 0;
    for (int i = 0; i < DEPTH + 6; i++)
        lost += model_rx_push((uint8_t)('0' + i), 0) != 0;
    CHECK(lost == 6);
    CHECK(model_lsr_peek() & LSR_OE);
    int got_all = 1;
    for (int i = 0; i < DEPTH; i++)
        got_all &= uart_getc_nonblock() == '0' + i;
    CHECK(got_all);
    CHECK(uart_getc_nonblock() == -1);
    CHECK((model_lsr_peek() & LSR_ERRORS) == 0);
    model_rx_push('z', 0);                      /* and the line still works */
    CHECK(uart_getc_nonblock() == 'z');
    CHECK(uart_getc_nonblock() == -1);
}

static void test_getc_line_errors(void)
{
    boot_state();
    uart_init();
    model_rx_push('x', 0);
    model_rx_push('y', MODEL_RX_FE);
    model_rx_push('z', MODEL_RX_PE);
    model_rx_push('w', MODEL_RX_FE | MODEL_RX_PE);
    CHECK(uart_getc_nonblock() == 'x');
    CHECK(uart_getc_nonblock() == 'y');         /* handed on; the protocol's CRC decides */
    CHECK(uart_getc_nonblock() == 'z');
    CHECK(uart_getc_nonblock() == 'w');
    CHECK(uart_getc_nonblock() == -1);
    CHECK((model_lsr_peek() & LSR_ERRORS) == 0);
    model_rx_push('q', 0);
    CHECK(uart_getc_nonblock() == 'q');
}

/* With a batching trigger, IIR's "received data available" lets the driver read a whole
 * trigger level's worth without an LSR read per byte; what is left below the trigger is
 * read as before. The model dies on an RBR read of an empty FIFO, so a batch that
 * over-reads cannot pass. */
static void test_getc_batch(void)
{
    boot_state();
    uart_init();
    uart_rx_irq_enable(1);
    unsigned n = EXPECT_RX_BATCH + 2;
    for (unsigned i = 0; i < n; i++)
        model_rx_push((uint8_t)('A' + i % 26), 0);
    unsigned long polls = model_status_polls();
    int in_order = 1;
    for (unsigned i = 0; i < n; i++)
        in_order &= uart_getc_nonblock() == 'A' + (int)(i % 26);
    CHECK(in_order);
    CHECK(uart_getc_nonblock() == -1);
    /* Batch: one LSR read for each of the 2 left over and one finding the FIFO empty. */
    CHECK(model_status_polls() - polls == (EXPECT_RX_BATCH > 1 ? 3 : n + 1));
    uart_rx_irq_enable(0);
    /* IIR reports only enabled interrupts, so with a batch ERBFI stays on. */
    CHECK(model_ier() == (EXPECT_RX_BATCH > 1 ? 0x01 : 0x00));
    model_rx_push('k', 0);
    CHECK(uart_getc_nonblock() == 'k');
    CHECK(uart_getc_nonblock() == -1);
}

static void test_flush(void)
{
    boot_state();
    uart_init();
    size_t before = wire_now();
    for (const char *p = "flush-me"; *p; p++)
        uart_putc(*p);
    CHECK(!model_tx_idle());                    /* putc returned with bytes in flight */
    CHECK(wire_now() < before + 8);
    uart_flush();
    CHECK(model_tx_idle());                     /* returns only at TEMT */
    size_t n = wire_now();
    CHECK(n == before + 8 && memcmp(wire + before, "flush-me", 8) == 0);
}

static struct uart_stats stats_now(void)
{
    struct uart_stats st;
    uart_stats(&st);
    return st;
}

static void test_stats_start_at_zero_and_know_the_depth(void)
{
    boot_state();
    for (int i = 0; i < DEPTH + 3; i++)         /* boot-time noise: an overrun, flagged bytes */
        model_rx_push('n', MODEL_RX_FE);
    uart_init();
    struct uart_stats st = stats_now();
    CHECK(st.rx_bytes == 0 && st.tx_bytes == 0);
    CHECK(st.overruns == 0 && st.framing_errors == 0 && st.parity_errors == 0 && st.breaks == 0);
    CHECK(st.fifo_depth == EXPECT_TX_ROOM);
    CHECK(st.depth_source == EXPECT_DEPTH_SOURCE);
    CHECK(st.driver && strcmp(st.driver, "16550") == 0);
}

static void test_stats_count_bytes_each_way(void)
{
    boot_state();
    uart_init();
    for (const char *p = "hello"; *p; p++)
        uart_putc(*p);
    uart_flush();
    unsigned room = uart_tx_room();
    CHECK(room >= 3);
    for (int i = 0; i < 3 && room; i++)
        uart_tx_byte((uint8_t)i);
    CHECK(stats_now().tx_bytes == 8);
    model_rx_push('a', 0);
    model_rx_push('b', 0);
    model_rx_push('c', 0);
    for (int i = 0; i < 5; i++)                 /* two reads find the FIFO empty */
        (void)uart_getc_nonblock();
    CHECK(stats_now().rx_bytes == 3);
    CHECK(stats_now().overruns == 0 && stats_now().framing_errors == 0);
}

/* An overrun shows once in LSR, and any LSR read clears it: one the transmit side
 * happens to read first must still be counted, and counted once. */
static void test_stats_count_an_overrun_seen_by_any_lsr_read(void)
{
    boot_state();
    uart_init();
    for (int i = 0; i < DEPTH + 6; i++)
        model_rx_push((uint8_t)i, 0);
    CHECK(model_lsr_peek() & LSR_OE);
    (void)uart_tx_room();                       /* the transmit side reads LSR first */
    CHECK((model_lsr_peek() & LSR_OE) == 0);
    while (uart_getc_nonblock() >= 0)
        ;
    uart_flush();
    struct uart_stats st = stats_now();
    CHECK(st.overruns == 1);
    CHECK(st.rx_bytes == DEPTH);                /* the six lost never reached the driver */
    for (int i = 0; i < DEPTH + 1; i++)         /* a second overrun is a second event */
        model_rx_push((uint8_t)i, 0);
    while (uart_getc_nonblock() >= 0)
        ;
    CHECK(stats_now().overruns == 2);
}

static void test_stats_count_line_errors_once_per_character(void)
{
    boot_state();
    uart_init();
    model_rx_push('x', 0);
    model_rx_push('y', MODEL_RX_FE);
    model_rx_push('z', MODEL_RX_PE);
    model_rx_push('w', MODEL_RX_FE | MODEL_RX_PE);
    model_rx_push(0, MODEL_RX_BI | MODEL_RX_FE); /* a break reads as a NUL with BI (and FE) */
    int got = 0;
    for (int i = 0; i < 10; i++) {
        (void)uart_tx_room();                   /* extra LSR reads must not count twice */
        got += uart_getc_nonblock() >= 0;
        (void)uart_tx_room();
    }
    CHECK(got == 5);
    struct uart_stats st = stats_now();
    CHECK(st.framing_errors == 3);
    CHECK(st.parity_errors == 2);
    CHECK(st.breaks == 1);
    CHECK(st.overruns == 0);
    CHECK(st.rx_bytes == 5);
}

/* The model's guards are what make the tests above meaningful: check that each one
 * really aborts, in a child process so the abort does not end this run. */
static int aborts(void (*op)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        boot_state();
        op();
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void op_outside(void) { (void)bus_read(BASE + MODEL_WINDOW); }
static void op_below(void) { (void)bus_read(BASE - (1u << BOARD_UART_REG_SHIFT)); }
#if BOARD_UART_IO_WIDTH == 4
static void op_misaligned(void) { (void)mmio_read32(BASE + 2); }
static void op_wrong_width(void) { (void)mmio_read8(REG(5)); }
#else
static void op_wrong_width(void) { (void)mmio_read32(REG(5)); }
#endif
#ifdef MODEL_DW
static void op_unmodelled(void) { (void)bus_read(REG(0x20)); }   /* past USR */
#endif
static void op_empty_rbr(void)
{
    bus_write(REG(2), 0x07);
    (void)bus_read(REG(0));
}
static void op_overflow(void)
{
    model_tx_prefill(DEPTH - model_tx_fifo_level(), '.');
    bus_write(REG(0), 'X');
}
#ifndef MODEL_UNCONFIGURED
static void op_lcr(void) { bus_write(REG(3), 0x83); }  /* DLAB on: the way to the divisor */
#endif

static void test_model_guards(void)
{
    CHECK(aborts(op_outside));
    CHECK(aborts(op_below));
#if BOARD_UART_IO_WIDTH == 4
    CHECK(aborts(op_misaligned));
#endif
    CHECK(aborts(op_wrong_width));
#ifdef MODEL_DW
    CHECK(aborts(op_unmodelled));
#endif
    CHECK(aborts(op_empty_rbr));
    CHECK(aborts(op_overflow));
#ifndef MODEL_UNCONFIGURED
    CHECK(aborts(op_lcr));
#endif
}

int main(void)
{
    test_init();
    test_putc_order();
    test_putc_waits_when_full();
    test_tx_room();
    test_getc();
    test_getc_overrun();
    test_getc_line_errors();
    test_getc_batch();
    test_flush();
    test_stats_start_at_zero_and_know_the_depth();
    test_stats_count_bytes_each_way();
    test_stats_count_an_overrun_seen_by_any_lsr_read();
    test_stats_count_line_errors_once_per_character();
    test_model_guards();
    if (failures) {
        printf("test_uart_16550: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_uart_16550: all %d checks passed\n", checks);
    return 0;
}
