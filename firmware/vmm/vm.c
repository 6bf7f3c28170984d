#include "vm.h"

#include "bytes.h"
#include "console.h"
#include "entry.h"
#include "gicv3.h"
#include "libc.h"
#include "memmap.h"
#include "print.h"
#include "protocol.h"
#include "psci.h"
#include "uart.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

struct vm vms[MAX_VMS];

struct vm *vm_get(uint32_t id)
{
    if (id >= MAX_VMS || vms[id].state == VM_FREE)
        return NULL;
    return &vms[id];
}

static int fail(char *why, unsigned n, int status, const char *text)
{
    snprintf_(why, n, "%s", text);
    return status;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int vm_owns_pa(uint64_t pa, uint64_t size, const struct vm *except)
{
    for (unsigned i = 0; i < MAX_VMS; i++) {
        const struct vm *vm = &vms[i];
        if (vm == except || vm->state == VM_FREE)
            continue;
        for (unsigned r = 0; r < vm->nregions; r++)
            if (vm->regions[r].kind == REGION_RAM && overlaps(pa, size, vm->regions[r].pa, vm->regions[r].size))
                return 1;
    }
    return 0;
}

/* Physical cores the stub may give to guests: those in the DTB, except the boot core and
 * cores another VM holds. */
static int core_free(unsigned core)
{
    if (core == 0 || core >= MAX_CPUS || percpus[core].mpidr == ~0UL)
        return 0;
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (vms[i].state != VM_FREE)
            for (unsigned k = 0; k < vms[i].nvcpus; k++)
                if (vms[i].vcpus[k].pcpu == core)
                    return 0;
    return 1;
}

int vm_create(const char *name, unsigned nvcpus, const uint8_t *pcpus, uint32_t privileged,
              uint64_t console_ipa, uint32_t console_irq, uint64_t entry, uint64_t dtb,
              uint32_t *id, char *why, unsigned n)
{
    if (nvcpus == 0 || nvcpus > MAX_VCPUS)
        return fail(why, n, STATUS_BAD_REQUEST, "vcpus must be 1..4");
    if (console_irq < 32 || console_irq >= VGIC_NR_IRQS || (console_ipa & 0xFFF))
        return fail(why, n, STATUS_BAD_REQUEST, "console irq must be an SPI below 128, ipa page aligned");
    struct vm *vm = NULL;
    for (unsigned i = 0; i < MAX_VMS && !vm; i++)
        if (vms[i].state == VM_FREE)
            vm = &vms[i];
    if (!vm)
        return fail(why, n, STATUS_TOO_LARGE, "all VM slots are in use");
    uint8_t chosen[MAX_VCPUS];
    for (unsigned k = 0; k < nvcpus; k++) {
        unsigned core = pcpus[k];
        if (core == 0) {                              /* 0: let the stub pick */
            for (core = 1; core < MAX_CPUS; core++) {
                int taken = 0;
                for (unsigned j = 0; j < k; j++)
                    taken |= chosen[j] == core;
                if (!taken && core_free(core))
                    break;
            }
        }
        if (core >= MAX_CPUS || !core_free(core))
            return fail(why, n, STATUS_REFUSED_RANGE, "not enough free physical cores");
        for (unsigned j = 0; j < k; j++)
            if (chosen[j] == core)
                return fail(why, n, STATUS_BAD_REQUEST, "a physical core named twice");
        chosen[k] = (uint8_t)core;
    }
    memset(vm, 0, sizeof *vm);
    vm->id = (uint32_t)(vm - vms);
    if (stage2_init(&vm->s2, (uint16_t)(vm->id + 1)) != 0)
        return fail(why, n, STATUS_TOO_LARGE, "no stage-2 table memory left");
    for (unsigned i = 0; i < 15 && name[i]; i++)
        vm->name[i] = name[i];
    vm->nvcpus = nvcpus;
    vm->privileged = privileged;
    vm->console_ipa = console_ipa;
    vm->console_irq = console_irq;
    vm->entry = entry;
    vm->dtb = dtb;
    for (unsigned k = 0; k < nvcpus; k++) {
        vm->vcpus[k].vm = vm;
        vm->vcpus[k].index = k;
        vm->vcpus[k].pcpu = chosen[k];
        vgic_cpu_init(&vm->vcpus[k]);
    }
    vgic_init(vm);
    vpl011_init(&vm->console, vm_console_tx, vm);
    vm->state = VM_CREATED;
    *id = vm->id;
    return STATUS_OK;
}

int vm_map(uint32_t id, uint32_t kind, uint64_t ipa, uint64_t pa, uint64_t size, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state != VM_CREATED)
        return fail(why, n, STATUS_BAD_REQUEST, "memory can only be added before the VM starts");
    if (vm->nregions == MAX_REGIONS)
        return fail(why, n, STATUS_TOO_LARGE, "too many regions");
    if (size == 0 || ((ipa | pa | size) & 0xFFF) || ipa + size < ipa || pa + size < pa)
        return fail(why, n, STATUS_BAD_ALIGNMENT, "ipa, pa and size must be 4 KiB multiples");
    if (kind == REGION_RAM) {
        if (memmap_check(pa, size, MEM_WRITE, why, n) != 0)
            return STATUS_REFUSED_RANGE;
        if (vm_owns_pa(pa, size, NULL))
            return fail(why, n, STATUS_REFUSED_RANGE, "pa overlaps another VM's memory");
    } else if (kind == REGION_DEVICE) {
        const struct memmap *m = memmap_get();
        for (int r = 0; r < m->ram_count; r++)
            if (overlaps(pa, size, m->ram[r].base, m->ram[r].size))
                return fail(why, n, STATUS_REFUSED_RANGE, "a device region may not cover RAM");
        struct uart_claim claims[UART_MAX_CLAIMS];
        unsigned nclaims = uart_claims(claims);
        for (unsigned c = 0; c < nclaims; c++)
            if (overlaps(pa, size, claims[c].base, claims[c].size))
                return fail(why, n, STATUS_REFUSED_RANGE,
                            "the stub's UART and what places it are not handed out");
        if (overlaps(pa, size, BOARD_GICD_BASE, VGIC_DIST_SIZE) ||
            overlaps(pa, size, BOARD_GICR_BASE, MAX_CPUS * VGIC_REDIST_FRAME))
            return fail(why, n, STATUS_REFUSED_RANGE, "the stub's UART and the GIC are not handed out");
    } else {
        return fail(why, n, STATUS_BAD_REQUEST, "unknown region kind");
    }
    for (unsigned r = 0; r < vm->nregions; r++)
        if (overlaps(ipa, size, vm->regions[r].ipa, vm->regions[r].size))
            return fail(why, n, STATUS_REFUSED_RANGE, "ipa overlaps another region of this VM");
    if (overlaps(ipa, size, vm->console_ipa, 0x1000))
        return fail(why, n, STATUS_REFUSED_RANGE, "ipa overlaps the emulated console");
    if (stage2_map(&vm->s2, ipa, pa, size, kind == REGION_RAM ? S2_NORMAL : S2_DEVICE) != 0)
        return fail(why, n, STATUS_TOO_LARGE, "stage-2 tables exhausted or ipa beyond 40 bits");
    vm->regions[vm->nregions++] = (struct vm_region){ipa, pa, size, kind};
    return STATUS_OK;
}

