#ifndef HVMON_MONITOR_H
#define HVMON_MONITOR_H

#define MONITOR_PROMPT "hvmon> "

/* The text monitor for a person at a terminal. Never returns. */
void monitor_run(void) __attribute__((noreturn));
/* Drop everything and re-enter monitor_run on a fresh stack (arch/aarch64/restart.S). */
void monitor_restart(void) __attribute__((noreturn));

#endif
