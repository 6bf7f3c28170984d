#ifndef HVMON_REQUESTS_H
#define HVMON_REQUESTS_H

#include <stdint.h>

/* One request from the host's CONTROL channel (already in order and CRC-checked). Every
 * request is answered with exactly one response; every address and length in it is
 * validated against the memory map first. */
void request_handle(const uint8_t *payload, uint32_t len);

#endif
