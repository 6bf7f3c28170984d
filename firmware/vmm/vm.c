#include "vm.h"

#include "bytes.h"
#include <cache.h>    /* <>: host builds shadow it */
#include "console.h"
#include "entry.h"
#include "gicv3.h"
#include "ivc.h"
#include "libc.h"
#include "memmap.h"
#include "print.h"
#include "protocol.h"
#include "psci.h"
#include "snapshot.h"
#include "timer.h"
#include "uart.h"
#include <sysreg.h>   /* <>: host tests may shadow it */

struct vm vms[MAX_VMS];

struct vm *vm_get(uint32_t id)
{
    if (id >= MAX_VMS || vms[id].state == VM_FREE)
        return NULL;
    return &vms[id];
}

/* How long a stop waits for a VM's cores to leave their guest. */
#define VM_STOP_WAIT_MS 10000

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
            if (vm->regions[r].kind != REGION_DEVICE &&
                overlaps(pa, size, vm->regions[r].pa, vm->regions[r].size))
                return 1;
    }
    return 0;
}

/* A device region of any VM (this one included: a device is mapped once) overlapping
 * [pa, pa+size), and the VM that holds it. */
const struct vm_region *vm_device_holder(uint64_t pa, uint64_t size, const struct vm **holder)
{
    for (unsigned i = 0; i < MAX_VMS; i++) {
        const struct vm *vm = &vms[i];
        if (vm->state == VM_FREE)
            continue;
        for (unsigned r = 0; r < vm->nregions; r++)
            if (vm->regions[r].kind == REGION_DEVICE &&
                overlaps(pa, size, vm->regions[r].pa, vm->regions[r].size)) {
                *holder = vm;
                return &vm->regions[r];
            }
    }
    return NULL;
}

/* An SPI of this board (32 .. its GIC's INTID count - 1), or a reason naming the limit. */
static int spi_refused(uint32_t intid, const char *what, char *why, unsigned n)
{
    unsigned count = gic_intid_count();
    if (intid >= 32 && intid < count)
        return 0;
    snprintf_(why, n, "%s %u is not an SPI of this board: its GIC has SPIs 32..%u "
              "(GICD_TYPER.ITLinesNumber %u)", what, intid, count - 1, gic_typer() & 0x1F);
    return 1;
}

