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

void exception_report(struct exception_frame *frame) __attribute__((noreturn));
/* Tell the reporter the monitor is healthy again (a fault in the report itself must
 * not recurse forever). */
void exception_rearm(void);

#endif
