/* The framed, reliable host session (protocol/spec.md): COBS frames with CRC-32C,
 * sequence numbers, cumulative acks, NAK and timeout driven go-back-N in both directions. */
#ifndef HVMON_SESSION_H
#define HVMON_SESSION_H

#include <stdint.h>

#include "console.h"

/* The text monitor read a 0x00. If a HELLO frame follows, run the session (no return);
 * otherwise return after the frame or a short silence. */
void session_try_enter(void);

/* Main loop of framed mode. */
void session_run(void) __attribute__((noreturn));

int session_active(void);

/* Stub output on a stream channel (LOG, guest consoles). Never blocks: when the host
 * does not drain it and the buffer is full, bytes are counted as lost and the host is
 * told with an EVENT LOST. */
void session_stream_write(unsigned channel, const uint8_t *data, uint32_t len);
/* Bytes of a stream channel dropped since the host was last told (EVENT LOST). */
uint32_t session_stream_lost(unsigned channel);

/* One message on CONTROL or EVENT, delivered reliably; waits for window room. */
void session_send(unsigned channel, const uint8_t *payload, uint32_t len);

/* Wait (at most timeout_ms) until the host acknowledged everything sent. */
void session_drain(uint64_t timeout_ms);

/* After a fault cut a request short: free its window slot, so that frame is not carried
 * out again when the sequence comes round to the slot (requests.c's request_faulted). */
void session_abandon_request(void);

/* Leave framed mode (BYE). */
void session_leave(void);

/* Who carries out a request from the CONTROL channel, in sequence order (request_handle
 * in requests.c, which answers through session_send); main.c installs it. The session
 * moves frames and does not know the commands, so the two do not call each other round. */
typedef void (*session_request_fn)(const uint8_t *payload, uint32_t len);
void session_on_request(session_request_fn fn);

/* What runs when framed mode ends (BYE, Ctrl-C x3 at a frame boundary): the text
 * monitor, which sits above the link, so main.c installs it. It never returns: a fresh
 * stack leaves the request's frames behind. */
typedef void (*session_exit_fn)(void) __attribute__((noreturn));
void session_on_exit(session_exit_fn fn);
/* After session_leave: hand the line to what session_on_exit installed. */
void session_exit(void) __attribute__((noreturn));

uint32_t session_boot_id(void);
void session_stats(uint64_t *frames_in, uint64_t *frames_rejected, uint64_t *bytes_lost);

/* This link (link.c's UART byte layer and the session above it) as the VMM's console
 * sees it; main.c hands it to console_attach. */
extern const struct console_link session_console_link;

#endif
