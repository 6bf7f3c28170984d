/* VM_STATE_PUT: a VM the host created and filled from a saved file (or another board's
 * snapshot) takes its state record and runs from where the record left it. */
#ifndef HVMON_SNAPSHOT_INSTALL_H
#define HVMON_SNAPSHOT_INSTALL_H

#include <stdint.h>

/* Boot core. rec: len bytes the host staged (not trusted: snapshot_check.h). The VM must
 * be created and never started; on any refusal nothing of the record is used. 0 or a
 * protocol status, with the reason in why. */
int snapshot_install(uint32_t id, const void *rec, uint64_t len, char *why, unsigned n);

#endif
