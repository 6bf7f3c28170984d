/* Start over on the boot core: masks interrupts, resets the stack to the top of the
 * image's and calls fn there (arch/aarch64/restart.S). Whatever ran is abandoned. */
#ifndef HVMON_RESTART_H
#define HVMON_RESTART_H

void restart_on_fresh_stack(void (*fn)(void)) __attribute__((noreturn));

#endif
