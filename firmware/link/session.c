#include "session.h"

#include "bytes.h"
#include "cobs.h"
#include "crc32c.h"
#include "libc.h"
#include "link.h"
#include "print.h"
#include "protocol.h"
#include "timer.h"
#include "vm.h"

#define FRAME_MAX (PROTO_HEADER_SIZE + PROTO_MAX_PAYLOAD + PROTO_CRC_SIZE)
#define ENCODED_MAX (FRAME_MAX + FRAME_MAX / 254 + 2)
/* The retransmission timeout follows the measured round trip (smoothed RTT + 4 deviations,
 * as the host's), which includes the host's acknowledgements queueing behind its own
 * window of data: RTO_INITIAL_MS until a first sample, then within [RTO_MIN_MS, RTO_MAX_MS]. */
#define RTO_MIN_MS 400
#define RTO_INITIAL_MS 1000
#define RTO_MAX_MS 4000
#define ENTER_SILENCE_MS 200
#define RENAK_MS 150
#define LOG_BUFFER 16384

/* Sent but not yet acknowledged frames, oldest first: entry i has seq tx_base + i. */
struct tx_entry {
    uint16_t len;
    uint8_t channel;
    uint8_t resent;              /* Karn: the acknowledgement of a resent frame times nothing */
    uint64_t sent_at;            /* timer_now() when it last went on the line */
    uint8_t payload[PROTO_MAX_PAYLOAD];
};

/* Output that may wait for the host (LOG now, guest consoles later). */
struct stream {
    unsigned channel;
    uint8_t *buf;
    uint32_t size, head, tail;   /* free-running */
    uint32_t lost;               /* bytes dropped since the host was last told */
};

static struct tx_entry txq[PROTO_WINDOW];
static unsigned tx_head, tx_count, tx_sent;
static uint16_t tx_base;
static uint64_t tx_timer, rto;
static uint64_t srtt, rttvar;    /* in timer ticks; srtt 0: no sample yet */

/* Received DATA frames wait in their window slot until all before them arrived. */
struct rx_slot {
    uint8_t full;
    uint8_t frame[FRAME_MAX];
};
static struct rx_slot rx_slots[PROTO_WINDOW];
/* The slot whose frame is being carried out, until it is done. A fault abandons the
 * request half-way (the monitor restarts on a fresh stack): session_abandon_request()
 * then frees the slot, or the old frame would run again when its slot comes round. */
static struct rx_slot *running;

static uint16_t rx_expected, acked_to_host, nak_for;
static int nak_valid, active;
static uint64_t nak_time;
static uint32_t boot_id;
static uint64_t frames_in, frames_rejected, bytes_lost;
static session_exit_fn exit_fn;
static session_request_fn request_fn;

/* Two receivers: the main loop's, and the one used while a request handler waits for
 * window room or acknowledgements. The handler still reads its request from the main
 * buffer, so frames arriving meanwhile must land somewhere else. */
struct receiver {
    struct cobs_decoder decoder;
    uint32_t since_delimiter;   /* encoded bytes since the last 0x00 */
    uint8_t prefix[3];
    uint8_t frame[FRAME_MAX];
};
static struct receiver rx_main, rx_nested;
static uint8_t raw[FRAME_MAX];
static uint8_t encoded[ENCODED_MAX];

static uint8_t log_buffer[LOG_BUFFER];
static uint8_t console_buffers[MAX_VMS][LOG_BUFFER];
static struct stream streams[] = {
    {CHANNEL_LOG, log_buffer, LOG_BUFFER, 0, 0, 0},
    {CHANNEL_CONSOLE_BASE + 0, console_buffers[0], LOG_BUFFER, 0, 0, 0},
    {CHANNEL_CONSOLE_BASE + 1, console_buffers[1], LOG_BUFFER, 0, 0, 0},
    {CHANNEL_CONSOLE_BASE + 2, console_buffers[2], LOG_BUFFER, 0, 0, 0},
    {CHANNEL_CONSOLE_BASE + 3, console_buffers[3], LOG_BUFFER, 0, 0, 0},
};
_Static_assert(MAX_VMS == 4, "one console stream per VM slot");

int session_active(void)
{
    return active;
}

uint32_t session_boot_id(void)
{
    if (boot_id == 0)
        boot_id = (uint32_t)(timer_now() * 2654435761u) | 1;   /* differs per boot */
    return boot_id;
}

void session_stats(uint64_t *in, uint64_t *rejected, uint64_t *lost)
{
    *in = frames_in;
    *rejected = frames_rejected;
    *lost = bytes_lost;
}

