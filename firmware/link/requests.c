#include "requests.h"

#include "bytes.h"
#include <cache.h>    /* <>: host builds shadow it */
#include "crc32.h"
#include "deflate.h"
#include "el2_mmu.h"
#include "gicv3.h"
#include "hypercall.h"
#include "inflate.h"
#include "ivc.h"
#include "unlzma.h"
#include "libc.h"
#include "link.h"
#include "memmap.h"
#include "print.h"
#include "protocol.h"
#include "psci.h"
#include "session.h"
#include "snapshot.h"
#include "snapshot_install.h"
#include "stage2.h"
#include "uart.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "vm.h"

#define ACK_WAIT_MS 1000
#define POLL_EVERY 4096u    /* bytes of CRC or fill work between link polls */

/* Compressed data waits here until MEM_INFLATE; inside the stub image, so protected. */
static uint8_t staging[PROTO_STAGING_SIZE];
static uint8_t response[PROTO_MAX_PAYLOAD];
/* MEM_READ_DEFLATE's history and range, copied before compressing: a running guest may
 * change them meanwhile, and the stream and its CRC must describe the same bytes. */
static uint8_t read_copy[PROTO_INFLATE_HISTORY + PROTO_DATA_CHUNK];

struct request {
    const uint8_t *p;
    uint32_t len;
    uint8_t cmd;
    uint16_t tag;
};

/* The request being carried out (cmd 0: none) and whether it was answered yet: a fault
 * in it must still answer it once, or the host's requests and answers fall out of step. */
static struct request current;
static int current_answered;

static void respond(const struct request *rq, unsigned status, uint32_t body_len)
{
    current_answered = 1;
    response[0] = (uint8_t)(rq->cmd | CMD_RESPONSE);
    response[1] = (uint8_t)status;
    put16(response + 2, rq->tag);
    session_send(CHANNEL_CONTROL, response, PROTO_PAYLOAD_HEADER + body_len);
}

/* An error response carries a one-line reason instead of the fields. */
static void refuse(const struct request *rq, unsigned status, const char *why)
{
    uint32_t n = (uint32_t)strlen(why);
    if (n > 200)
        n = 200;
    memcpy(response + PROTO_PAYLOAD_HEADER, why, n);
    respond(rq, status, n);
}

static int check_range(const struct request *rq, uint64_t addr, uint64_t len, enum mem_access a)
{
    char why[128];
    if (memmap_check(addr, len, a, why, sizeof why) == 0)
        return 0;
    refuse(rq, STATUS_REFUSED_RANGE, why);
    return -1;
}

static uint32_t crc_polling(const uint8_t *p, uint64_t len)
{
    uint32_t crc = 0;
    while (len) {
        uint32_t n = len < POLL_EVERY ? (uint32_t)len : POLL_EVERY;
        crc = crc32_update(crc, p, n);
        p += n;
        len -= n;
        link_poll();
    }
    return crc;
}

static uint32_t put_range(uint8_t *out, uint64_t base, uint64_t size, const char *name)
{
    put64(out, base);
    put64(out + 8, size);
    if (name) {
        memset(out + 16, 0, 16);
        memcpy(out + 16, name, strlen(name) < 15 ? strlen(name) : 15);
        return 32;
    }
    return 16;
}

/* base u64, size u64, flags u32, name char[LIMIT_RESERVED_NAME] (NUL-padded). */
static uint32_t put_reserved(uint8_t *out, const struct mem_reserved *r)
{
    put64(out, r->base);
    put64(out + 8, r->size);
    put32(out + 16, r->flags);
    memset(out + 20, 0, LIMIT_RESERVED_NAME);
    memcpy(out + 20, r->name, strlen(r->name));
    return 20 + LIMIT_RESERVED_NAME;
}

/* The largest INFO must fit one response. */
_Static_assert(CMD_INFO_RESP_SIZE + MEMMAP_MAX_RAM * 16 + 4 + (2 + MAX_SNAPSHOTS) * 32 + 4 +
               MEMMAP_MAX_RESERVED * (20 + LIMIT_RESERVED_NAME) + 64 <= PROTO_MAX_PAYLOAD,
               "INFO outgrows a frame");

static uint32_t put_string(uint8_t *out, const char *s)
{
    uint32_t n = (uint32_t)strlen(s) + 1;
    memcpy(out, s, n);
    return n;
}