int vm_irq(uint32_t id, uint32_t intid, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state != VM_CREATED)
        return fail(why, n, STATUS_BAD_REQUEST, "interrupts can only be added before the VM starts");
    if (intid < 32 || intid >= VGIC_NR_IRQS)
        return fail(why, n, STATUS_BAD_REQUEST, "only SPIs 32..127 can be handed to a VM");
    if (intid == BOARD_UART_IRQ || intid == vm->console_irq)
        return fail(why, n, STATUS_REFUSED_RANGE, "the stub's UART and the VM's console keep their interrupts");
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (&vms[i] != vm && vms[i].state != VM_FREE && vm_owns_irq(&vms[i], intid))
            return fail(why, n, STATUS_REFUSED_RANGE, "another VM owns this interrupt");
    vm->hw_irqs[intid / 32] |= 1u << (intid % 32);
    return STATUS_OK;
}

/* Route the VM's physical SPIs to its vCPU 0's core (enable), or take them back. */
static void route_irqs(struct vm *vm, int enable)
{
    for (uint32_t intid = 32; intid < VGIC_NR_IRQS; intid++)
        if (vm_owns_irq(vm, intid))
            gic_spi_route(intid, percpus[vm->vcpus[0].pcpu].mpidr, enable);
}

static int ipa_is_ram(const struct vm *vm, uint64_t ipa)
{
    for (unsigned r = 0; r < vm->nregions; r++)
        if (vm->regions[r].kind == REGION_RAM && ipa >= vm->regions[r].ipa &&
            ipa - vm->regions[r].ipa < vm->regions[r].size)
            return 1;
    return 0;
}

