/* Snapshots of a VM in board RAM: its state record and a copy of its RAM, in one
 * contiguous range of free board RAM the stub picks and then holds like its own image
 * (memmap_check refuses writes there; INFO lists it among the protected ranges).
 *
 * Layout of a snapshot (format SNAPSHOT_FORMAT), so that a later `vm save` can stream it
 * as it is with MEM_READ: the state record (struct snapshot_record, record_size bytes,
 * page aligned, ending in a CRC-32 of what comes before it), then each RAM region of the
 * VM in VM_MAP order, region i at record_size + the sizes of the regions before it, then
 * the dirty-page bitmap the stub keeps while this is the VM's latest snapshot (one bit
 * per 4 KiB of RAM: written since it was taken or restored).
 *
 * Dirty logging: once a snapshot is taken or restored, the VM's RAM is mapped read-only
 * in stage 2; a guest's first write to a page faults, the page is noted and made
 * writable again (vcpu.c). A restore of that same snapshot copies back only the pages
 * noted (taking the logged snapshot again keeps the bits set: see start_logging).
 * Writes by the stub on the host's behalf note pages too (memmap_check). A VM with
 * passthrough devices is not logged: their DMA writes its RAM past stage 2. */
#ifndef HVMON_SNAPSHOT_H
#define HVMON_SNAPSHOT_H

#include <stdint.h>

#include "guest_context.h"
#include "protocol.h"
#include "ring.h"
#include "vgic.h"
#include "vm.h"
#include "vpl011.h"

#define MAX_SNAPSHOTS LIMIT_MAX_SNAPSHOTS
#define SNAPSHOT_MAGIC 0x4e535648u       /* "HVSN" little-endian */
#define SNAPSHOT_FORMAT 2u           /* 2: console, vGIC placement, privilege */

struct snapshot_vcpu {
    uint32_t on;                         /* 0: the vCPU was off; nothing else is kept */
    uint32_t reserved;
    struct guest_context regs;
    struct vgic_cpu vgic;
};

struct snapshot_ram {
    uint64_t ipa, size;
};

struct snapshot_record {
    uint32_t magic, format;
    uint64_t record_size;                /* RAM starts at this offset */
    uint64_t total_size;
    char vm_name[16], tag[16];
    uint32_t nvcpus, nregions;
    struct snapshot_ram ram[MAX_REGIONS];
    uint64_t vcount;                     /* the guest's virtual counter when it was paused */
    uint64_t cntfrq;
    /* What VM_CREATE was given, so that a host can create the same VM from a file. */
    uint64_t console_ipa, gicd_ipa, gicr_ipa;
    uint32_t console_irq, privileged;
    struct vgic_dist vgic;
    struct vpl011 console;               /* its tx and ctx pointers are not restored */
    struct byte_ring console_in;         /* host input the guest had not taken yet */
    struct snapshot_vcpu vcpus[MAX_VCPUS];
    uint32_t record_crc;                 /* CRC-32 of the record up to this field */
};

struct snapshot {
    uint32_t used;
    uint32_t vm;
    uint32_t seq;                        /* taken later: higher */
    char tag[16];
    uint64_t pa, size, ram;
};

/* protocol/spec.md documents the record's fields up to `privileged` for hosts that read
 * a saved file; they must stay where it says. */
_Static_assert(__builtin_offsetof(struct snapshot_record, privileged) == 236, "record prefix moved");

/* The record's size, rounded up to 4 KiB: where a snapshot's RAM starts. */
uint64_t snapshot_record_size(void);
uint32_t snapshot_record_crc(const struct snapshot_record *rec);

/* Boot core. Each returns 0 or a protocol status, with a reason in why. */
int snapshot_take(uint32_t id, const char *tag, uint64_t *pa, uint64_t *size,
                  uint32_t *paused_us, char *why, unsigned n);
/* A record's VM-wide state (vGIC, emulated PL011, guest time) into vm (restore, VM_STATE_PUT). */
void snapshot_put_vm_state(struct vm *vm, const struct snapshot_record *rec);
int snapshot_restore(uint32_t id, const char *tag, uint32_t *paused_us, char *why, unsigned n);
/* The VM runs from the state put back (restore of a stopped VM, VM_STATE_PUT): no stop
 * pending, its interrupts routed to it. */
void snapshot_set_running(struct vm *vm);
/* A vCPU that was on in the record starts on its core and loads its saved registers. If
 * PSCI will not start the core, the VM is stopped and why says so ("<done>, but ..."). */
int snapshot_start_vcpu(struct vm *vm, struct vcpu *v, const char *done, char *why, unsigned n);
int snapshot_drop(uint32_t id, const char *tag, char *why, unsigned n);
/* Every snapshot of VM id goes (the VM is being destroyed). */
void snapshot_drop_vm(uint32_t id);
/* Boot core, VM_DIRTY_FETCH: bits [first, first+count) of the VM's dirty log into out (bit
 * i for page first+i), cleared, and those pages read-only again; the VM paused meanwhile. */
int snapshot_dirty_fetch(uint32_t id, uint64_t first, uint64_t count, uint8_t *out,
                         char *why, unsigned n);
/* Guest cores, a stage-2 permission fault: note the pages of [ipa, ipa+len) written. */
void snapshot_dirty_note(struct vm *vm, uint64_t ipa, uint64_t len);
/* memmap_check, for every write the stub is about to make: note the VM pages it covers. */
void snapshot_note_write(uint64_t pa, uint64_t len);
/* The snapshot overlapping [pa, pa+len), or NULL. */
const struct snapshot *snapshot_holding(uint64_t pa, uint64_t len);
/* Snapshot slot i (0 .. MAX_SNAPSHOTS-1); ->used says whether it holds one. */
const struct snapshot *snapshot_slot(unsigned i);

#endif