static void do_info(const struct request *rq)
{
    const struct memmap *m = memmap_get();
    uint8_t *r = response;
    put16(r + CMD_INFO_RESP_PROTOCOL_VERSION, PROTO_VERSION);
    put16(r + CMD_INFO_RESP_MAX_PAYLOAD, PROTO_MAX_PAYLOAD);
    put16(r + CMD_INFO_RESP_WINDOW, PROTO_WINDOW);
    put16(r + CMD_INFO_RESP_DATA_CHUNK, PROTO_DATA_CHUNK);
    put32(r + CMD_INFO_RESP_CAPABILITIES, CAP_DEFLATE | CAP_CRC_LIST | CAP_HVC | CAP_LZMA2 | CAP_READ_DEFLATE);
    put32(r + CMD_INFO_RESP_STAGING_SIZE, PROTO_STAGING_SIZE);
    put32(r + CMD_INFO_RESP_BOOT_ID, session_boot_id());
    put32(r + CMD_INFO_RESP_RAM_COUNT, (uint32_t)m->ram_count);
    put32(r + CMD_INFO_RESP_GIC_INTIDS, gic_intid_count());
    put32(r + CMD_INFO_RESP_PA_BITS, m->pa_bits);
    put32(r + CMD_INFO_RESP_IPA_BITS, S2_IPA_BITS);
    uint32_t at = CMD_INFO_RESP_SIZE;
    for (int i = 0; i < m->ram_count; i++)
        at += put_range(r + at, m->ram[i].base, m->ram[i].size, NULL);
    uint32_t count_at = at, protected = 0;
    at += 4;
    at += put_range(r + at, m->stub_base, m->stub_end - m->stub_base, "stub");
    protected++;
    if (m->dtb_size) {
        at += put_range(r + at, m->dtb, m->dtb_size, "boot-dtb");
        protected++;
    }
    /* Snapshots hold their RAM like the stub's image: a host placing a VM or writing
     * finds them here (vm info names each: VM_SNAPSHOTS). */
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++)
        if (snapshot_slot(i)->used) {
            at += put_range(r + at, snapshot_slot(i)->pa, snapshot_slot(i)->size, "snapshot");
            protected++;
        }
    put32(r + count_at, protected);
    put32(r + at, (uint32_t)m->reserved_count);
    at += 4;
    for (int i = 0; i < m->reserved_count; i++)
        at += put_reserved(r + at, &m->reserved[i]);
    at += put_string(r + at, BOARD_NAME);
    at += put_string(r + at, HVMON_VERSION);
    at += put_string(r + at, el2_mmu_state_text());
    respond(rq, STATUS_OK, at - PROTO_PAYLOAD_HEADER);
}

static void do_uart_stats(const struct request *rq)
{
    struct uart_stats st;
    uart_stats(&st);
    uint8_t *r = response;
    put64(r + CMD_UART_STATS_RESP_RX_BYTES, st.rx_bytes);
    put64(r + CMD_UART_STATS_RESP_TX_BYTES, st.tx_bytes);
    put32(r + CMD_UART_STATS_RESP_OVERRUNS, st.overruns);
    put32(r + CMD_UART_STATS_RESP_FRAMING_ERRORS, st.framing_errors);
    put32(r + CMD_UART_STATS_RESP_PARITY_ERRORS, st.parity_errors);
    put32(r + CMD_UART_STATS_RESP_BREAKS, st.breaks);
    put32(r + CMD_UART_STATS_RESP_RX_RING_OVERRUNS, link_rx_overruns());
    put32(r + CMD_UART_STATS_RESP_FIFO_DEPTH, st.fifo_depth);
    put32(r + CMD_UART_STATS_RESP_DEPTH_SOURCE, st.depth_source);
    uint32_t at = CMD_UART_STATS_RESP_SIZE + put_string(r + CMD_UART_STATS_RESP_SIZE, st.driver);
    respond(rq, STATUS_OK, at - PROTO_PAYLOAD_HEADER);
}

static void do_mem_write(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_WRITE_REQ_ADDR);
    uint32_t n = rq->len - CMD_MEM_WRITE_REQ_SIZE;
    if (n > PROTO_DATA_CHUNK)
        return refuse(rq, STATUS_TOO_LARGE, "more than data_chunk bytes");
    if (check_range(rq, addr, n, MEM_WRITE) != 0)
        return;
    memcpy((void *)(uintptr_t)addr, rq->p + CMD_MEM_WRITE_REQ_SIZE, n);
    /* Cache maintenance (arch/aarch64/README.md, "EL2 MMU and caches"): what the host
     * writes may next be run at EL2 by JUMP or `go`, which cannot know its extent: clean
     * it to PoC (beyond PoU) now. A guest reading it with its MMU off is covered again at
     * VM start (vm.c). */
    dcache_clean_poc((const void *)(uintptr_t)addr, n);
    respond(rq, STATUS_OK, 0);
}

static void do_mem_stage(const struct request *rq)
{
    uint32_t offset = get32(rq->p + CMD_MEM_STAGE_REQ_OFFSET);
    uint32_t n = rq->len - CMD_MEM_STAGE_REQ_SIZE;
    if (n > PROTO_DATA_CHUNK || offset > PROTO_STAGING_SIZE || n > PROTO_STAGING_SIZE - offset)
        return refuse(rq, STATUS_TOO_LARGE, "staging range beyond staging_size");
    memcpy(staging + offset, rq->p + CMD_MEM_STAGE_REQ_SIZE, n);
    respond(rq, STATUS_OK, 0);
}

/* The bytes a stream may refer back to before addr (MEM_INFLATE, MEM_UNLZMA,
 * MEM_READ_DEFLATE) are only read: RAM is enough, as for MEM_READ. */
static int history_check(const struct request *rq, uint64_t addr, uint32_t history)
{
    if (history > addr) {
        refuse(rq, STATUS_REFUSED_RANGE, "history before address 0");
        return -1;
    }
    return history ? check_range(rq, addr - history, history, MEM_READ) : 0;
}

