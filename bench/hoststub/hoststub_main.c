/* hoststub: the stub's text monitor and protocol engine (firmware/, unmodified) built
 * for the host and serving its link on a loopback TCP socket, so the host tool can be
 * measured against a receiver that keeps up with the line (QEMU's PL011 does not).
 *
 *   hoststub --port N | --listen 127.0.0.1:N  [--ram-mib M] [--connections K]
 *            [--memreserve ADDR,SIZE] [--reserved NAME=ADDR,SIZE[,no-map]]
 *            [--reserved-size NAME=SIZE] ...
 *
 * The reservation options put what a board's firmware reserves into the boot DTB (a
 * /memreserve/ entry; a /reserved-memory child with reg, or with only a size), so the
 * engine's handling of them can be tried without a board.
 *
 * It prints the port on stdout (N = 0: any free port), accepts a connection, prints the
 * banner on it as stub_main does and runs monitor_run(): the host's usual handshake
 * (0x00 + HELLO, which readline() hands to session_try_enter()) switches it to framed
 * mode exactly as on a board. When the host hangs up, the next of K connections (default
 * 1) continues where the engine was, like a cable plugged back into a running board:
 * same RAM, same mode, and the new host's HELLO starts a new session. What this file
 * provides instead of the stub's arch and driver code:
 *   - link.c: the socket, with receive and transmit buffers (below);
 *   - the counter: CLOCK_MONOTONIC as a 62.5 MHz CNTPCT (QEMU's rate), so retransmit and
 *     NAK timers run in real time;
 *   - RAM: an anonymous mapping at the QEMU board's RAM address, described by a small DTB;
 *     the stub's image is a separate buffer, as in tests/fuzz/fuzz_session.c;
 *   - what would leave the process's world (PSCI reset/off, BYE or Ctrl-C x3 back to the
 *     monitor through the session's exit hook, JUMP/go into loaded code) prints why and
 *     exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "console.h"
#include "link.h"
#include "memmap.h"
#include "mini_dtb.h"
#include "monitor.h"
#include "percpu.h"
#include "print.h"
#include "protocol.h"
#include "psci.h"
#include "requests.h"
#include "session.h"
#include "uart.h"

#define RAM_BASE 0x40000000UL            /* QEMU virt; bench and tests load at 0x48000000 */
#define COUNTER_HZ 62500000u             /* 16 ns per tick */
#define IDLE_POLL_MS 1
#define TX_BUFFER 65536u

/* The stub's own image: memmap_init() protects [__image_start, __image_end). */
char __image_start[65536] __attribute__((aligned(4096)));
__asm__(".globl __image_end\n.set __image_end, __image_start + 65536");
char secondary_entry[4];                 /* vm.c hands its address to PSCI CPU_ON */

static int sock = -1, listener = -1;
static unsigned connections_left;
static uint8_t rx_ring[LINK_RX_RING];
static uint32_t rx_head, rx_tail;        /* free-running, like link.c */
static uint8_t tx_buf[TX_BUFFER];
static uint32_t tx_len;

static void tx_flush(void);

/* Leave the process where the stub would leave our reach. Whatever replies are
 * buffered (BYE's OK, RESET's OK) still go out first. */
static void __attribute__((noreturn)) finish(const char *why)
{
    tx_flush();
    uint64_t in, rejected, lost;
    session_stats(&in, &rejected, &lost);
    fprintf(stderr, "hoststub: %s; exiting (frames in %lu, rejected %lu)\n", why,
            (unsigned long)in, (unsigned long)rejected);
    exit(0);
}

/* --- system registers (tests/fuzz/host/sysreg.h routes them here) --------------------- */

uint64_t fake_sysreg_read(const char *name)
{
    if (strcmp(name, "cntpct_el0") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) / 16;
    }
    if (strcmp(name, "cntfrq_el0") == 0)
        return COUNTER_HZ;
    if (strcmp(name, "CurrentEL") == 0)
        return 2 << 2;                   /* the code checks it runs at EL2 */
    if (strcmp(name, "tpidr_el2") == 0)
        return (uintptr_t)&percpus[0];
    return 0;                            /* MIDR, MPIDR, ...: only printed */
}

void fake_sysreg_write(const char *name, uint64_t value) { (void)name; (void)value; }

/* sync_icache_all() in the shadow sysreg.h: JUMP or `go` is about to branch into code
 * the host loaded, for another architecture. */
void harness_jump(void) { finish("JUMP/go would branch into loaded code"); }

/* On the board the session's end restarts the monitor on a fresh stack (main.c). */
static void __attribute__((noreturn)) session_ended(void)
{
    finish("back to the text monitor (BYE or Ctrl-C x3)");
}