static void transmit(uint8_t type, uint8_t channel, uint16_t seq, const uint8_t *payload,
                     uint32_t len)
{
    raw[0] = type;
    raw[1] = channel;
    put16(raw + 2, seq);
    put16(raw + 4, rx_expected);
    put16(raw + 6, len);
    if (len)                          /* an ACK carries no payload (NULL) */
        memcpy(raw + PROTO_HEADER_SIZE, payload, len);
    put32(raw + PROTO_HEADER_SIZE + len, crc32c(raw, PROTO_HEADER_SIZE + len));
    size_t n = cobs_encode(raw, PROTO_HEADER_SIZE + len + PROTO_CRC_SIZE, encoded);
    encoded[n++] = PROTO_DELIMITER;
    link_write(encoded, (uint32_t)n);
    acked_to_host = rx_expected;
}

static struct tx_entry *entry(unsigned i)
{
    return &txq[(tx_head + i) % PROTO_WINDOW];
}

/* Entry i of the window on the line, as DATA frame tx_base + i. */
static void send_entry(unsigned i)
{
    struct tx_entry *e = entry(i);
    e->sent_at = timer_now();
    transmit(FRAME_DATA, e->channel, (uint16_t)(tx_base + i), e->payload, e->len);
}

/* Entry i again, unless its last copy left less than a round trip ago: a NAK that soon
 * (the host repeats its NAK every RENAK_MS while the gap lasts, and the copy may still
 * queue behind the rest of the window on a slow line) cannot mean that copy was lost,
 * and sending it anyway puts a duplicate on the line. Before a first sample: at once. */
static int resend_entry(unsigned i)
{
    struct tx_entry *e = entry(i);
    if (srtt && timer_now() - e->sent_at < srtt + 2 * rttvar)
        return 0;
    e->resent = 1;
    send_entry(i);
    return 1;
}

static uint64_t rto_from_estimate(void)
{
    if (srtt == 0)
        return timer_ms(RTO_INITIAL_MS);
    uint64_t r = srtt + 4 * rttvar;
    if (r < timer_ms(RTO_MIN_MS))
        r = timer_ms(RTO_MIN_MS);
    if (r > timer_ms(RTO_MAX_MS))
        r = timer_ms(RTO_MAX_MS);
    return r;
}

/* RFC 6298's smoothing, in timer ticks. */
static void sample_rtt(uint64_t rtt)
{
    if (rtt == 0)
        rtt = 1;                         /* 0 means "no sample yet" */
    if (srtt == 0) {
        srtt = rtt;
        rttvar = rtt / 2;
        return;
    }
    uint64_t err = srtt > rtt ? srtt - rtt : rtt - srtt;
    rttvar = (3 * rttvar + err) / 4;
    srtt = (7 * srtt + rtt) / 8;
}

/* Send the entries the host has not seen yet. */
static void pump(void)
{
    while (tx_sent < tx_count) {
        if (tx_sent == 0)
            tx_timer = timer_now();
        send_entry(tx_sent);
        tx_sent++;
    }
}

/* Selective repeat: the host keeps what arrived out of order, so only the oldest
 * unacknowledged frame (the one it asks for) goes again. The timer's resend goes
 * whatever the round trip says (the timeout is the round trip and more). */
static void resend_oldest(int on_timeout)
{
    if (tx_count == 0 || tx_sent == 0)
        return;
    if (on_timeout) {
        entry(0)->resent = 1;
        send_entry(0);
    } else if (!resend_entry(0)) {
        return;
    }
    tx_timer = timer_now();
}

/* A NAK's held bitmap (bit i: the host holds tx_base + 1 + i): besides the oldest, send
 * again every frame below the highest one the host holds that it does not, so two losses
 * in one window cost one round trip. Frames above it may still be on their way. */
static void resend_missing(uint32_t held)
{
    resend_oldest(0);
    for (unsigned i = 1; i < tx_sent && (held >> (i - 1)) > 1; i++)
        if (!((held >> (i - 1)) & 1))
            resend_entry(i);
}

static void take_ack(uint16_t ack)
{
    uint16_t advanced = (uint16_t)(ack - tx_base);
    if (advanced == 0 || advanced > tx_sent)
        return;                              /* old, duplicate or nonsense */
    /* Only the oldest frame's round trip, and only if it went once: frames behind a gap
     * are held by the host and acknowledged together once the gap is filled, so their
     * times measure the repair, and a round trip inflated by each repair would hold the
     * next repair back longer. */
    if (!entry(0)->resent)
        sample_rtt(timer_now() - entry(0)->sent_at);
    tx_head = (tx_head + advanced) % PROTO_WINDOW;
    tx_count -= advanced;
    tx_sent -= advanced;
    tx_base = ack;
    tx_timer = timer_now();
    rto = rto_from_estimate();
}

