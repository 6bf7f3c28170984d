#ifndef HVMON_REQUESTS_H
#define HVMON_REQUESTS_H

#include <stdint.h>

/* One request from the host's CONTROL channel (already in order and CRC-checked). Every
 * request is answered with exactly one response; every address and length in it is
 * validated against the memory map first. */
void request_handle(const uint8_t *payload, uint32_t len);

/* After a fault in framed mode, on a fresh stack (main.c): answer the request that was
 * cut short with FAULTED (unless it had answered already, as JUMP does before branching),
 * free its window slot, and send an EVENT FAULT with the syndrome registers. */
void request_faulted(uint64_t esr, uint64_t elr, uint64_t far, uint64_t spsr);

#endif