int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)a1; (void)a2; (void)a3;
    if (fn == PSCI_SYSTEM_RESET)
        finish("PSCI SYSTEM_RESET");
    if (fn == PSCI_SYSTEM_OFF)
        finish("PSCI SYSTEM_OFF");
    /* CPU_ON and friends: there are no other cores here; vm_start() reports the error. */
    fprintf(stderr, "hoststub: PSCI 0x%x not supported on the host\n", fn);
    return PSCI_RET_NOT_SUPPORTED;
}

/* No guest ever runs, so no guest console produces output. */
void vm_console_tx(void *vm, uint8_t byte) { (void)vm; (void)byte; }

void uart_init(void) {}
/* The "UART" here is a TCP socket: no FIFO, no line errors; the byte counts are real. */
static uint64_t socket_rx_bytes, socket_tx_bytes;
void uart_stats(struct uart_stats *out)
{
    *out = (struct uart_stats){.rx_bytes = socket_rx_bytes, .tx_bytes = socket_tx_bytes,
                               .depth_source = UART_DEPTH_DRIVER, .driver = "hoststub-tcp"};
}
void uart_flush(void) { tx_flush(); }
/* The board UART's page, as the PL011 driver claims it, so VM_MAP refuses it here too. */
unsigned uart_claims(struct uart_claim *out)
{
    out[0] = (struct uart_claim){BOARD_UART_BASE, 0x1000};
    return 1;
}

/* --- the link (replaces firmware/link/link.c) ------------------------------------------
 * Receive: non-blocking reads into a ring the size of the stub's. TCP has flow control,
 * so when the ring is full the socket simply is not read: nothing is ever dropped and
 * link_rx_overruns() stays 0. Transmit: bytes collect in a buffer that goes out whenever
 * the engine polls or idles (link_poll, link_idle, and link_getc finding the ring empty,
 * which the main loop reaches at least once per ring's worth of input) or it fills. */

static void accept_host(void)
{
    sock = accept(listener, NULL, NULL);
    if (sock < 0) {
        perror("hoststub: accept");
        exit(1);
    }
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connections_left--;
}

/* Bytes not yet sent are lost with the cable; bytes already received stay in the ring. */
static void hung_up(void)
{
    tx_len = 0;
    if (connections_left == 0)
        finish("the host hung up");
    close(sock);
    fprintf(stderr, "hoststub: the host hung up; waiting for the next connection\n");
    accept_host();
}

static void rx_fill(void)
{
    while (rx_head - rx_tail < LINK_RX_RING) {
        uint32_t at = rx_head % LINK_RX_RING;
        uint32_t room = LINK_RX_RING - (rx_head - rx_tail);
        if (room > LINK_RX_RING - at)
            room = LINK_RX_RING - at;    /* up to the end of the ring; the rest next turn */
        ssize_t n = recv(sock, rx_ring + at, room, MSG_DONTWAIT);
        if (n > 0) {
            rx_head += (uint32_t)n;
            socket_rx_bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        hung_up();                       /* 0: orderly close; anything else: reset */
    }
}

static void tx_flush(void)
{
    uint32_t sent = 0;
    while (sent < tx_len && sock >= 0) {
        ssize_t n = send(sock, tx_buf + sent, tx_len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += (uint32_t)n;
            socket_tx_bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            hung_up();                   /* clears tx_len: the loop ends */
            break;
        }
        /* The socket is full: keep receiving meanwhile, like link_putc on a busy UART,
         * so neither side can block the other. */
        struct pollfd p = {sock, POLLOUT, 0};
        if (rx_head - rx_tail < LINK_RX_RING)
            p.events |= POLLIN;
        if (poll(&p, 1, -1) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            rx_fill();
    }
    tx_len = 0;
}

void link_poll(void)
{
    tx_flush();
    rx_fill();
}

int link_getc(void)
{
    if (rx_head == rx_tail)
        link_poll();
    if (rx_head == rx_tail)
        return -1;
    return rx_ring[rx_tail++ % LINK_RX_RING];
}

/* The stub would WFI until the UART interrupt or its 5 ms tick; here poll() wakes as
 * soon as bytes arrive, and the timeout keeps the engine's timers turning. */
void link_idle(void)
{
    link_poll();
    if (rx_head != rx_tail)
        return;
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, IDLE_POLL_MS) > 0)
        rx_fill();
}

void link_putc(uint8_t c)
{
    if (tx_len == TX_BUFFER)
        tx_flush();
    tx_buf[tx_len++] = c;
}