static void check_timer(void)
{
    if (tx_sent == 0 || timer_now() - tx_timer < rto)
        return;
    resend_oldest(1);
    if (rto < timer_ms(RTO_MAX_MS))
        rto *= 2;
}

static void append(unsigned channel, const uint8_t *payload, uint32_t len)
{
    struct tx_entry *e = entry(tx_count);
    e->channel = (uint8_t)channel;
    e->len = (uint16_t)len;
    e->resent = 0;
    memcpy(e->payload, payload, len);
    tx_count++;
}

/* Stream bytes and loss notices become frames while the window has room. */
static void flush_streams(void)
{
    for (unsigned i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        struct stream *s = &streams[i];
        while (s->head != s->tail && tx_count < PROTO_WINDOW) {
            uint8_t chunk[PROTO_MAX_PAYLOAD];
            uint32_t n = 0;
            while (s->tail != s->head && n < PROTO_MAX_PAYLOAD)
                chunk[n++] = s->buf[s->tail++ % s->size];
            append(s->channel, chunk, n);
        }
        if (s->lost && tx_count < PROTO_WINDOW) {
            uint8_t event[EVENT_LOST_SIZE] = {EVENT_LOST, 0, 0, 0};
            put32(event + EVENT_LOST_CHANNEL, s->channel);
            put32(event + EVENT_LOST_BYTES, s->lost);
            s->lost = 0;
            append(CHANNEL_EVENT, event, sizeof event);
        }
    }
    pump();
}

uint32_t session_stream_lost(unsigned channel)
{
    for (unsigned i = 0; i < sizeof streams / sizeof streams[0]; i++)
        if (streams[i].channel == channel)
            return streams[i].lost;
    return 0;
}

void session_stream_write(unsigned channel, const uint8_t *data, uint32_t len)
{
    for (unsigned i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        struct stream *s = &streams[i];
        if (s->channel != channel)
            continue;
        for (uint32_t k = 0; k < len; k++) {
            if (s->head - s->tail == s->size) {
                if (s->lost != UINT32_MAX)       /* the event's field: saturate, not wrap */
                    s->lost++;
                bytes_lost++;
            } else {
                s->buf[s->head++ % s->size] = data[k];
            }
        }
    }
}

static void reply_hello(void)
{
    uint8_t payload[16];
    put32(payload, PROTO_MAGIC);
    put16(payload + 4, PROTO_VERSION);
    put16(payload + 6, PROTO_MAX_PAYLOAD);
    put16(payload + 8, PROTO_WINDOW);
    put16(payload + 10, 0);
    put32(payload + 12, session_boot_id());
    /* A delimiter first, as the host's HELLO has: the text monitor's banner and prompt
     * came before it without one, and would run into the frame, which the host then
     * drops as noise and only the HELLO it repeats a second later is answered. */
    link_putc(PROTO_DELIMITER);
    transmit(FRAME_HELLO_REPLY, CHANNEL_CONTROL, 0, payload, sizeof payload);
}

/* A new session: both sequences restart at 0. Stream output and events the host has not
 * acknowledged are kept and sent again under new numbers, so a host that reconnects loses
 * none of them; responses belong to the old session's requests and are dropped. */
static void start_session(void)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < tx_count; i++) {
        struct tx_entry *e = entry(i);
        if (e->channel == CHANNEL_CONTROL)
            continue;
        if (kept != i)
            memcpy(entry(kept), e, sizeof *e);
        kept++;
    }
    tx_count = kept;
    rx_expected = 0;
    nak_valid = 0;
    for (unsigned i = 0; i < PROTO_WINDOW; i++)
        rx_slots[i].full = 0;
    tx_base = 0;
    tx_sent = 0;
    for (unsigned i = 0; i < tx_count; i++)
        entry(i)->resent = 0;            /* kept stream frames go out afresh */
    srtt = rttvar = 0;                   /* another host, maybe another line */
    rto = timer_ms(RTO_INITIAL_MS);
    active = 1;
    reply_hello();
}

