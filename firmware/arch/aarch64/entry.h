/* Where the assembly and C meet. The assembly enters C only at the program's entry points,
 * which main.c (the top layer, which may call every other) defines, and at the guest-exit
 * handler the VMM installs; the rest of C reaches the assembly through the symbols below.
 * So arch names nothing of the layers above it. */
#ifndef HVMON_ENTRY_H
#define HVMON_ENTRY_H

#include <stdint.h>

#include "percpu.h"

/* start.S, on the boot core: image at its link address, BSS cleared, own stack. */
void stub_main(const void *dtb, uint64_t el);
/* start.S, on the boot loader's stack: the image is not where it was linked. */
void report_wrong_load_address(uint64_t actual, uint64_t linked);
/* start.S (secondary_entry), on a core started with PSCI CPU_ON. */
void secondary_main(struct percpu *cpu) __attribute__((noreturn));

/* vectors.S: every exit of a guest on this core (slot: the vector, 8..11). */
typedef void (*guest_exit_fn)(struct percpu *cpu, uint64_t slot);
extern guest_exit_fn guest_exit_handler;

/* The PSCI CPU_ON entry address for a core the stub starts; its context id is the
 * core's struct percpu. */
extern char secondary_entry[];
/* Enter (or re-enter) the guest from this core's struct percpu, ELR/SPSR already set. */
void guest_resume(struct percpu *cpu) __attribute__((noreturn));

#endif
