#include "readline.h"

#include "link.h"
#include "session.h"
#include "vm.h"

static int last_was_cr;

int readline(char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        int c = link_getc();
        if (c < 0) {
            /* Guests run on while a person types: their console output goes on into the
             * stream buffers (what overflows is counted as lost and reported when a host
             * says HELLO), so no guest waits for a reader that is not there. */
            vm_poll();
            link_idle();
            continue;
        }
        if (c == 0) {
            /* Nobody types NUL: it opens a frame. A host's HELLO switches to framed mode
             * (and does not come back here); anything else is dropped with the line. */
            session_try_enter();
            buf[0] = '\0';
            return -1;
        }
        /* Terminals send CR, scripts send LF, some send both: one line either way. */
        if (c == '\n' && last_was_cr) {
            last_was_cr = 0;
            continue;
        }
        last_was_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            link_putc('\r');
            link_putc('\n');
            buf[len] = '\0';
            return (int)len;
        }
        if (c == 0x03) {
            link_putc('^');
            link_putc('C');
            link_putc('\r');
            link_putc('\n');
            buf[0] = '\0';
            return -1;
        }
        if (c == 0x08 || c == 0x7f) {
            if (len > 0) {
                len--;
                link_putc('\b');
                link_putc(' ');
                link_putc('\b');
            }
            continue;
        }
        if (c < 0x20 || c > 0x7e || len + 1 >= size)
            continue;     /* control bytes and overlong input are not echoed or kept */
        buf[len++] = (char)c;
        link_putc((char)c);
    }
}