/* MEM_INFLATE and MEM_UNLZMA: the same fields, checks and CRC, a different decoder. */
struct unpack {
    uint64_t addr;
    uint32_t raw_len, comp_len, raw_crc, history;
};

/* Both requests have the same layout (hvmon.toml); MEM_INFLATE's offsets name it. */
_Static_assert(CMD_MEM_INFLATE_REQ_SIZE == CMD_MEM_UNLZMA_REQ_SIZE &&
               CMD_MEM_INFLATE_REQ_HISTORY == CMD_MEM_UNLZMA_REQ_HISTORY, "one unpack layout");
static struct unpack unpack_fields(const struct request *rq)
{
    return (struct unpack){get64(rq->p + CMD_MEM_INFLATE_REQ_ADDR), get32(rq->p + CMD_MEM_INFLATE_REQ_RAW_LEN),
                           get32(rq->p + CMD_MEM_INFLATE_REQ_COMP_LEN), get32(rq->p + CMD_MEM_INFLATE_REQ_RAW_CRC),
                           get32(rq->p + CMD_MEM_INFLATE_REQ_HISTORY)};
}

static int unpack_check(const struct request *rq, const struct unpack *u, uint32_t max_history,
                        const char *history_why)
{
    if (u->comp_len > PROTO_STAGING_SIZE) {
        refuse(rq, STATUS_TOO_LARGE, "comp_len beyond staging_size");
        return -1;
    }
    if (u->history > max_history) {
        refuse(rq, STATUS_TOO_LARGE, history_why);
        return -1;
    }
    if (history_check(rq, u->addr, u->history) != 0 ||
        check_range(rq, u->addr, u->raw_len, MEM_WRITE) != 0)
        return -1;
    return 0;
}

/* status: the decoder's (0 = OK; inflate.h and unlzma.h share the numbers). */
static void unpack_finish(const struct request *rq, const struct unpack *u, const char *what,
                          unsigned status, size_t produced)
{
    static const char *const reasons[] = {"ended early", "corrupt", "truncated", "output beyond raw_len"};
    link_poll();
    char why[112];
    if (status != 0 || produced != u->raw_len) {
        snprintf_(why, sizeof why, "%s status %u (%s) after %lu of %u bytes", what, status,
                  status < 4 ? reasons[status] : "?", (uint64_t)produced, u->raw_len);
        return refuse(rq, STATUS_BAD_DATA, why);
    }
    uint32_t crc = crc_polling((const uint8_t *)(uintptr_t)u->addr, u->raw_len);
    if (crc != u->raw_crc) {
        snprintf_(why, sizeof why, "%s output CRC-32 %08x, expected %08x", what, crc, u->raw_crc);
        return refuse(rq, STATUS_CRC_MISMATCH, why);
    }
    /* MEM_INFLATE and MEM_UNLZMA: clean what was unpacked, as for MEM_WRITE. */
    dcache_clean_poc((const void *)(uintptr_t)u->addr, u->raw_len);
    respond(rq, STATUS_OK, 0);
}

static void do_mem_inflate(const struct request *rq)
{
    struct unpack u = unpack_fields(rq);
    if (unpack_check(rq, &u, PROTO_INFLATE_HISTORY, "history beyond 32768 (DEFLATE's window)") != 0)
        return;
    size_t produced = 0;
    enum inflate_status st = inflate_raw(staging, u.comp_len, (uint8_t *)(uintptr_t)u.addr, u.raw_len,
                                         u.history, &produced, link_poll);
    unpack_finish(rq, &u, "inflate", st, produced);
}

static void do_mem_unlzma(const struct request *rq)
{
    struct unpack u = unpack_fields(rq);
    if (unpack_check(rq, &u, PROTO_UNLZMA_HISTORY, "history beyond unlzma_history") != 0)
        return;
    size_t produced = 0;
    enum unlzma_status st = unlzma2_raw(staging, u.comp_len, (uint8_t *)(uintptr_t)u.addr, u.raw_len,
                                        u.history, &produced, link_poll);
    unpack_finish(rq, &u, "unlzma", st, produced);
}

/* What MEM_READ accepts, and so MEM_READ_DEFLATE: at most data_chunk bytes, readable. */
static int read_check(const struct request *rq, uint64_t addr, uint32_t n)
{
    if (n > PROTO_DATA_CHUNK) {
        refuse(rq, STATUS_TOO_LARGE, "more than data_chunk bytes");
        return -1;
    }
    return check_range(rq, addr, n, MEM_READ);
}

static void do_mem_read(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_READ_REQ_ADDR);
    uint32_t n = get32(rq->p + CMD_MEM_READ_REQ_LEN);
    if (read_check(rq, addr, n) != 0)
        return;
    memcpy(response + CMD_MEM_READ_RESP_SIZE, (const void *)(uintptr_t)addr, n);
    respond(rq, STATUS_OK, n);
}