/* A complete frame is in rx_frame[0, len): 0 when it is sound, -1 if it is corrupt. */
static int check_frame(const uint8_t *rx_frame, long len)
{
    if (len < (long)(PROTO_HEADER_SIZE + PROTO_CRC_SIZE))
        return -1;
    uint32_t plen = get16(rx_frame + 6);
    if (plen > PROTO_MAX_PAYLOAD || (long)(PROTO_HEADER_SIZE + plen + PROTO_CRC_SIZE) != len)
        return -1;
    if (crc32c(rx_frame, PROTO_HEADER_SIZE + plen) != get32(rx_frame + PROTO_HEADER_SIZE + plen))
        return -1;
    uint8_t type = rx_frame[0];
    if (type < FRAME_DATA || type > FRAME_HELLO_REPLY)
        return -1;
    return 0;
}

static int is_hello(const uint8_t *rx_frame)
{
    return rx_frame[0] == FRAME_HELLO && get16(rx_frame + 6) >= 6 &&
           get32(rx_frame + PROTO_HEADER_SIZE) == PROTO_MAGIC;
}

/* Ask for the frame the receiver waits for: once per position of the window, and again
 * if it still has not come after a while (the NAK or the resent frame may be hit too). */
static void request_missing(void)
{
    uint64_t now = timer_now();
    if (nak_valid && nak_for == rx_expected && now - nak_time < timer_ms(RENAK_MS))
        return;
    nak_valid = 1;
    nak_for = rx_expected;
    nak_time = now;
    /* Which frames after the awaited one are here (bit i: rx_expected + 1 + i). Not the
     * last slot of the window: it may still hold the request running now. */
    uint32_t held = 0;
    for (unsigned i = 1; i < PROTO_WINDOW - 1; i++)
        if (rx_slots[(uint16_t)(rx_expected + i) % PROTO_WINDOW].full)
            held |= 1u << (i - 1);
    uint8_t payload[4];
    put32(payload, held);
    transmit(FRAME_NAK, CHANNEL_CONTROL, 0, payload, sizeof payload);
}

/* Check a received frame, take its acknowledgement, and keep a DATA frame in its
 * window slot. Requests are carried out by deliver_ready(), in sequence order. */
static void handle_frame(const uint8_t *rx_frame, long len)
{
    if (check_frame(rx_frame, len) != 0) {
        frames_rejected++;
        if (active)
            request_missing();
        return;
    }
    frames_in++;
    uint8_t type = rx_frame[0];
    uint16_t seq = get16(rx_frame + 2), ack = get16(rx_frame + 4);

    if (type == FRAME_HELLO) {
        if (is_hello(rx_frame))
            start_session();
        return;
    }
    take_ack(ack);
    if (type == FRAME_NAK && ack == tx_base)
        resend_missing(get16(rx_frame + 6) >= 4 ? get32(rx_frame + PROTO_HEADER_SIZE) : 0);
    if (type != FRAME_DATA)
        return;
    uint16_t ahead = (uint16_t)(seq - rx_expected);
    if (ahead < PROTO_WINDOW) {
        struct rx_slot *slot = &rx_slots[seq % PROTO_WINDOW];
        if (!slot->full) {
            memcpy(slot->frame, rx_frame, (size_t)len);
            slot->full = 1;
        }
        /* A gap: something before it was lost. Not when the frame awaited is here and
         * only waits its turn (a request still runs, e.g. one blocked on a full window):
         * asking for it again would just make the host resend it. */
        if (ahead != 0 && !rx_slots[rx_expected % PROTO_WINDOW].full)
            request_missing();
    } else {
        transmit(FRAME_ACK, CHANNEL_CONTROL, 0, NULL, 0);   /* a duplicate: ack again */
    }
}

/* Carry out the requests that are next in sequence. The slot stays marked full while
 * its request runs, so a frame received meanwhile cannot overwrite it. */
static void deliver_ready(void)
{
    for (;;) {
        struct rx_slot *slot = &rx_slots[rx_expected % PROTO_WINDOW];
        if (!slot->full)
            break;
        rx_expected++;
        running = slot;
        uint8_t channel = slot->frame[1];
        if (channel == CHANNEL_CONTROL && request_fn)
            request_fn(slot->frame + PROTO_HEADER_SIZE, get16(slot->frame + 6));
        else if (channel >= CHANNEL_CONSOLE_BASE && channel < CHANNEL_CONSOLE_BASE + MAX_VMS)
            vm_console_input(channel - CHANNEL_CONSOLE_BASE, slot->frame + PROTO_HEADER_SIZE,
                             get16(slot->frame + 6));
        running = NULL;
        slot->full = 0;
    }
    if (acked_to_host != rx_expected)
        transmit(FRAME_ACK, CHANNEL_CONTROL, 0, NULL, 0);
    for (unsigned i = 0; i < PROTO_WINDOW; i++)
        if (rx_slots[i].full)
            request_missing();
}