int vm_ram_pa(const struct vm *vm, uint64_t ipa, uint64_t len, uint64_t *pa)
{
    if (len == 0 || ipa + len < ipa)
        return -1;
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *m = &vm->regions[r];
        /* Both ends in the one region: a range running on into a neighbouring region is
         * refused even when that one is RAM of this VM too (their PAs need not touch). */
        if (m->kind == REGION_RAM && ipa >= m->ipa && ipa - m->ipa < m->size &&
            len <= m->size - (ipa - m->ipa)) {
            *pa = m->pa + (ipa - m->ipa);
            return 0;
        }
    }
    return -1;
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
              uint64_t gicd_ipa, uint64_t gicr_ipa, uint32_t *id, char *why, unsigned n)
{
    if (nvcpus == 0 || nvcpus > MAX_VCPUS) {
        snprintf_(why, n, "vcpus must be 1..%u", MAX_VCPUS);
        return STATUS_BAD_REQUEST;
    }
    if (spi_refused(console_irq, "console irq", why, n))
        return STATUS_BAD_REQUEST;
    if (console_ipa & 0xFFF)
        return fail(why, n, STATUS_BAD_REQUEST, "console ipa must be page aligned");
    /* 0: the guest finds its GIC where the board's is, as a DTB cut from the board's says. */
    gicd_ipa = gicd_ipa ? gicd_ipa : BOARD_GICD_BASE;
    gicr_ipa = gicr_ipa ? gicr_ipa : BOARD_GICR_BASE;
    uint64_t gicr_size = (uint64_t)nvcpus * VGIC_REDIST_FRAME;
    if ((gicd_ipa | gicr_ipa) & (VGIC_DIST_SIZE - 1))
        return fail(why, n, STATUS_BAD_ALIGNMENT, "the vGIC's IPAs must be 64 KiB aligned");
    if (overlaps(gicd_ipa, VGIC_DIST_SIZE, gicr_ipa, gicr_size) ||
        overlaps(console_ipa, 0x1000, gicd_ipa, VGIC_DIST_SIZE) ||
        overlaps(console_ipa, 0x1000, gicr_ipa, gicr_size))
        return fail(why, n, STATUS_REFUSED_RANGE, "the vGIC's frames and the console overlap");
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
    vm->gicd_ipa = gicd_ipa;
    vm->gicr_ipa = gicr_ipa;
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
    if (size == 0 || ((ipa | pa | size) & 0xFFF))
        return fail(why, n, STATUS_BAD_ALIGNMENT, "ipa, pa and size must be 4 KiB multiples");
    /* The PA inside what stage 2 can express: a wider one would be cut to the descriptor's
     * bits and alias low memory (such as the stub itself). The IPA: vm_add_region. */
    unsigned pa_bits = memmap_get()->pa_bits;
    if (pa + size < pa || pa + size > (1UL << pa_bits)) {
        snprintf_(why, n, "pa 0x%lx+0x%lx is beyond the board's %u-bit physical address range",
                  pa, size, pa_bits);
        return STATUS_REFUSED_RANGE;
    }
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
        if (memmap_check_reserved(pa, size, why, n) != 0)   /* firmware's, outside /memory */
            return STATUS_REFUSED_RANGE;
        struct uart_claim claims[UART_MAX_CLAIMS];
        unsigned nclaims = uart_claims(claims);
        for (unsigned c = 0; c < nclaims; c++)
            if (overlaps(pa, size, claims[c].base, claims[c].size))
                return fail(why, n, STATUS_REFUSED_RANGE,
                            "the stub's UART and what places it are not handed out");
        if (overlaps(pa, size, BOARD_GICD_BASE, VGIC_DIST_SIZE) ||
            overlaps(pa, size, BOARD_GICR_BASE, MAX_CPUS * VGIC_REDIST_FRAME))
            return fail(why, n, STATUS_REFUSED_RANGE, "the stub's UART and the GIC are not handed out");
        const struct vm *holder;
        const struct vm_region *r = vm_device_holder(pa, size, &holder);
        if (r) {
            snprintf_(why, n, "pa 0x%lx+0x%lx overlaps device 0x%lx-0x%lx of VM %u (%s)", pa, size,
                      r->pa, r->pa + r->size - 1, holder->id, holder->name);
            return STATUS_REFUSED_RANGE;
        }
    } else {
        return fail(why, n, STATUS_BAD_REQUEST, "unknown region kind (shared memory: VM_SHARE)");
    }
    return vm_add_region(vm, kind, ipa, pa, size, NULL, why, n);
}