/* Even a stored block of a whole data chunk fits one response; history fits the encoder. */
_Static_assert(CMD_MEM_READ_DEFLATE_RESP_SIZE + DEFLATE_BOUND(PROTO_DATA_CHUNK) <= PROTO_MAX_PAYLOAD &&
               PROTO_DATA_CHUNK <= DEFLATE_MAX_INPUT && PROTO_INFLATE_HISTORY <= DEFLATE_MAX_HISTORY,
               "MEM_READ_DEFLATE outgrows a frame or the encoder");

static void do_mem_read_deflate(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_READ_DEFLATE_REQ_ADDR);
    uint32_t n = get32(rq->p + CMD_MEM_READ_DEFLATE_REQ_LEN);
    uint32_t history = get32(rq->p + CMD_MEM_READ_DEFLATE_REQ_HISTORY);
    if (read_check(rq, addr, n) != 0)
        return;
    if (history > PROTO_INFLATE_HISTORY)
        return refuse(rq, STATUS_TOO_LARGE, "history beyond 32768 (DEFLATE's window)");
    if (history_check(rq, addr, history) != 0)
        return;
    memcpy(read_copy, (const void *)(uintptr_t)(addr - history), history + n);
    link_poll();
    const uint8_t *src = read_copy + history;
    uint8_t *out = response + CMD_MEM_READ_DEFLATE_RESP_SIZE;
    size_t written = deflate_raw(src, n, history, out, PROTO_MAX_PAYLOAD - CMD_MEM_READ_DEFLATE_RESP_SIZE,
                                 link_poll);
    put32(response + CMD_MEM_READ_DEFLATE_RESP_RAW_CRC, crc32_update(0, src, n));
    respond(rq, STATUS_OK, (uint32_t)(CMD_MEM_READ_DEFLATE_RESP_SIZE - PROTO_PAYLOAD_HEADER + written));
}

static void do_mem_crc(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_CRC_REQ_ADDR);
    uint64_t len = get64(rq->p + CMD_MEM_CRC_REQ_LEN);
    uint32_t chunk = get32(rq->p + CMD_MEM_CRC_REQ_CHUNK);
    uint64_t max_count = (PROTO_MAX_PAYLOAD - CMD_MEM_CRC_RESP_SIZE) / 4;
    if (check_range(rq, addr, len, MEM_READ) != 0)
        return;
    uint64_t count = chunk ? (len + chunk - 1) / chunk : 1;
    if (count > max_count)
        return refuse(rq, STATUS_TOO_LARGE, "too many chunks for one response");
    uint64_t step = chunk ? chunk : len;
    uint8_t *out = response + CMD_MEM_CRC_RESP_SIZE;
    for (uint64_t i = 0, at = addr; i < count; i++, at += step) {
        uint64_t n = addr + len - at < step ? addr + len - at : step;
        put32(out + 4 * i, crc_polling((const uint8_t *)(uintptr_t)at, n));
    }
    put32(response + CMD_MEM_CRC_RESP_COUNT, (uint32_t)count);
    respond(rq, STATUS_OK, (uint32_t)(CMD_MEM_CRC_RESP_SIZE - PROTO_PAYLOAD_HEADER + 4 * count));
}

static int page_has_data(const uint64_t *p)
{
    uint64_t any = 0;
    for (unsigned i = 0; i < 4096 / 8; i++)
        any |= p[i];
    return any != 0;
}

static void do_mem_nonzero(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_NONZERO_REQ_ADDR);
    uint64_t len = get64(rq->p + CMD_MEM_NONZERO_REQ_LEN);
    uint64_t max_pages = 8ull * (PROTO_MAX_PAYLOAD - CMD_MEM_NONZERO_RESP_SIZE);
    if ((addr | len) & 0xFFF)
        return refuse(rq, STATUS_BAD_ALIGNMENT, "addr and len must be multiples of 4096");
    if (len / 4096 > max_pages)
        return refuse(rq, STATUS_TOO_LARGE, "more pages than one response's bitmap holds");
    if (check_range(rq, addr, len, MEM_READ) != 0)
        return;
    uint64_t pages = len / 4096;
    uint8_t *bits = response + CMD_MEM_NONZERO_RESP_SIZE;
    memset(bits, 0, (pages + 7) / 8);
    for (uint64_t i = 0; i < pages; i++) {
        if (page_has_data((const uint64_t *)(uintptr_t)(addr + 4096 * i)))
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
        link_poll();
    }
    put32(response + CMD_MEM_NONZERO_RESP_COUNT, (uint32_t)pages);
    respond(rq, STATUS_OK, (uint32_t)(CMD_MEM_NONZERO_RESP_SIZE - PROTO_PAYLOAD_HEADER + (pages + 7) / 8));
}

static void do_mem_fill(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_MEM_FILL_REQ_ADDR);
    uint64_t len = get64(rq->p + CMD_MEM_FILL_REQ_LEN);
    uint32_t pattern = get32(rq->p + CMD_MEM_FILL_REQ_PATTERN);
    if ((addr | len) & 3)
        return refuse(rq, STATUS_BAD_ALIGNMENT, "addr and len must be multiples of 4");
    if (check_range(rq, addr, len, MEM_WRITE) != 0)
        return;
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)addr;
    for (uint64_t i = 0; i < len / 4; i++) {
        p[i] = pattern;
        if ((i & (POLL_EVERY - 1)) == 0)
            link_poll();
    }
    dcache_clean_poc(p, len);                                   /* as for MEM_WRITE */
    respond(rq, STATUS_OK, 0);
}