static void receiver_start(struct receiver *rx)
{
    cobs_decoder_start(&rx->decoder, rx->frame, sizeof rx->frame);
    rx->since_delimiter = 0;
}

/* A person's way out of framed mode: Ctrl-C three times at a frame boundary. No encoded
 * frame starts like that (frame types are >= 0x10; see protocol/spec.md). */
static int person_wants_monitor(struct receiver *rx, uint8_t c)
{
    if (rx->since_delimiter < 3)
        rx->prefix[rx->since_delimiter] = c;
    rx->since_delimiter++;
    return rx->since_delimiter == 3 && rx->prefix[0] == 0x03 && rx->prefix[1] == 0x03 &&
           rx->prefix[2] == 0x03;
}

void session_on_request(session_request_fn fn)
{
    request_fn = fn;
}

void session_on_exit(session_exit_fn fn)
{
    exit_fn = fn;
}

void session_exit(void)
{
    if (exit_fn)
        exit_fn();
    for (;;)                         /* nobody to hand the line to: nothing sane is left */
        link_idle();
}

static void leave_to_monitor(void)
{
    session_leave();
    printf_("\nhvmon: back to the text monitor\n");
    session_exit();
}

static int service(int blocked)
{
    struct receiver *rx = blocked ? &rx_nested : &rx_main;
    int c;
    while ((c = link_getc()) >= 0) {
        if (c != PROTO_DELIMITER) {
            if (person_wants_monitor(rx, (uint8_t)c))
                leave_to_monitor();
            cobs_decoder_byte(&rx->decoder, (uint8_t)c);
            continue;
        }
        long len = cobs_decoder_finish(&rx->decoder);
        receiver_start(rx);    /* resets the length only: the frame stays readable */
        if (len != 0)          /* back-to-back delimiters are just resync padding */
            handle_frame(rx->frame, len);
        return 1;
    }
    return 0;
}

void session_send(unsigned channel, const uint8_t *payload, uint32_t len)
{
    if (tx_count == PROTO_WINDOW)
        receiver_start(&rx_nested);
    while (tx_count == PROTO_WINDOW) {
        int busy = service(1);
        check_timer();
        pump();
        if (!busy)
            link_idle();
    }
    append(channel, payload, len);
    pump();
}

void session_drain(uint64_t timeout_ms)
{
    uint64_t start = timer_now(), limit = timer_ms(timeout_ms);
    receiver_start(&rx_nested);
    while (tx_count != 0 && timer_now() - start < limit) {
        int busy = service(1);
        check_timer();
        pump();
        if (!busy)
            link_idle();
    }
}

void session_abandon_request(void)
{
    if (running)
        running->full = 0;
    running = NULL;
}

void session_leave(void)
{
    active = 0;
}

void session_run(void)
{
    receiver_start(&rx_main);
    for (;;) {
        int busy = service(0);
        deliver_ready();
        vm_poll();
        flush_streams();
        check_timer();
        if (!busy)
            link_idle();
    }
}

void session_try_enter(void)
{
    struct cobs_decoder *decoder = &rx_main.decoder;
    receiver_start(&rx_main);
    uint64_t last = timer_now(), silence = timer_ms(ENTER_SILENCE_MS);
    while (timer_now() - last < silence) {
        int c = link_getc();
        if (c < 0)
            continue;
        last = timer_now();
        if (c != PROTO_DELIMITER) {
            cobs_decoder_byte(decoder, (uint8_t)c);
            continue;
        }
        long len = cobs_decoder_finish(decoder);
        if (len == 0) {        /* the host's leading delimiter: the frame starts now */
            receiver_start(&rx_main);
            continue;
        }
        if (check_frame(rx_main.frame, len) == 0 && is_hello(rx_main.frame)) {
            start_session();
            session_run();
        }
        return;
    }
}

/* The VMM's long waits on the boot core (a VM's cores stopping, its RAM scrubbed at
 * destroy): keep the receiver drained, and acknowledge the request that runs, so the host
 * does not take the wait for a dead stub; it gives the response a timeout of its own. */
static void session_poll_link(void)
{
    link_poll();
    if (active && acked_to_host != rx_expected)
        transmit(FRAME_ACK, CHANNEL_CONTROL, 0, NULL, 0);
}

const struct console_link session_console_link = {
    .poll = session_poll_link,
    .putc = link_putc,
    .session_active = session_active,
    .stream_write = session_stream_write,
    .send = session_send,
    .stats = session_stats,
};
