#ifndef HVMON_READLINE_H
#define HVMON_READLINE_H

#include <stddef.h>

/* Read one line from the console with echo and backspace; Ctrl-C abandons the line.
 * Returns the length (the line is NUL-terminated), or -1 when Ctrl-C was pressed. */
int readline(char *buf, size_t size);

#endif
