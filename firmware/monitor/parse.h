#ifndef HVMON_PARSE_H
#define HVMON_PARSE_H

#include <stdint.h>

/* "0x..." is hex, anything else decimal; the whole string must be a number that fits
 * 64 bits. Returns 0 on success, -1 otherwise. */
int parse_u64(const char *s, uint64_t *out);

#endif