void link_write(const uint8_t *data, uint32_t len)
{
    while (len) {
        if (tx_len == TX_BUFFER)
            tx_flush();
        uint32_t n = TX_BUFFER - tx_len < len ? TX_BUFFER - tx_len : len;
        memcpy(tx_buf + tx_len, data, n);
        tx_len += n;
        data += n;
        len -= n;
    }
}

uint32_t link_rx_overruns(void) { return 0; }

/* --- RAM and the boot DTB: tests/fuzz/host/mini_dtb.h's memory node, so memmap_init()
 * takes the RAM map "from DTB", and the reservations the command line asks for. */
#define MAX_RESERVATIONS 40              /* more than the stub's table: its merging shows */
static uint8_t dtb[MINI_DTB_MAX] __attribute__((aligned(8)));
static struct mini_reservation reservations[MAX_RESERVATIONS];
static unsigned reservation_count;

/* --- start-up ------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: hoststub --port N | --listen 127.0.0.1:N [--ram-mib M] "
            "[--connections K] [--memreserve ADDR,SIZE] [--reserved NAME=ADDR,SIZE[,no-map]] "
            "[--reserved-size NAME=SIZE]\n");
    exit(2);
}

/* One reservation option's value: NAME (up to '=': node names may hold commas), ADDR and
 * SIZE (numbers in C syntax); the name stays in argv. */
static void add_reservation(const char *kind, char *spec)
{
    if (reservation_count == MAX_RESERVATIONS)
        usage();
    struct mini_reservation *r = &reservations[reservation_count++];
    memset(r, 0, sizeof *r);
    char *end;
    if (strcmp(kind, "--memreserve") != 0) {
        r->name = spec;
        spec = strchr(spec, '=');
        if (spec == NULL || spec == r->name)
            usage();
        *spec++ = '\0';
    }
    r->dynamic = strcmp(kind, "--reserved-size") == 0;
    if (!r->dynamic) {
        r->base = strtoull(spec, &end, 0);
        if (end == spec || *end != ',')
            usage();
        spec = end + 1;
    }
    r->size = strtoull(spec, &end, 0);
    if (end == spec || r->size == 0)
        usage();
    if (*end == ',' && r->name && !r->dynamic && strcmp(end + 1, "no-map") == 0)
        r->no_map = 1;
    else if (*end != '\0')
        usage();
}

static int listen_loopback(long port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
        perror("hoststub: listen");
        exit(1);
    }
    printf("%u\n", ntohs(a.sin_port));   /* the one line a wrapper waits for */
    fflush(stdout);
    return s;
}

int main(int argc, char **argv)
{
    long port = -1;
    unsigned long ram_mib = 512, connections = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strncmp(v, "127.0.0.1:", 10) != 0)
                usage();                 /* loopback only: the stub trusts its host fully */
            port = strtol(v + 10, NULL, 10);
        } else if (strcmp(argv[i], "--ram-mib") == 0 && i + 1 < argc) {
            ram_mib = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            connections = strtoul(argv[++i], NULL, 10);
        } else if ((strcmp(argv[i], "--memreserve") == 0 || strcmp(argv[i], "--reserved") == 0 ||
                    strcmp(argv[i], "--reserved-size") == 0) && i + 1 < argc) {
            add_reservation(argv[i], argv[i + 1]);
            i++;
        } else {
            usage();
        }
    }
    if (port < 0 || port > 65535 || ram_mib == 0 || ram_mib > 4096 || connections == 0 ||
        connections > 1000)
        usage();

    /* Requests name physical addresses and the engine dereferences them as they are, so
     * RAM must sit at the board's address in this process. NORESERVE: pages the host
     * never writes cost nothing. */
    uint64_t ram_size = (uint64_t)ram_mib << 20;
    void *ram = mmap((void *)RAM_BASE, ram_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (ram == MAP_FAILED || ram != (void *)RAM_BASE) {
        fprintf(stderr, "hoststub: cannot map RAM at 0x%lx: %s\n", RAM_BASE, strerror(errno));
        return 1;
    }
    if (mini_dtb_build_reserved(dtb, sizeof dtb, RAM_BASE, ram_size, reservations,
                                reservation_count) == 0) {
        fprintf(stderr, "hoststub: the reservations do not fit a %zu-byte DTB\n", sizeof dtb);
        return 1;
    }

    listener = listen_loopback(port);
    connections_left = (unsigned)connections;
    accept_host();

    /* What start.S and stub_main() do, minus the UART, GIC and idle-timer set-up. */
    percpu_init_boot();
    console_attach(&session_console_link);
    session_on_request(request_handle);
    print_set_output(console_putc);
    session_on_exit(session_ended);
    memmap_init(dtb);
    printf_("\n");
    print_info();
    puts_("type 'help' for commands");
    monitor_run();
}
