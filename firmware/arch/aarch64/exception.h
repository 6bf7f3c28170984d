#ifndef HVMON_EXCEPTION_H
#define HVMON_EXCEPTION_H

#include <stdint.h>

/* Laid out by arch/aarch64/vectors.S. */
struct exception_frame {
    uint64_t x[31];
    uint64_t sp;
    uint64_t kind;    /* vector slot 0..15 */
    uint64_t pad;
};

/* Where to go after the report: the text monitor, which sits above arch, so main.c
 * installs it. Without one the core stops after the report. */
typedef void (*exception_recovery_fn)(void) __attribute__((noreturn));
void exception_set_recovery(exception_recovery_fn recover);

/* The syndrome registers of the last fault reported: what comes after the report (a host
 * session's FAULTED answer and FAULT event) tells the host from these. */
struct exception_record {
    uint64_t esr, elr, far, spsr;
};
const struct exception_record *exception_last(void);

/* A fault of the stub on a guest's core (any core but the boot core): the VMM, which
 * main.c installs, stops that core's VM with the fault's ESR/ELR/FAR and parks the core.
 * Such a fault is never printed (the UART and the link are the boot core's) and never
 * restarts the monitor (it runs on the boot core's stack). */
typedef void (*exception_guest_core_fn)(uint64_t esr, uint64_t elr, uint64_t far)
    __attribute__((noreturn));
void exception_set_guest_core_handler(exception_guest_core_fn handler);

void exception_report(struct exception_frame *frame) __attribute__((noreturn));
/* Tell the reporter the monitor is healthy again (a fault in the report itself must
 * not recurse forever). */
void exception_rearm(void);

#endif
