/* A snapshot state record handed to the stub from outside (VM_STATE_PUT: a file the host
 * saved, or another board's snapshot during a migration) is hostile input: this checks
 * every field before any of it reaches a register, an index or the VM. A record the stub
 * wrote itself (VM_RESTORE) needs only its CRC (snapshot.c). */
#ifndef HVMON_SNAPSHOT_CHECK_H
#define HVMON_SNAPSHOT_CHECK_H

#include <stdint.h>

#include "snapshot.h"
#include "vm.h"

/* 0 when rec (len bytes) can be installed into vm as it is now (created, its RAM regions
 * mapped), else 1 with one line naming the field at fault in why. */
int snapshot_record_refused_for(const struct snapshot_record *rec, uint64_t len,
                                const struct vm *vm, char *why, unsigned n);

#endif
