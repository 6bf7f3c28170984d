#ifndef HVMON_MONITOR_H
#define HVMON_MONITOR_H

#define MONITOR_PROMPT "hvmon> "

/* The text monitor for a person at a terminal. Never returns. After a fault or the end
 * of a host session main.c starts it again on a fresh stack; if a session was still
 * active then (a fault inside it), it resumes framed mode. */
void monitor_run(void) __attribute__((noreturn));

#endif
