#include "vm_pause.h"

#include "console.h"
#include "gicv3.h"
#include "libc.h"
#include "print.h"
#include "protocol.h"
#include "timer.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

/* As long as a stop waits for its cores (vm.c): how soon a kicked core takes its SGI
 * depends on how soon a loaded host runs that vCPU's thread under QEMU. */
#define VM_PAUSE_WAIT_MS 10000

/* Every vCPU either off or saved for this pause. A vCPU on its way in (STARTING) is not:
 * vcpu_start_on_this_core checks pause_requested after it reports itself on. */
static int all_still(const struct vm *vm)
{
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        const struct vcpu *v = &vm->vcpus[k];
        if (v->state != VCPU_OFF && v->paused_gen != vm->pause_gen)
            return 0;
    }
    return 1;
}

int vm_pause(struct vm *vm, char *why, unsigned n)
{
    vm->pause_gen++;
    vm->pause_requested = 1;
    dsb_sy();
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        v->load_saved = 0;
        v->park_on_release = 0;
        if (v->state != VCPU_OFF) {
            __atomic_fetch_or(&v->kick, KICK_PAUSE, __ATOMIC_SEQ_CST);
            gic_send_sgi(percpus[v->pcpu].mpidr, GIC_KICK_SGI);
        }
    }
    /* Console output is drained meanwhile: a vCPU may be waiting for room in its ring
     * before it can finish the trap it is in. */
    uint64_t deadline = timer_now() + timer_ms(VM_PAUSE_WAIT_MS);
    while (!all_still(vm) && timer_now() < deadline) {
        vm_poll();
        console_poll_link();
    }
    vm_poll();
    if (!all_still(vm)) {
        vm_release(vm);
        snprintf_(why, n, "VM %u (%s): a vCPU did not pause within %u ms", vm->id, vm->name,
                  VM_PAUSE_WAIT_MS);
        return STATUS_NOT_SUPPORTED;
    }
    if (vm->stop_requested) {
        vm_release(vm);
        snprintf_(why, n, "VM %u (%s) stopped while it was being paused", vm->id, vm->name);
        return STATUS_NOT_RUNNING;
    }
    return STATUS_OK;
}

void vm_release(struct vm *vm)
{
    dsb_sy();
    vm->pause_requested = 0;
    dsb_sy();
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        if (v->state != VCPU_OFF)
            gic_send_sgi(percpus[v->pcpu].mpidr, GIC_KICK_SGI);
    }
}
