/* Formatted output to the stub's console: a small printf with %s %c %d %u %x %lx
 * %lu %ld %p, zero padding and field widths; enough for the monitor and fault reports.
 * Where the characters go is not the library's business: the console that carries them
 * sits above it (firmware/vmm/console.c), so main.c installs it with print_set_output. */
#ifndef HVMON_PRINT_H
#define HVMON_PRINT_H

#include <stdarg.h>
#include <stddef.h>

/* One character of printf_ output. Until one is installed, printf_ output is dropped. */
typedef void (*print_output_fn)(char c);
void print_set_output(print_output_fn out);

int snprintf_(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf_(char *buf, size_t size, const char *fmt, va_list ap);
void printf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void puts_(const char *s);

#endif
