/* Virtual machines: memory (stage 2), vCPUs pinned one-to-one to physical cores, an
 * emulated console and a virtual GIC. The boot core (0) runs the stub's session loop and
 * never a guest; guest cores talk to it only through the rings and flags below. */
#ifndef HVMON_VM_H
#define HVMON_VM_H

#include <stdint.h>

#include "guest_context.h"
#include "percpu.h"
#include "protocol.h"
#include "ring.h"
#include "stage2.h"
#include "vgic.h"
#include "vpl011.h"

#define MAX_VMS 4
#define MAX_VCPUS LIMIT_MAX_VCPUS       /* protocol/hvmon.toml: the host checks configs against them */
#define MAX_REGIONS LIMIT_MAX_REGIONS

enum vm_state { VM_FREE = 0, VM_CREATED = 1, VM_RUNNING = 2, VM_STOPPED = 3 };
enum vm_stop_reason { STOP_NONE = 0, STOP_SYSTEM_OFF = 1, STOP_SYSTEM_RESET = 2, STOP_FAULT = 3,
                      STOP_HOST = 4 };
/* REGION_SHARED: RAM that one other VM maps too (an IVC share, ivc.h); only VM_SHARE
 * makes one, never VM_MAP. */
enum region_kind { REGION_RAM = 0, REGION_DEVICE = 1, REGION_SHARED = 2 };

struct vm_region {
    uint64_t ipa, pa, size;
    uint32_t kind;
    uint8_t share;                   /* REGION_SHARED: index into ivc.c's shares */
    uint8_t doorbell_irq;            /* REGION_SHARED: SPI this VM gets when its peer rings, 0: none */
};

enum vcpu_state { VCPU_OFF = 0, VCPU_STARTING = 1, VCPU_ON = 2 };

struct vcpu {
    struct vm *vm;
    unsigned index;
    unsigned pcpu;                   /* physical core it runs on */
    volatile uint32_t state;
    uint64_t entry, context;         /* for the next start (PSCI CPU_ON or VM start) */
    volatile uint32_t kick;          /* bits: what other cores want this one to look at */
    struct vgic_cpu vgic;
    /* Pausing (vm_pause.c): the pause generation this vCPU stands still for, and what it
     * does when let go: load `saved` (a restore), or leave its guest for good. */
    volatile uint32_t paused_gen;
    volatile uint32_t load_saved, park_on_release;
    struct guest_context saved;      /* written by this vCPU's core at a pause, or by a restore */
};

struct vm {
    volatile uint32_t state;
    uint32_t id;
    char name[16];
    uint32_t privileged;
    struct stage2 s2;
    struct vm_region regions[MAX_REGIONS];
    unsigned nregions;
    unsigned nvcpus;
    struct vcpu vcpus[MAX_VCPUS];
    uint64_t entry, dtb;             /* IPA of the kernel entry and of its DTB */
    uint64_t console_ipa;
    uint64_t gicd_ipa, gicr_ipa;     /* where the guest's vGIC frames trap (VM_CREATE) */
    uint32_t console_irq;
    struct vpl011 console;
    struct byte_ring console_in;     /* host -> guest: boot core produces */
    /* guest -> host: one ring for all vCPUs, so the bytes leave in the order the guest
     * wrote them. Its producers are serialized by console_lock (every UART write holds
     * it); the boot core consumes. */
    struct byte_ring console_out;
    struct vgic_dist vgic;
    volatile uint32_t stop_requested;
    volatile uint32_t stop_reason;   /* enum vm_stop_reason, set once by the first stopper */
    volatile uint32_t stop_reported;
    uint64_t fault_esr, fault_elr, fault_far, fault_ipa;
    volatile uint32_t console_lock;
    uint32_t hw_irqs[VGIC_WORDS];    /* physical SPIs handed to this VM */
    volatile uint32_t pause_requested;   /* the boot core wants every vCPU at a standstill */
    volatile uint32_t pause_gen;
    uint64_t cntvoff;                /* CNTVOFF_EL2 of every vCPU: 0 until a restore moves it */
    /* Dirty logging (snapshot.c): one bit per 4 KiB of the VM's RAM regions, in VM_MAP
     * order, set for every page written since its RAM last equalled snapshot sync_seq;
     * NULL while nothing is logged. It lives in that snapshot's memory. */
    uint64_t *volatile dirty;
    uint32_t sync_seq;
};

