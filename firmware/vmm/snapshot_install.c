#include "snapshot_install.h"

#include "libc.h"
#include "print.h"
#include "snapshot.h"
#include "snapshot_check.h"
#include "timer.h"
#include "vm.h"

/* The staging buffer holds bytes as the host sent them: copied out first, so the checks
 * and the install read one aligned record nobody changes in between. */
static struct snapshot_record incoming;

int snapshot_install(uint32_t id, const void *rec_bytes, uint64_t len, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm) {
        snprintf_(why, n, "no VM with id %u", id);
        return STATUS_BAD_REQUEST;
    }
    if (vm->state != VM_CREATED) {
        snprintf_(why, n, "VM %u (%s) has run already: a state record goes into a VM just created",
                  id, vm->name);
        return STATUS_BAD_REQUEST;
    }
    for (unsigned k = 0; k < vm->nvcpus; k++)
        if (vm->vcpus[k].state != VCPU_OFF) {
            snprintf_(why, n, "vCPU %u of VM %u is on", k, id);
            return STATUS_BAD_REQUEST;
        }
    memset(&incoming, 0, sizeof incoming);
    memcpy(&incoming, rec_bytes, len < sizeof incoming ? len : sizeof incoming);
    const struct snapshot_record *rec = &incoming;
    /* Bytes between the struct and record_size are padding the stub wrote as zeros. */
    const uint8_t *tail = (const uint8_t *)rec_bytes + sizeof incoming;
    for (uint64_t i = sizeof incoming; i < len; i++)
        if (tail[i - sizeof incoming]) {
            snprintf_(why, n, "state record: padding byte %lu is not zero", i);
            return STATUS_BAD_DATA;
        }
    if (snapshot_record_refused_for(rec, len, vm, why, n))
        return STATUS_BAD_DATA;

    /* As vm_start: whatever the host wrote reaches memory before a guest core reads it. */
    vm_clean_ram(vm);
    vpl011_init(&vm->console, vm_console_tx, vm);
    snapshot_put_vm_state(vm, rec);
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        v->kick = 0;
        v->park_on_release = 0;
        if (rec->vcpus[k].on) {
            v->saved = rec->vcpus[k].regs;
            v->vgic = rec->vcpus[k].vgic;
            v->load_saved = 1;
        } else {
            vgic_cpu_init(v);
        }
    }
    snapshot_set_running(vm);
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        if (!rec->vcpus[k].on)
            continue;
        int st = snapshot_start_vcpu(vm, &vm->vcpus[k], "installed", why, n);
        if (st != STATUS_OK)
            return st;
    }
    return STATUS_OK;
}
