/* Bringing a running VM to a standstill from the boot core, and letting it go again.
 * Each vCPU's state is in its own core's registers, so only that core can save or load
 * it: the boot core asks for a pause and kicks every core (an SGI makes a guest exit at
 * once, even from WFI), and each vCPU stops at the end of its current trap, saves its
 * registers into its struct vcpu and waits in WFI (vcpu.c, vcpu_pause_here). */
#ifndef HVMON_VM_PAUSE_H
#define HVMON_VM_PAUSE_H

#include "vm.h"

/* Boot core: every vCPU of the running VM saved and standing still (or off). 0, or a
 * protocol status with the reason (the VM is let go again then). */
int vm_pause(struct vm *vm, char *why, unsigned n);
/* Boot core: let the paused vCPUs go on; each first does what its load_saved or
 * park_on_release says. */
void vm_release(struct vm *vm);

#endif
