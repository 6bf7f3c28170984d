/* Where the stub's text goes: straight to the UART for a person, or onto the LOG
 * channel while a host session runs (raw text would only be noise between frames). */
#ifndef HVMON_CONSOLE_H
#define HVMON_CONSOLE_H

void console_putc(char c);

#endif
