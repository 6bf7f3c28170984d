/* libFuzzer harness for the stub's host link: COBS decoding, frame checks, the selective-
 * repeat window and every request handler (memory, inflate, hypercalls, VM management),
 * compiled unmodified from firmware/ for the host. The RAM map is a host buffer described
 * by a generated DTB that also reserves two pieces of it (a /memreserve/ entry and a
 * /reserved-memory child), which no request may write; the stub's "image" is another
 * buffer that no request may write either.
 *
 * Input: byte 0 picks the mode. Even: the rest is raw line bytes after a HELLO. Odd: the
 * rest is a list of requests (u16 length + payload) that the harness frames correctly,
 * so the fuzzer reaches the handlers without having to find CRCs. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "console.h"
#include "crc32c.h"
#include "memmap.h"
#include "mini_dtb.h"
#include "percpu.h"
#include "print.h"
#include "protocol.h"
#include "requests.h"
#include "session.h"
#include "uart.h"

#define RAM_SIZE (2u << 20)
#define GUARD 4096
/* Reserved in the DTB: offsets into RAM and sizes. */
#define MEMRESERVE_AT 0x100000u
#define MEMRESERVE_SIZE 0x10000u
#define NODE_AT 0x180000u
#define NODE_SIZE 0x20000u
#define RESERVED_FILL 0x5A

static uint8_t *arena;                 /* guard | RAM | guard */
static uint8_t *ram;
/* The stub's own image: a buffer whose end symbol the assembler places right after it. */
char __image_start[65536] __attribute__((aligned(4096)));
__asm__(".globl __image_end\n.set __image_end, __image_start + 65536");
char secondary_entry[4];
static uint8_t image_copy[sizeof __image_start];
static jmp_buf escape;
static const uint8_t *in_data;
static size_t in_len, in_pos;
static unsigned idle_reads;
static uint64_t fake_clock;

uint64_t fake_sysreg_read(const char *name)
{
    if (strcmp(name, "cntpct_el0") == 0)
        return fake_clock += 1000;
    if (strcmp(name, "cntfrq_el0") == 0)
        return 62500000;
    if (strcmp(name, "CurrentEL") == 0)
        return 2 << 2;
    if (strcmp(name, "tpidr_el2") == 0)
        return (uintptr_t)&percpus[0];
    return 0;
}

void fake_sysreg_write(const char *name, uint64_t value)
{
    (void)name;
    (void)value;
}

int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)fn; (void)a1; (void)a2; (void)a3;
    longjmp(escape, 2);                /* RESET, or starting a VM's core: the input ends */
}

/* JUMP branches to the target after replying: leave before that happens. */
void harness_jump(void) { longjmp(escape, 3); }

void vm_console_tx(void *vm, uint8_t byte) { (void)vm; (void)byte; }

/* BYE or Ctrl-C x3: on the board the monitor starts again; here the input ends. */
static void __attribute__((noreturn)) session_ended(void) { longjmp(escape, 4); }

int link_getc(void)
{
    if (in_pos < in_len)
        return in_data[in_pos++];
    fake_clock += 62500000;            /* time passes: timers fire */
    if (++idle_reads > 64)
        longjmp(escape, 1);
    return -1;
}

void link_poll(void) {}
void link_idle(void) {}
uint32_t link_rx_overruns(void) { return 0; }

/* Every frame the stub sends must be well formed. */
static uint8_t out_frame[8192];
static size_t out_len;

static void check_output_frame(void)
{
    uint8_t raw[8192];
    struct cobs_decoder d;
    cobs_decoder_start(&d, raw, sizeof raw);
    for (size_t i = 0; i < out_len; i++)
        cobs_decoder_byte(&d, out_frame[i]);
    long n = cobs_decoder_finish(&d);
    if (n < 12 || raw[0] < 0x10 || raw[0] > 0x14)
        abort();
    uint32_t plen = raw[6] | raw[7] << 8;
    if ((long)plen + 12 != n)
        abort();
    uint32_t crc = raw[n - 4] | raw[n - 3] << 8 | raw[n - 2] << 16 | (uint32_t)raw[n - 1] << 24;
    if (crc != crc32c(raw, (size_t)n - 4))
        abort();
}

void link_putc(uint8_t c)
{
    if (c == 0) {
        if (out_len)
            check_output_frame();
        out_len = 0;
        return;
    }
    if (out_len < sizeof out_frame)
        out_frame[out_len++] = c;
    else
        abort();                       /* no frame may be this long */
}

void link_write(const uint8_t *data, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        link_putc(data[i]);
}