static void do_hvc(const struct request *rq)
{
    struct hvc_regs regs;
    regs.x[0] = get32(rq->p + CMD_HVC_REQ_FUNCTION_ID);
    for (int i = 1; i <= 6; i++)
        regs.x[i] = get64(rq->p + CMD_HVC_REQ_X1 + 8 * (i - 1));
    hypercall_dispatch(&regs, NULL);  /* the host on the debug cable is fully trusted */
    for (int i = 0; i < 4; i++)
        put64(response + CMD_HVC_RESP_X0 + 8 * i, regs.x[i]);
    respond(rq, STATUS_OK, CMD_HVC_RESP_SIZE - PROTO_PAYLOAD_HEADER);
}

static void do_reset(const struct request *rq)
{
    respond(rq, STATUS_OK, 0);
    session_drain(ACK_WAIT_MS);
    psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
}

static void do_jump(const struct request *rq)
{
    uint64_t addr = get64(rq->p + CMD_JUMP_REQ_ADDR);
    uint64_t arg = get64(rq->p + CMD_JUMP_REQ_ARG);
    if (addr & 3)
        return refuse(rq, STATUS_BAD_ALIGNMENT, "addr must be a multiple of 4");
    if (check_range(rq, addr, 4, MEM_EXEC) != 0)
        return;
    respond(rq, STATUS_OK, 0);
    session_drain(ACK_WAIT_MS);
    /* RAM is never executable at EL2 but for this (el2_mmu.h): the code the host wrote
     * runs with the stub's privileges anyway, and could rewrite the tables itself. The
     * stub does not come back from JUMP, so the window stays open. Its D-side was cleaned
     * when written; the I-cache is invalidated here. */
    el2_mmu_ram_exec(1);
    sync_icache_all();
    ((void (*)(uint64_t))(uintptr_t)addr)(arg);
    for (;;)                         /* code that returns has nowhere to go back to */
        wait_for_event();
}

static void do_bye(const struct request *rq)
{
    respond(rq, STATUS_OK, 0);
    session_drain(ACK_WAIT_MS);
    session_leave();
    printf_("hvmon: back to the text monitor\n");
    session_exit();      /* a fresh stack: this request's frames are left behind */
}

static void answer(const struct request *rq, int status, const char *why, uint32_t body_len)
{
    if (status != STATUS_OK)
        return refuse(rq, (unsigned)status, why);
    respond(rq, STATUS_OK, body_len);
}

_Static_assert(MAX_VCPUS <= 4, "VM_CREATE's pcpus field carries one byte per vCPU in a u32");

static void do_vm_create(const struct request *rq)
{
    char name[16] = {0}, why[128];
    uint32_t n = rq->len - CMD_VM_CREATE_REQ_SIZE;
    if (n == 0 || n > 15)
        return refuse(rq, STATUS_BAD_REQUEST, "the name must be 1..15 bytes");
    memcpy(name, rq->p + CMD_VM_CREATE_REQ_SIZE, n);
    uint32_t packed = get32(rq->p + CMD_VM_CREATE_REQ_PCPUS);
    uint8_t pcpus[4] = {(uint8_t)packed, (uint8_t)(packed >> 8), (uint8_t)(packed >> 16), (uint8_t)(packed >> 24)};
    uint32_t id = 0;
    int st = vm_create(name, get32(rq->p + CMD_VM_CREATE_REQ_VCPUS), pcpus,
                       get32(rq->p + CMD_VM_CREATE_REQ_PRIVILEGED),
                       get64(rq->p + CMD_VM_CREATE_REQ_CONSOLE_IPA),
                       get32(rq->p + CMD_VM_CREATE_REQ_CONSOLE_IRQ),
                       get64(rq->p + CMD_VM_CREATE_REQ_ENTRY), get64(rq->p + CMD_VM_CREATE_REQ_DTB),
                       get64(rq->p + CMD_VM_CREATE_REQ_GICD_IPA), get64(rq->p + CMD_VM_CREATE_REQ_GICR_IPA),
                       &id, why, sizeof why);
    put32(response + CMD_VM_CREATE_RESP_VM, id);
    answer(rq, st, why, CMD_VM_CREATE_RESP_SIZE - PROTO_PAYLOAD_HEADER);
}

