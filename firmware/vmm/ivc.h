/* Inter-VM communication: a share is RAM mapped into exactly two VMs, each naming it by
 * the same name in its config (VM_SHARE), plus a doorbell per side: the ivc_ring
 * hypercall raises the peer's doorbell SPI in the peer's virtual GIC. Nothing else may
 * map the same pages twice: vm_map refuses every other overlap. */
#ifndef HVMON_IVC_H
#define HVMON_IVC_H

#include <stdint.h>

#define MAX_SHARES 8
#define SHARE_PARTIES 2

struct vm;

/* Boot core, before the VM starts: map share `name` at ipa. The first VM naming the
 * share fixes its pa and size (checked as RAM nobody else holds); the second must give
 * the same. doorbell_irq: the SPI this VM receives when its peer rings (0: none).
 * Returns 0 or a protocol status, with a reason in why. */
int vm_share(uint32_t id, const char *name, uint32_t doorbell_irq, uint64_t ipa, uint64_t pa,
             uint64_t size, char *why, unsigned n);

/* Boot core, destroying vm (after its stage 2 is gone): it leaves its shares; a share
 * whose last party this was is zeroed and forgotten. Pages still mapped by a peer are
 * left alone, since the peer may still be using them. */
void ivc_release(struct vm *vm);

/* Is intid the doorbell SPI of one of vm's shares? */
int ivc_is_doorbell(const struct vm *vm, uint32_t intid);

/* The name of share index `share` (a vm_region's), "" when unused. */
const char *ivc_share_name(unsigned share);

/* Guest cores: the caller rings the doorbell of its shared region holding ipa.
 * Returns 0 or a protocol status. */
int ivc_ring(struct vm *caller, uint64_t ipa);

#endif
