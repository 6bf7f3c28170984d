/* Formatted output to the stub's console: a small printf with %s %c %d %u %x %lx
 * %lu %ld %p, zero padding and field widths; enough for the monitor and fault reports. */
#ifndef HVMON_PRINT_H
#define HVMON_PRINT_H

#include <stdarg.h>
#include <stddef.h>

int snprintf_(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf_(char *buf, size_t size, const char *fmt, va_list ap);
void printf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void puts_(const char *s);

#endif