static void do_vm_map(const struct request *rq)
{
    char why[128];
    int st = vm_map(get32(rq->p + CMD_VM_MAP_REQ_VM), get32(rq->p + CMD_VM_MAP_REQ_KIND),
                    get64(rq->p + CMD_VM_MAP_REQ_IPA), get64(rq->p + CMD_VM_MAP_REQ_PA),
                    get64(rq->p + CMD_VM_MAP_REQ_LENGTH), why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_irq(const struct request *rq)
{
    char why[128];
    int st = vm_irq(get32(rq->p + CMD_VM_IRQ_REQ_VM), get32(rq->p + CMD_VM_IRQ_REQ_INTID), why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_share(const struct request *rq)
{
    char name[16] = {0}, why[128];
    uint32_t n = rq->len - CMD_VM_SHARE_REQ_SIZE;
    if (n == 0 || n > 15)
        return refuse(rq, STATUS_BAD_REQUEST, "the share's name must be 1..15 bytes");
    memcpy(name, rq->p + CMD_VM_SHARE_REQ_SIZE, n);
    if (strlen(name) != n)
        return refuse(rq, STATUS_BAD_REQUEST, "the share's name holds a NUL byte");
    int st = vm_share(get32(rq->p + CMD_VM_SHARE_REQ_VM), name,
                      get32(rq->p + CMD_VM_SHARE_REQ_DOORBELL_IRQ), get64(rq->p + CMD_VM_SHARE_REQ_IPA),
                      get64(rq->p + CMD_VM_SHARE_REQ_PA), get64(rq->p + CMD_VM_SHARE_REQ_LENGTH),
                      why, sizeof why);
    answer(rq, st, why, 0);
}

#define REGION_ENTRY 56

static void do_vm_regions(const struct request *rq)
{
    uint32_t count = 0;
    uint8_t *out = response + CMD_VM_REGIONS_RESP_SIZE;
    for (unsigned i = 0; i < MAX_VMS; i++) {
        const struct vm *vm = &vms[i];
        if (vm->state == VM_FREE)
            continue;
        for (unsigned r = 0; r < vm->nregions; r++) {
            const struct vm_region *m = &vm->regions[r];
            memset(out, 0, REGION_ENTRY);
            put32(out, vm->id);
            put32(out + 4, m->kind);
            put64(out + 8, m->ipa);
            put64(out + 16, m->pa);
            put64(out + 24, m->size);
            if (m->kind == REGION_SHARED) {
                put32(out + 32, m->doorbell_irq);
                memcpy(out + 40, ivc_share_name(m->share), 15);
            }
            out += REGION_ENTRY;
            count++;
        }
    }
    put32(response + CMD_VM_REGIONS_RESP_COUNT, count);
    respond(rq, STATUS_OK, CMD_VM_REGIONS_RESP_SIZE - PROTO_PAYLOAD_HEADER + REGION_ENTRY * count);
}

_Static_assert(CMD_VM_REGIONS_RESP_SIZE + REGION_ENTRY * MAX_VMS * MAX_REGIONS <= PROTO_MAX_PAYLOAD,
               "every region of every VM fits in one VM_REGIONS answer");

static void do_vm_start(const struct request *rq)
{
    char why[128];
    int st = vm_start(get32(rq->p + CMD_VM_START_REQ_VM), why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_stop(const struct request *rq)
{
    char why[128];
    int st = vm_stop(get32(rq->p + CMD_VM_STOP_REQ_VM), why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_destroy(const struct request *rq)
{
    char why[128];
    int st = vm_destroy(get32(rq->p + CMD_VM_DESTROY_REQ_VM), why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_list(const struct request *rq)
{
    uint32_t count = 0;
    uint8_t *out = response + CMD_VM_LIST_RESP_SIZE;
    for (unsigned i = 0; i < MAX_VMS; i++) {
        const struct vm *vm = &vms[i];
        if (vm->state == VM_FREE)
            continue;
        put32(out, vm->id);
        put32(out + 4, vm->state);
        put32(out + 8, vm->nvcpus);
        put32(out + 12, vm->stop_reason);
        memcpy(out + 16, vm->name, 16);
        out += 32;
        count++;
    }
    put32(response + CMD_VM_LIST_RESP_COUNT, count);
    respond(rq, STATUS_OK, CMD_VM_LIST_RESP_SIZE - PROTO_PAYLOAD_HEADER + 32 * count);
}

/* A snapshot tag from a request's data: 0 with it NUL-terminated in out, or refused. */
static int tag_from(const struct request *rq, uint32_t fields, char *out)
{
    uint32_t n = rq->len - fields;
    if (n == 0 || n > LIMIT_SNAPSHOT_TAG) {
        char why[64];
        snprintf_(why, sizeof why, "snapshot tag: 1..%u bytes, not %u", LIMIT_SNAPSHOT_TAG, n);
        refuse(rq, STATUS_BAD_REQUEST, why);
        return -1;
    }
    memcpy(out, rq->p + fields, n);
    out[n] = 0;
    if (strlen(out) != n) {
        refuse(rq, STATUS_BAD_REQUEST, "snapshot tag: a NUL byte inside it");
        return -1;
    }
    return 0;
}

static void do_vm_snapshot(const struct request *rq)
{
    char tag[LIMIT_SNAPSHOT_TAG + 1], why[192];
    if (tag_from(rq, CMD_VM_SNAPSHOT_REQ_SIZE, tag) != 0)
        return;
    uint64_t pa = 0, size = 0;
    uint32_t paused_us = 0;
    int st = snapshot_take(get32(rq->p + CMD_VM_SNAPSHOT_REQ_VM), tag, &pa, &size, &paused_us,
                           why, sizeof why);
    put64(response + CMD_VM_SNAPSHOT_RESP_PA, pa);
    put64(response + CMD_VM_SNAPSHOT_RESP_LENGTH, size);
    put32(response + CMD_VM_SNAPSHOT_RESP_PAUSED_US, paused_us);
    answer(rq, st, why, CMD_VM_SNAPSHOT_RESP_SIZE - PROTO_PAYLOAD_HEADER);
}

static void do_vm_restore(const struct request *rq)
{
    char tag[LIMIT_SNAPSHOT_TAG + 1], why[192];
    if (tag_from(rq, CMD_VM_RESTORE_REQ_SIZE, tag) != 0)
        return;
    uint32_t paused_us = 0;
    int st = snapshot_restore(get32(rq->p + CMD_VM_RESTORE_REQ_VM), tag, &paused_us, why, sizeof why);
    put32(response + CMD_VM_RESTORE_RESP_PAUSED_US, paused_us);
    answer(rq, st, why, CMD_VM_RESTORE_RESP_SIZE - PROTO_PAYLOAD_HEADER);
}

static void do_vm_snapshot_drop(const struct request *rq)
{
    char tag[LIMIT_SNAPSHOT_TAG + 1], why[192];
    if (tag_from(rq, CMD_VM_SNAPSHOT_DROP_REQ_SIZE, tag) != 0)
        return;
    int st = snapshot_drop(get32(rq->p + CMD_VM_SNAPSHOT_DROP_REQ_VM), tag, why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_state_put(const struct request *rq)
{
    char why[192];
    uint32_t len = get32(rq->p + CMD_VM_STATE_PUT_REQ_LEN);
    if (len > PROTO_STAGING_SIZE)
        return refuse(rq, STATUS_TOO_LARGE, "len beyond staging_size");
    int st = snapshot_install(get32(rq->p + CMD_VM_STATE_PUT_REQ_VM), staging, len, why, sizeof why);
    answer(rq, st, why, 0);
}

static void do_vm_dirty_fetch(const struct request *rq)
{
    char why[192];
    uint32_t pages = get32(rq->p + CMD_VM_DIRTY_FETCH_REQ_PAGES);
    if (pages > 8ull * (PROTO_MAX_PAYLOAD - CMD_VM_DIRTY_FETCH_RESP_SIZE))
        return refuse(rq, STATUS_TOO_LARGE, "more pages than one response's bitmap holds");
    uint8_t *bits = response + CMD_VM_DIRTY_FETCH_RESP_SIZE;
    int st = snapshot_dirty_fetch(get32(rq->p + CMD_VM_DIRTY_FETCH_REQ_VM),
                                  get32(rq->p + CMD_VM_DIRTY_FETCH_REQ_FIRST), pages, bits,
                                  why, sizeof why);
    if (st != STATUS_OK)
        return answer(rq, st, why, 0);
    put32(response + CMD_VM_DIRTY_FETCH_RESP_COUNT, pages);
    respond(rq, STATUS_OK, (uint32_t)(CMD_VM_DIRTY_FETCH_RESP_SIZE - PROTO_PAYLOAD_HEADER + (pages + 7) / 8));
}

#define SNAPSHOT_ENTRY 48

static void do_vm_snapshots(const struct request *rq)
{
    uint32_t count = 0;
    uint8_t *out = response + CMD_VM_SNAPSHOTS_RESP_SIZE;
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++) {
        const struct snapshot *s = snapshot_slot(i);
        if (!s->used)
            continue;
        put32(out, s->vm);
        put32(out + 4, s->seq);
        put64(out + 8, s->pa);
        put64(out + 16, s->size);
        put64(out + 24, s->ram);
        memcpy(out + 32, s->tag, 16);
        out += SNAPSHOT_ENTRY;
        count++;
    }
    put32(response + CMD_VM_SNAPSHOTS_RESP_COUNT, count);
    respond(rq, STATUS_OK, CMD_VM_SNAPSHOTS_RESP_SIZE - PROTO_PAYLOAD_HEADER + SNAPSHOT_ENTRY * count);
}

_Static_assert(CMD_VM_SNAPSHOTS_RESP_SIZE + SNAPSHOT_ENTRY * MAX_SNAPSHOTS <= PROTO_MAX_PAYLOAD,
               "every snapshot fits in one VM_SNAPSHOTS answer");

struct handler {
    uint8_t cmd;
    uint32_t min_len;
    int has_data;
    void (*run)(const struct request *rq);
};

static const struct handler handlers[] = {
    {CMD_INFO, CMD_INFO_REQ_SIZE, 0, do_info},
    {CMD_MEM_WRITE, CMD_MEM_WRITE_REQ_SIZE, 1, do_mem_write},
    {CMD_MEM_STAGE, CMD_MEM_STAGE_REQ_SIZE, 1, do_mem_stage},
    {CMD_MEM_INFLATE, CMD_MEM_INFLATE_REQ_SIZE, 0, do_mem_inflate},
    {CMD_MEM_UNLZMA, CMD_MEM_UNLZMA_REQ_SIZE, 0, do_mem_unlzma},
    {CMD_MEM_READ, CMD_MEM_READ_REQ_SIZE, 0, do_mem_read},
    {CMD_MEM_READ_DEFLATE, CMD_MEM_READ_DEFLATE_REQ_SIZE, 0, do_mem_read_deflate},
    {CMD_UART_STATS, CMD_UART_STATS_REQ_SIZE, 0, do_uart_stats},
    {CMD_MEM_CRC, CMD_MEM_CRC_REQ_SIZE, 0, do_mem_crc},
    {CMD_MEM_FILL, CMD_MEM_FILL_REQ_SIZE, 0, do_mem_fill},
    {CMD_MEM_NONZERO, CMD_MEM_NONZERO_REQ_SIZE, 0, do_mem_nonzero},
    {CMD_HVC, CMD_HVC_REQ_SIZE, 0, do_hvc},
    {CMD_RESET, CMD_RESET_REQ_SIZE, 0, do_reset},
    {CMD_JUMP, CMD_JUMP_REQ_SIZE, 0, do_jump},
    {CMD_BYE, CMD_BYE_REQ_SIZE, 0, do_bye},
    {CMD_VM_CREATE, CMD_VM_CREATE_REQ_SIZE, 1, do_vm_create},
    {CMD_VM_MAP, CMD_VM_MAP_REQ_SIZE, 0, do_vm_map},
    {CMD_VM_IRQ, CMD_VM_IRQ_REQ_SIZE, 0, do_vm_irq},
    {CMD_VM_SHARE, CMD_VM_SHARE_REQ_SIZE, 1, do_vm_share},
    {CMD_VM_REGIONS, CMD_VM_REGIONS_REQ_SIZE, 0, do_vm_regions},
    {CMD_VM_START, CMD_VM_START_REQ_SIZE, 0, do_vm_start},
    {CMD_VM_STOP, CMD_VM_STOP_REQ_SIZE, 0, do_vm_stop},
    {CMD_VM_DESTROY, CMD_VM_DESTROY_REQ_SIZE, 0, do_vm_destroy},
    {CMD_VM_LIST, CMD_VM_LIST_REQ_SIZE, 0, do_vm_list},
    {CMD_VM_SNAPSHOT, CMD_VM_SNAPSHOT_REQ_SIZE, 1, do_vm_snapshot},
    {CMD_VM_RESTORE, CMD_VM_RESTORE_REQ_SIZE, 1, do_vm_restore},
    {CMD_VM_SNAPSHOT_DROP, CMD_VM_SNAPSHOT_DROP_REQ_SIZE, 1, do_vm_snapshot_drop},
    {CMD_VM_SNAPSHOTS, CMD_VM_SNAPSHOTS_REQ_SIZE, 0, do_vm_snapshots},
    {CMD_VM_STATE_PUT, CMD_VM_STATE_PUT_REQ_SIZE, 0, do_vm_state_put},
    {CMD_VM_DIRTY_FETCH, CMD_VM_DIRTY_FETCH_REQ_SIZE, 0, do_vm_dirty_fetch},
};

static void dispatch(const struct request *rq)
{
    if (rq->len < PROTO_PAYLOAD_HEADER)
        return refuse(rq, STATUS_BAD_REQUEST, "request shorter than its header");
    for (unsigned i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        const struct handler *h = &handlers[i];
        if (h->cmd != rq->cmd)
            continue;
        if (rq->len < h->min_len || (!h->has_data && rq->len != h->min_len))
            return refuse(rq, STATUS_BAD_REQUEST, "wrong request length");
        return h->run(rq);
    }
    refuse(rq, STATUS_UNKNOWN_COMMAND, "unknown command");
}

void request_handle(const uint8_t *payload, uint32_t len)
{
    struct request rq = {payload, len, len ? payload[0] : 0, len >= 4 ? get16(payload + 2) : 0};
    current = rq;
    current_answered = 0;
    dispatch(&rq);
    current.cmd = 0;
}

void request_faulted(uint64_t esr, uint64_t elr, uint64_t far, uint64_t spsr)
{
    struct request rq = current;
    int answered = current_answered;
    current.cmd = 0;
    session_abandon_request();
    /* The request's payload lived in the slot just freed: only cmd and tag are used. */
    if (rq.cmd != 0 && !answered) {
        char why[128];
        snprintf_(why, sizeof why, "the stub faulted: ESR 0x%lx ELR 0x%lx FAR 0x%lx", esr, elr, far);
        refuse(&rq, STATUS_FAULTED, why);
    }
    uint8_t event[EVENT_FAULT_SIZE] = {EVENT_FAULT, 0, 0, 0};
    put64(event + EVENT_FAULT_ESR, esr);
    put64(event + EVENT_FAULT_ELR, elr);
    put64(event + EVENT_FAULT_FAR, far);
    put64(event + EVENT_FAULT_SPSR, spsr);
    put32(event + EVENT_FAULT_COMMAND, rq.cmd);
    put32(event + EVENT_FAULT_TAG, rq.cmd ? rq.tag : 0);
    session_send(CHANNEL_EVENT, event, sizeof event);
}
