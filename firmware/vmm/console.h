/* Where the stub's text and its guests' console output go: straight onto the line for a
 * person, or onto the LOG and console channels while a host session runs (raw text would
 * only be noise between frames). The UART byte layer and the session sit above the VMM
 * (firmware/link), so the VMM reaches them only through a struct console_link, which
 * main.c installs at start-up. */
#ifndef HVMON_CONSOLE_H
#define HVMON_CONSOLE_H

#include <stdint.h>

struct console_link {
    /* Move what the UART received into the link's ring and acknowledge the request that
     * runs: for long waits on the boot core. */
    void (*poll)(void);
    /* One byte onto the line as it is (text mode). */
    void (*putc)(uint8_t c);
    /* Nonzero while a framed host session runs. */
    int (*session_active)(void);
    /* Bytes for a stream channel (LOG, guest consoles); never blocks, may drop. */
    void (*stream_write)(unsigned channel, const uint8_t *data, uint32_t len);
    /* One message delivered reliably (EVENT); waits for window room. */
    void (*send)(unsigned channel, const uint8_t *payload, uint32_t len);
    /* Counters for the LINK_STATS hypercall. */
    void (*stats)(uint64_t *frames_in, uint64_t *frames_rejected, uint64_t *bytes_lost);
};

void console_attach(const struct console_link *link);

/* The stub's own text (printf_ output, HVC PRINT). */
void console_putc(char c);
/* Output of VM `vm`'s console, on the boot core. */
void console_guest_output(uint32_t vm, const uint8_t *data, uint32_t len);
/* An event for the host: 0 when a session carries it, -1 when none runs (the caller
 * then tells the person at the terminal instead). */
int console_event(const uint8_t *event, uint32_t len);
/* Keep the line's receiver drained while the boot core waits for something else. */
void console_poll_link(void);
void console_link_stats(uint64_t *frames_in, uint64_t *frames_rejected, uint64_t *bytes_lost);

#endif