static inline int vm_owns_irq(const struct vm *vm, uint32_t intid)
{
    return intid < VGIC_MAX_INTIDS && (vm->hw_irqs[intid / 32] >> (intid % 32)) & 1;
}

#define KICK_STOP    1u
#define KICK_INPUT   2u
#define KICK_VIRQ    4u
#define KICK_PAUSE   8u

extern struct vm vms[MAX_VMS];

/* Management, on the boot core. Each returns 0 or a protocol status, with a reason. */
int vm_create(const char *name, unsigned nvcpus, const uint8_t *pcpus, uint32_t privileged,
              uint64_t console_ipa, uint32_t console_irq, uint64_t entry, uint64_t dtb,
              uint64_t gicd_ipa, uint64_t gicr_ipa, uint32_t *id, char *why, unsigned n);
int vm_map(uint32_t id, uint32_t kind, uint64_t ipa, uint64_t pa, uint64_t size, char *why, unsigned n);
/* The checks of the VM's IPA space that vm_map and ivc's vm_share share, then the stage-2
 * mapping: the region is appended to vm->regions (*added, when not NULL). 0 or a status. */
int vm_add_region(struct vm *vm, uint32_t kind, uint64_t ipa, uint64_t pa, uint64_t size,
                  struct vm_region **added, char *why, unsigned n);
int vm_start(uint32_t id, char *why, unsigned n);
/* Clean and invalidate the VM's RAM to PoC (what vm_start does before a guest runs). */
void vm_clean_ram(const struct vm *vm);
/* Is ipa inside one of the VM's RAM regions? */
int vm_ipa_is_ram(const struct vm *vm, uint64_t ipa);
int vm_irq(uint32_t id, uint32_t intid, char *why, unsigned n);
int vm_stop(uint32_t id, char *why, unsigned n);
int vm_destroy(uint32_t id, char *why, unsigned n);
struct vm *vm_get(uint32_t id);
/* A guest's pointer: [ipa, ipa+len) inside one RAM region of `vm` (not a device region,
 * not wrapping, not empty) gives its PA in *pa and 0; anything else -1. */
int vm_ram_pa(const struct vm *vm, uint64_t ipa, uint64_t len, uint64_t *pa);
/* Does [pa, pa+size) overlap the RAM (own or shared) of a VM other than `except`? */
int vm_owns_pa(uint64_t pa, uint64_t size, const struct vm *except);
/* The device region (passthrough) of any VM overlapping [pa, pa+size), or NULL; a device
 * belongs to one VM only. */
const struct vm_region *vm_device_holder(uint64_t pa, uint64_t size, const struct vm **holder);

/* Boot core, every loop: console bytes and stop events towards the host. */
void vm_poll(void);
/* Boot core: host input for a VM's console (channel CONSOLE_BASE + id). */
void vm_console_input(uint32_t id, const uint8_t *data, uint32_t len);

/* Guest cores. The console model's transmit hook: into this core's output ring. */
void vm_console_tx(void *vm, uint8_t byte);
/* Guest cores: run this core's vCPU (a core started by vm_start or a guest's PSCI
 * CPU_ON), or switch the core off if it has none. */
void vcpu_start_on_this_core(struct percpu *cpu) __attribute__((noreturn));
/* Guest cores: one exit of the guest (the guest_exit_handler main.c installs). */
void guest_trap(struct percpu *cpu, uint64_t slot);
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
/* Guest cores, at the end of a trap while vm->pause_requested: save this vCPU's state,
 * stand still until the boot core lets go, then carry out what it left (vm_pause.h). */
void vcpu_pause_here(struct percpu *cpu, struct vcpu *v);
/* Boot core: route (enable) or take back the VM's physical SPIs, and start vCPU v's core
 * (PSCI CPU_ON) once it is off; 0 or the PSCI error. */
void vm_route_irqs(struct vm *vm, int enable);
int64_t vcpu_power_on(struct vcpu *v);
/* Guest cores: the stub faulted here (exception_set_guest_core_handler, from main.c). */
void vcpu_stub_fault(uint64_t esr, uint64_t elr, uint64_t far) __attribute__((noreturn));

#endif
