#include "console.h"

#include <stdint.h>

#include "link.h"
#include "protocol.h"
#include "session.h"

void console_putc(char c)
{
    if (session_active()) {
        uint8_t b = (uint8_t)c;
        session_stream_write(CHANNEL_LOG, &b, 1);
        return;
    }
    if (c == '\n')
        link_putc('\r');
    link_putc((uint8_t)c);
}