int vm_add_region(struct vm *vm, uint32_t kind, uint64_t ipa, uint64_t pa, uint64_t size,
                  struct vm_region **added, char *why, unsigned n)
{
    if (vm->nregions == MAX_REGIONS)
        return fail(why, n, STATUS_TOO_LARGE, "too many regions");
    if (ipa + size < ipa || ipa + size > (1UL << S2_IPA_BITS)) {
        snprintf_(why, n, "ipa 0x%lx+0x%lx is beyond the VM's %u-bit guest-physical space",
                  ipa, size, S2_IPA_BITS);
        return STATUS_REFUSED_RANGE;
    }
    for (unsigned r = 0; r < vm->nregions; r++)
        if (overlaps(ipa, size, vm->regions[r].ipa, vm->regions[r].size))
            return fail(why, n, STATUS_REFUSED_RANGE, "ipa overlaps another region of this VM");
    if (overlaps(ipa, size, vm->console_ipa, 0x1000))
        return fail(why, n, STATUS_REFUSED_RANGE, "ipa overlaps the emulated console");
    /* The vGIC works only while its frames stay out of stage 2: every access must trap. */
    if (overlaps(ipa, size, vm->gicd_ipa, VGIC_DIST_SIZE) ||
        overlaps(ipa, size, vm->gicr_ipa, (uint64_t)vm->nvcpus * VGIC_REDIST_FRAME))
        return fail(why, n, STATUS_REFUSED_RANGE, "ipa overlaps the virtual GIC");
    if (stage2_map(&vm->s2, ipa, pa, size, kind == REGION_DEVICE ? S2_DEVICE : S2_NORMAL) != 0) {
        snprintf_(why, n, "not enough stage-2 table pages left for ipa 0x%lx+0x%lx (nothing "
                  "was mapped)", ipa, size);
        return STATUS_TOO_LARGE;
    }
    struct vm_region *region = &vm->regions[vm->nregions++];
    *region = (struct vm_region){ipa, pa, size, kind, 0, 0};
    if (added)
        *added = region;
    return STATUS_OK;
}

int vm_irq(uint32_t id, uint32_t intid, char *why, unsigned n)
{
    struct vm *vm = vm_get(id);
    if (!vm)
        return fail(why, n, STATUS_BAD_REQUEST, "no such VM");
    if (vm->state != VM_CREATED)
        return fail(why, n, STATUS_BAD_REQUEST, "interrupts can only be added before the VM starts");
    if (spi_refused(intid, "interrupt", why, n))
        return STATUS_BAD_REQUEST;
    if (intid == BOARD_UART_IRQ || intid == vm->console_irq)
        return fail(why, n, STATUS_REFUSED_RANGE, "the stub's UART and the VM's console keep their interrupts");
    if (ivc_is_doorbell(vm, intid))
        return fail(why, n, STATUS_REFUSED_RANGE, "the interrupt is a doorbell of this VM's shared memory");
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (&vms[i] != vm && vms[i].state != VM_FREE && vm_owns_irq(&vms[i], intid))
            return fail(why, n, STATUS_REFUSED_RANGE, "another VM owns this interrupt");
    vm->hw_irqs[intid / 32] |= 1u << (intid % 32);
    return STATUS_OK;
}

/* Route the VM's physical SPIs to its vCPU 0's core (enable), or take them back. */
void vm_route_irqs(struct vm *vm, int enable)
{
    for (uint32_t intid = 32; intid < VGIC_MAX_INTIDS; intid++)
        if (vm_owns_irq(vm, intid))
            gic_spi_route(intid, percpus[vm->vcpus[0].pcpu].mpidr, enable);
}

/* Cache maintenance over a VM's RAM, 64 KiB at a time with the link polled between, as
 * every long operation of the boot core does: the host's window keeps streaming, and a
 * chunk takes microseconds on silicon, well inside what the UART's receive FIFO holds at
 * 1.5 Mbaud. The first poll also acknowledges the request (session.c), so the host waits
 * out a large VM without taking the stub for dead. */
#define MAINTAIN_CHUNK 0x10000UL

enum ram_maintenance { RAM_CLEAN, RAM_SCRUB };

static void maintain_ram(const struct vm *vm, enum ram_maintenance what)
{
    for (unsigned r = 0; r < vm->nregions; r++) {
        const struct vm_region *region = &vm->regions[r];
        if (region->kind != REGION_RAM)
            continue;
        for (uint64_t at = 0; at < region->size; at += MAINTAIN_CHUNK) {
            uint64_t n = region->size - at < MAINTAIN_CHUNK ? region->size - at : MAINTAIN_CHUNK;
            void *p = (void *)(uintptr_t)(region->pa + at);
            if (what == RAM_SCRUB)
                dcache_zero(p, n);
            dcache_clean_inval_poc(p, n);
            console_poll_link();
        }
    }
}

static int ipa_is_ram(const struct vm *vm, uint64_t ipa);

