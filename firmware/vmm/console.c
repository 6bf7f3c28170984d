#include "console.h"

#include "protocol.h"

static const struct console_link *link;

void console_attach(const struct console_link *l)
{
    link = l;
}

void console_putc(char c)
{
    if (link->session_active()) {
        uint8_t b = (uint8_t)c;
        link->stream_write(CHANNEL_LOG, &b, 1);
        return;
    }
    if (c == '\n')
        link->putc('\r');
    link->putc((uint8_t)c);
}

void console_guest_output(uint32_t vm, const uint8_t *data, uint32_t len)
{
    link->stream_write(CHANNEL_CONSOLE_BASE + vm, data, len);
}

int console_event(const uint8_t *event, uint32_t len)
{
    if (!link->session_active())
        return -1;
    link->send(CHANNEL_EVENT, event, len);
    return 0;
}

void console_poll_link(void)
{
    link->poll();
}

void console_link_stats(uint64_t *frames_in, uint64_t *frames_rejected, uint64_t *bytes_lost)
{
    link->stats(frames_in, frames_rejected, bytes_lost);
}