void uart_putc(char c) { (void)c; }
unsigned uart_tx_room(void) { return 16; }
void uart_tx_byte(uint8_t c) { (void)c; }
int uart_getc_nonblock(void) { return -1; }
void uart_flush(void) {}
void uart_init(void) {}
void uart_stats(struct uart_stats *out) { *out = (struct uart_stats){.driver = "fuzz"}; }
unsigned uart_claims(struct uart_claim *out)
{
    out[0] = (struct uart_claim){BOARD_UART_BASE, 0x1000};
    return 1;
}

static uint8_t dtb[MINI_DTB_MAX] __attribute__((aligned(8)));

static int reserved_intact(void)
{
    for (unsigned i = 0; i < MEMRESERVE_SIZE; i++)
        if (ram[MEMRESERVE_AT + i] != RESERVED_FILL)
            return 0;
    for (unsigned i = 0; i < NODE_SIZE; i++)
        if (ram[NODE_AT + i] != RESERVED_FILL)
            return 0;
    return 1;
}

static void send_frame(uint8_t type, uint16_t seq, const uint8_t *payload, uint16_t len,
                       uint8_t *line, size_t *line_len, size_t cap)
{
    uint8_t raw[8 + 4400 + 4], enc[8 + 4400 + 4 + 40];
    raw[0] = type; raw[1] = 0; raw[2] = seq; raw[3] = seq >> 8; raw[4] = 0; raw[5] = 0;
    raw[6] = len; raw[7] = len >> 8;
    memcpy(raw + 8, payload, len);
    uint32_t crc = crc32c(raw, 8u + len);
    raw[8 + len] = crc; raw[9 + len] = crc >> 8; raw[10 + len] = crc >> 16; raw[11 + len] = crc >> 24;
    size_t n = cobs_encode(raw, 12u + len, enc);
    if (*line_len + n + 1 > cap)
        return;
    memcpy(line + *line_len, enc, n);
    *line_len += n;
    line[(*line_len)++] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t line[1 << 17];
    size_t line_len = 0;
    if (!arena) {
        arena = aligned_alloc(4096, RAM_SIZE + 2 * GUARD);
        ram = arena + GUARD;
        struct mini_reservation reserved[] = {
            {NULL, (uintptr_t)ram + MEMRESERVE_AT, MEMRESERVE_SIZE, 0, 0},
            {"tee@fuzz", (uintptr_t)ram + NODE_AT, NODE_SIZE, 1, 0},
            {"linux,cma", 0, 0x100000, 0, 1},
        };
        mini_dtb_build_reserved(dtb, sizeof dtb, (uintptr_t)ram, RAM_SIZE, reserved,
                                sizeof reserved / sizeof reserved[0]);
        console_attach(&session_console_link);    /* as stub_main does */
        session_on_request(request_handle);
        print_set_output(console_putc);
        session_on_exit(session_ended);
    }
    if (size == 0)
        return 0;
    memset(arena, 0xA5, GUARD);
    memset(arena + GUARD + RAM_SIZE, 0xA5, GUARD);
    memset(ram + MEMRESERVE_AT, RESERVED_FILL, MEMRESERVE_SIZE);
    memset(ram + NODE_AT, RESERVED_FILL, NODE_SIZE);
    memcpy(image_copy, __image_start, sizeof image_copy);
    memmap_init(dtb);

    uint8_t hello[6] = {0x48, 0x56, 0x4d, 0x4e, 1, 0};
    line[line_len++] = 0;
    send_frame(0x13, 0, hello, sizeof hello, line, &line_len, sizeof line);
    if (data[0] & 1) {
        uint16_t seq = 0;
        size_t at = 1;
        while (at + 2 <= size) {
            uint16_t len = (uint16_t)(data[at] | data[at + 1] << 8) % 4400;
            at += 2;
            if (len > size - at)
                len = (uint16_t)(size - at);
            send_frame(0x10, seq++, data + at, len, line, &line_len, sizeof line);
            at += len;
        }
    } else if (size - 1 < sizeof line - line_len) {
        memcpy(line + line_len, data + 1, size - 1);
        line_len += size - 1;
    }
    in_data = line;
    in_len = line_len;
    in_pos = 1;                        /* the text monitor already consumed the first NUL */
    idle_reads = 0;
    out_len = 0;
    if (setjmp(escape) == 0)
        session_try_enter();
    session_leave();

    for (unsigned i = 0; i < GUARD; i++)
        if (arena[i] != 0xA5 || arena[GUARD + RAM_SIZE + i] != 0xA5)
            abort();                   /* a request wrote outside the RAM map */
    if (memcmp(image_copy, __image_start, sizeof image_copy) != 0)
        abort();                       /* a request wrote into the stub */
    if (!reserved_intact())
        abort();                       /* a request wrote into reserved memory */
    return 0;
}