void vm_clean_ram(const struct vm *vm)
{
    maintain_ram(vm, RAM_CLEAN);
}

int vm_ipa_is_ram(const struct vm *vm, uint64_t ipa)
{
    return ipa_is_ram(vm, ipa);
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
    /* Cache maintenance (arch/aarch64/README.md, "EL2 MMU and caches"): the guest starts
     * with its MMU off, so its loads are Device-nGnRnE and its instruction fetches
     * non-cacheable, whatever stage 2 says (Arm ARM D8, combining stage 1 and stage 2
     * attributes: the stronger type wins): it reads memory, not the caches. Clean its
     * RAM to PoC, and drop the lines too: the kernel, DTB and initrd the host wrote, and
     * whatever an earlier run of this VM left dirty in a shared cache, all reach memory,
     * and the stub's next read of something the guest writes there before its own MMU is
     * on (a hypercall argument) fetches memory rather than a stale line. Paid once per
     * start, over all of the VM's RAM, whoever wrote it (MEM_WRITE, MEM_INFLATE, MEM_UNLZMA,
     * MEM_FILL, mw, a previous run): no writer can be missed. */
    maintain_ram(vm, RAM_CLEAN);
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
    vm_route_irqs(vm, 1);
    dsb_sy();
    int64_t r = vcpu_power_on(boot);
    if (r != 0) {
        boot->state = VCPU_OFF;
        vm->state = VM_STOPPED;
        snprintf_(why, n, "PSCI CPU_ON of core %u failed: %ld", boot->pcpu, r);
        return STATUS_NOT_SUPPORTED;
    }
    return STATUS_OK;
}

int64_t vcpu_power_on(struct vcpu *v)
{
    /* A core that parked itself (PSCI CPU_OFF) may still be on its way down. */
    uint64_t mpidr = percpus[v->pcpu].mpidr;
    while (psci_call(PSCI_AFFINITY_INFO, mpidr, 0, 0) == 0)
        console_poll_link();
    percpus[v->pcpu].vcpu = v;
    dsb_sy();
    return psci_call(PSCI_CPU_ON, mpidr, (uintptr_t)secondary_entry, (uintptr_t)&percpus[v->pcpu]);
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
    /* A time, not a count of polls: how soon a kicked core leaves its guest depends on the
     * machine (under QEMU, on how soon a loaded host runs that vCPU's thread), and how long
     * a poll takes depends on the link. The link is served (and the request acknowledged)
     * meanwhile, so the host waits without giving up on the stub. */
    uint64_t deadline = timer_now() + timer_ms(VM_STOP_WAIT_MS);
    while (!all_off(vm) && timer_now() < deadline)
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
    snapshot_drop_vm(vm->id);             /* its snapshots cannot be restored into anything */
    vm_route_irqs(vm, 0);
    for (unsigned k = 0; k < vm->nvcpus; k++)
        percpus[vm->vcpus[k].pcpu].vcpu = NULL;
    stage2_release(&vm->s2);
    stage2_flush_tlb(&vm->s2);
    /* Cache maintenance: scrub the VM's RAM (zero it with DC ZVA: issue 13, hole 6) and
     * clean and invalidate it to PoC, so neither its contents reach the next owner of
     * that RAM nor a dirty line of it is evicted later over an image the host writes
     * there. Its cores are off (vm_stop waited for PSCI AFFINITY_INFO): PSCI CPU_OFF
     * wrote their private caches back (Arm DEN0022, CPU_OFF: the implementation does the
     * cache maintenance of a core it powers down), and the rest of the caches are
     * coherent with the stub's Normal write-back accesses here. */
    maintain_ram(vm, RAM_SCRUB);
    ivc_release(vm);                      /* shared pages: scrubbed once no peer is left */
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
        uint32_t got;
        while ((got = ring_get(&vm->console_out, chunk, sizeof chunk)) != 0)
            console_guest_output(vm->id, chunk, got);
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
