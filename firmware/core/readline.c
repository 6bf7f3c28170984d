#include "readline.h"

#include "uart.h"

static int last_was_cr;

int readline(char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        int c = uart_getc_nonblock();
        if (c < 0)
            continue;
        /* Terminals send CR, scripts send LF, some send both: one line either way. */
        if (c == '\n' && last_was_cr) {
            last_was_cr = 0;
            continue;
        }
        last_was_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            uart_putc('\r');
            uart_putc('\n');
            buf[len] = '\0';
            return (int)len;
        }
        if (c == 0x03) {
            uart_putc('^');
            uart_putc('C');
            uart_putc('\r');
            uart_putc('\n');
            buf[0] = '\0';
            return -1;
        }
        if (c == 0x08 || c == 0x7f) {
            if (len > 0) {
                len--;
                uart_putc('\b');
                uart_putc(' ');
                uart_putc('\b');
            }
            continue;
        }
        if (c < 0x20 || c > 0x7e || len + 1 >= size)
            continue;     /* control bytes and overlong input are not echoed or kept */
        buf[len++] = (char)c;
        uart_putc((char)c);
    }
}