int vm_start(uint32_t id, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state == VM_RUNNING)
        return fail(why, n, STATUS_BAD_REQUEST, "the VM is running");
    uint64_t entry = vm->entry, dtb = vm->dtb;
    if (!ipa_is_ram(vm, entry) || !ipa_is_ram(vm, dtb) || (entry & 3) || (dtb & 7))
        return fail(why, n, STATUS_REFUSED_RANGE, "entry and dtb must lie in the VM's RAM, aligned");
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        if (v->state != VCPU_OFF)
            return fail(why, n, STATUS_BAD_REQUEST, "a vCPU of this VM is still on");
        vgic_cpu_init(v);
        v->kick = 0;
    }
    vgic_init(vm);
    vpl011_init(&vm->console, vm_console_tx, vm);
    vm->stop_requested = 0;
    vm->stop_reason = STOP_NONE;
    vm->stop_reported = 0;
    struct vcpu *boot = &vm->vcpus[0];
    boot->entry = entry;
    boot->context = dtb;
    boot->state = VCPU_STARTING;
    percpus[boot->pcpu].vcpu = boot;
    vm->state = VM_RUNNING;
    route_irqs(vm, 1);
    dsb_sy();
    int64_t r = psci_call(PSCI_CPU_ON, percpus[boot->pcpu].mpidr, (uintptr_t)secondary_entry,
                          (uintptr_t)&percpus[boot->pcpu]);
    if (r != 0) {
        boot->state = VCPU_OFF;
        vm->state = VM_STOPPED;
        snprintf_(why, n, "PSCI CPU_ON of core %u failed: %ld", boot->pcpu, r);
        return STATUS_NOT_SUPPORTED;
    }
    return STATUS_OK;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
    uint32_t none = STOP_NONE;
    __atomic_compare_exchange_n(&vm->stop_reason, &none, reason, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    vm->stop_requested = 1;
    dsb_sy();
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        struct vcpu *v = &vm->vcpus[k];
        if (v->state != VCPU_OFF && this_cpu()->vcpu != v) {
            __atomic_fetch_or(&v->kick, KICK_STOP, __ATOMIC_SEQ_CST);
            gic_send_sgi(percpus[v->pcpu].mpidr, GIC_KICK_SGI);
        }
    }
}

static int all_off(const struct vm *vm)
{
    for (unsigned k = 0; k < vm->nvcpus; k++)
        if (vm->vcpus[k].state != VCPU_OFF)
            return 0;
    return 1;
}

int vm_stop(uint32_t id, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state != VM_RUNNING)
        return STATUS_OK;
    vm_request_stop(vm, STOP_HOST);
    for (unsigned spins = 0; !all_off(vm) && spins < 2000000; spins++)
        console_poll_link();
    if (!all_off(vm))
        return fail(why, n, STATUS_NOT_SUPPORTED, "a vCPU did not stop");
    /* Cores report themselves off just before PSCI CPU_OFF: make sure they are gone. */
    for (unsigned k = 0; k < vm->nvcpus; k++)
        while (psci_call(PSCI_AFFINITY_INFO, percpus[vm->vcpus[k].pcpu].mpidr, 0, 0) == 0)
            console_poll_link();
    return STATUS_OK;
}

int vm_destroy(uint32_t id, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    int r = vm_stop(id, why, n);
    if (r != STATUS_OK)
        return r;
    vm_poll();                            /* report the stop before the VM disappears */
    route_irqs(vm, 0);
    for (unsigned k = 0; k < vm->nvcpus; k++)
        percpus[vm->vcpus[k].pcpu].vcpu = NULL;
    stage2_release(&vm->s2);
    stage2_flush_tlb(&vm->s2);
    vm->state = VM_FREE;
    return STATUS_OK;
}

void vm_console_input(uint32_t id, const uint8_t *data, uint32_t len)
{
    struct vm *vm = vm_get(id);
    if (!vm || vm->state != VM_RUNNING)
        return;
    ring_put(&vm->console_in, data, len);
    struct vcpu *target = &vm->vcpus[0];
    __atomic_fetch_or(&target->kick, KICK_INPUT, __ATOMIC_SEQ_CST);
    if (target->state == VCPU_ON)
        gic_send_sgi(percpus[target->pcpu].mpidr, GIC_KICK_SGI);
}

void vm_poll(void)
{
    for (unsigned i = 0; i < MAX_VMS; i++) {
        struct vm *vm = &vms[i];
        if (vm->state == VM_FREE)
            continue;
        uint8_t chunk[256];
        for (unsigned k = 0; k < vm->nvcpus; k++) {
            uint32_t got;
            while ((got = ring_get(&vm->console_out[k], chunk, sizeof chunk)) != 0)
                console_guest_output(vm->id, chunk, got);
        }
        if (vm->state == VM_RUNNING && vm->stop_reason != STOP_NONE && all_off(vm)) {
            vm->state = VM_STOPPED;
        }
        if (vm->state == VM_STOPPED && vm->stop_reason != STOP_NONE && !vm->stop_reported) {
            vm->stop_reported = 1;
            uint8_t event[EVENT_VM_STOPPED_SIZE] = {EVENT_VM_STOPPED, 0, 0, 0};
            put32(event + EVENT_VM_STOPPED_VM, vm->id);
            put32(event + EVENT_VM_STOPPED_REASON, vm->stop_reason);
            put64(event + EVENT_VM_STOPPED_ESR, vm->fault_esr);
            put64(event + EVENT_VM_STOPPED_ELR, vm->fault_elr);
            put64(event + EVENT_VM_STOPPED_FAR, vm->fault_far);
            put64(event + EVENT_VM_STOPPED_IPA, vm->fault_ipa);
            if (console_event(event, sizeof event) != 0)
                printf_("hvmon: VM %u (%s) stopped, reason %u, ESR 0x%lx ELR 0x%lx FAR 0x%lx\n",
                        vm->id, vm->name, vm->stop_reason, vm->fault_esr, vm->fault_elr, vm->fault_far);
        }
    }
}
