/* A guest core: set up EL2 for its vCPU, enter the guest, and handle every exit. */
#include <stdint.h>

#include <cache.h>    /* <>: host builds shadow it */
#include "entry.h"
#include "gicv3.h"
#include "guest_context.h"
#include "guest_state.h"
#include "guest_tlbi.h"
#include "idle.h"
#include "hypercall.h"
#include "libc.h"
#include "memmap.h"
#include "protocol.h"
#include "psci.h"
#include "snapshot.h"
#include "spinlock.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "vm.h"

/* HCR_EL2: VM, SWIO, PTW, FMO, IMO, AMO, TSC, RW (ARM ARM D17.2.48); E2H = TGE = 0. */
#define HCR_GUEST      0x8008003FUL
#define SPSR_EL1H_MASKED 0x3C5UL       /* EL1h, D A I F masked (Linux booting.rst) */
#define SCTLR_EL1_RESET 0x30D00800UL   /* RES1 bits, MMU and caches off */
#define CPTR_EL2_NO_TRAPS 0x33FFUL     /* RES1 bits; FP/SIMD not trapped */

#define EC_UNKNOWN 0x00
#define EC_WFX     0x01
#define EC_HVC64   0x16
#define EC_SMC64   0x17
#define EC_SYSREG  0x18
#define EC_DABT_LOW 0x24
#define EC_IABT_LOW 0x20

/* ICC_SGI1R_EL1 as a trapped MSR: op0 3, op1 0, CRn 12, CRm 11, op2 5 (ESR ISS layout of
 * EC 0x18: Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5] CRm[4:1] Dir[0]). */
#define ISS_SYSREG_MASK  0x3FFC1EUL
#define ISS_ICC_SGI1R    ((3UL << 20) | (5UL << 17) | (0UL << 14) | (12UL << 10) | (11UL << 1))

static void park(struct percpu *cpu, struct vcpu *v) __attribute__((noreturn));
static void take_console_input(struct vcpu *v);
static void take_input_left_unkicked(struct vcpu *v);

/* Console output waits in the ring for the boot core's next idle tick (IDLE_TICK_US, a
 * few milliseconds: below what a person typing notices) unless this much piles up first.
 * Waking the boot core for every burst instead costs the guest dearly on QEMU: each wake
 * and each frame it sends takes the emulator's global lock, which this vCPU needs on
 * every exit. */
#define CONSOLE_KICK_BYTES 512

void vm_console_tx(void *ctx, uint8_t byte)
{
    struct vm *vm = ctx;
    struct byte_ring *ring = &vm->console_out;
    if (ring_put(ring, &byte, 1) == 0) {
        /* Full: the boot core drains it; like a full transmit FIFO, the guest waits. A
         * VM being stopped gives the byte up: this runs under console_lock, and the
         * boot core waiting for the stop may be the only one that would drain it. */
        idle_kick_boot_core();
        while (ring_put(ring, &byte, 1) == 0)
            if (vm->stop_requested)
                return;
        return;
    }
    uint32_t queued = __atomic_load_n(&ring->head, __ATOMIC_RELAXED) -
                      __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    if (queued == CONSOLE_KICK_BYTES)
        idle_kick_boot_core();
}

static void setup_el2(struct vcpu *v)
{
    struct vm *vm = v->vm;
    write_sysreg(vtcr_el2, VTCR_EL2_VALUE);
    write_sysreg(vttbr_el2, stage2_vttbr(&vm->s2));
    write_sysreg(hcr_el2, HCR_GUEST | (vm->nvcpus == 1 ? HCR_TTLB : 0));
    write_sysreg(cptr_el2, CPTR_EL2_NO_TRAPS);
    write_sysreg(hstr_el2, 0);
    write_sysreg(cnthctl_el2, 3);        /* EL1 may use the physical counter and timer */
    write_sysreg(cntvoff_el2, vm->cntvoff);   /* one offset for every vCPU of the VM */
    write_sysreg(mdcr_el2, (read_sysreg(pmcr_el0) >> 11) & 0x1F);   /* HPMN = PMCR_EL0.N */
    write_sysreg(vpidr_el2, read_sysreg(midr_el1));
    write_sysreg(vmpidr_el2, (1UL << 31) | v->index);              /* Aff0 = vCPU index */
    write_sysreg(sctlr_el1, SCTLR_EL1_RESET);
    write_sysreg(cpacr_el1, 3UL << 20);
    guest_state_reset();
    tlbi_vmalls12e1();
    gic_cpu_init();
    /* The last guest on this core may have left with its timer's interrupt taken and
     * injected HW-linked but never deactivated (its EOI is what deactivates the physical
     * PPI, IHI 0069 4.4): still active, that PPI would never fire for the next guest. */
    gic_clear_active_ppi(GIC_VTIMER_PPI);
    vgic_clear_lrs(v);
}

void vcpu_start_on_this_core(struct percpu *cpu)
{
    struct vcpu *v = cpu->vcpu;
    if (!v)
        park(cpu, NULL);
    int8_t console_lr = v->vgic.console_lr;   /* a restore's: setup_el2 empties the LRs */
    setup_el2(v);
    cpu->faulting = 0;
    memset(cpu->regs, 0, sizeof cpu->regs);
    cpu->regs[0] = v->context;
    write_sysreg(elr_el2, v->entry);
    write_sysreg(spsr_el2, SPSR_EL1H_MASKED);
    if (v->load_saved) {              /* a restore brings back a vCPU that was on then */
        guest_context_load(&v->saved, cpu->regs, (v->vgic.enabled0 >> GIC_VTIMER_PPI) & 1);
        v->vgic.console_lr = console_lr;    /* the list register it names is loaded again */
        v->load_saved = 0;
        vgic_flush(v);                      /* what the trap it was paused at would have */
    }
    v->state = VCPU_ON;
    dsb_sy();
    /* A stop asked for while this core was starting: its kick SGI may have come before
     * this core's GIC was set up, and then nothing makes the guest exit. The stopper sets
     * stop_requested before it looks at our state (vm_request_stop, both sides with a
     * DSB between), so either we see it here or its kick comes after gic_cpu_init. */
    if (v->vm->stop_requested)
        park(cpu, v);
    if (v->vm->pause_requested)
        vcpu_pause_here(cpu, v);
    take_input_left_unkicked(v);
    /* Cache maintenance: the guest's first instructions come from memory the host wrote
     * (cleaned to PoC at VM start, vm.c); this core's instruction cache must hold no line
     * of an earlier guest at those addresses (Linux booting.rst: no stale I-cache
     * entries for the loaded image). */
    icache_inval_local();
    guest_resume(cpu);
}

/* Leave the guest for good on this core: PSCI CPU_OFF. */
static void park(struct percpu *cpu, struct vcpu *v)
{
    (void)cpu;
    vgic_clear_lrs(v);
    write_sysreg(hcr_el2, 0);
    if (v)
        v->state = VCPU_OFF;
    dsb_sy();
    idle_kick_boot_core();       /* the boot core reports the stop */
    psci_call(PSCI_CPU_OFF, 0, 0, 0);
    for (;;)
        wait_for_interrupt();
}

static void __attribute__((noreturn)) stop_for(struct percpu *cpu, struct vcpu *v, uint64_t esr,
                                                uint64_t elr, uint64_t far, uint64_t ipa)
{
    struct vm *vm = v->vm;
    uint32_t none = STOP_NONE;
    if (__atomic_compare_exchange_n(&vm->stop_reason, &none, STOP_FAULT, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
        vm->fault_esr = esr;
        vm->fault_elr = elr;
        vm->fault_far = far;
        vm->fault_ipa = ipa;
    }
    vm_request_stop(vm, STOP_FAULT);
    park(cpu, v);
}

static void __attribute__((noreturn)) stop_with_fault(struct percpu *cpu, struct vcpu *v, uint64_t esr, uint64_t ipa)
{
    stop_for(cpu, v, esr, read_sysreg(elr_el2), read_sysreg(far_el2), ipa);
}

/* The stub itself faulted on this guest's core (issue 13, hole 4; exception.c hands it
 * here): the VM stops with the stub's ESR, ELR and FAR in its event, the core parks. */
void vcpu_stub_fault(uint64_t esr, uint64_t elr, uint64_t far)
{
    struct percpu *cpu = this_cpu();
    if (!cpu->vcpu)
        park(cpu, NULL);
    stop_for(cpu, cpu->vcpu, esr, elr, far, 0);
}

static int64_t guest_cpu_on(struct vcpu *caller, uint64_t target, uint64_t entry, uint64_t ctx)
{
    struct vm *vm = caller->vm;
    if (target & ~0xFFUL)
        return PSCI_RET_INVALID_PARAMS;
    if (target >= vm->nvcpus)
        return PSCI_RET_INVALID_PARAMS;
    struct vcpu *t = &vm->vcpus[target];
    uint32_t off = VCPU_OFF;
    if (!__atomic_compare_exchange_n(&t->state, &off, VCPU_STARTING, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return PSCI_RET_ALREADY_ON;
    t->entry = entry;
    t->context = ctx;
    percpus[t->pcpu].vcpu = t;
    dsb_sy();
    int64_t r = psci_call(PSCI_CPU_ON, percpus[t->pcpu].mpidr, (uintptr_t)secondary_entry,
                          (uintptr_t)&percpus[t->pcpu]);
    if (r != 0)
        t->state = VCPU_OFF;
    return r;
}

/* PSCI 0.2 for the guest (Arm DEN0022): the guest's cores are ours to start and stop. */
static void guest_psci(struct percpu *cpu, struct vcpu *v)
{
    uint64_t *x = cpu->regs;
    uint32_t fn = (uint32_t)x[0];
    int64_t r;
    switch (fn) {
    case PSCI_VERSION: r = 2; break;                       /* 0.2 */
    case PSCI_CPU_ON: case PSCI_CPU_ON_32: r = guest_cpu_on(v, x[1], x[2], x[3]); break;
    case PSCI_AFFINITY_INFO: case PSCI_AFFINITY_INFO_32:
        r = x[1] < v->vm->nvcpus ? (v->vm->vcpus[x[1]].state == VCPU_OFF ? 1 : 0)
                                 : PSCI_RET_INVALID_PARAMS;
        break;
    case PSCI_CPU_SUSPEND: case PSCI_CPU_SUSPEND_32:
        wait_for_interrupt();                          /* a standby state */
        r = 0;
        break;
    case PSCI_MIGRATE_INFO_TYPE: r = 2; break;             /* no trusted OS to migrate */
    case PSCI_CPU_OFF:
        park(cpu, v);
    case PSCI_SYSTEM_OFF:
        vm_request_stop(v->vm, STOP_SYSTEM_OFF);
        park(cpu, v);
    case PSCI_SYSTEM_RESET:
        vm_request_stop(v->vm, STOP_SYSTEM_RESET);
        park(cpu, v);
    default: r = PSCI_RET_NOT_SUPPORTED; break;
    }
    x[0] = (uint64_t)r;
}

static void guest_call(struct percpu *cpu, struct vcpu *v)
{
    uint32_t fn = (uint32_t)cpu->regs[0];
    if ((fn & 0xFFFF0000u) == 0xC6000000u) {
        struct hvc_regs r;
        for (int i = 0; i < 7; i++)
            r.x[i] = cpu->regs[i];
        hypercall_dispatch(&r, v->vm);
        for (int i = 0; i < 4; i++)
            cpu->regs[i] = r.x[i];
    } else if ((fn & 0xBFFF0000u) == 0x84000000u) {
        guest_psci(cpu, v);
    } else {
        cpu->regs[0] = (uint64_t)PSCI_RET_NOT_SUPPORTED;   /* SMCCC: unknown function */
    }
}

/* ESR_EL2 ISS of an instruction or data abort (ARM ARM D17.2.40): xFSC [5:0] 0b0011xx,
 * a permission fault at level 0..3; S1PTW [7], on the guest's stage-1 table walk (a
 * hardware update of an Access flag or dirty state, FEAT_HAFDBS, is a write: an
 * instruction fetch takes it as an instruction abort). */
#define FSC_PERMISSION(esr) (((esr) & 0x3C) == 0x0C)
#define ISS_S1PTW (1UL << 7)

/* The IPA of a stage-2 permission fault. HPFAR_EL2 holds it for a fault on the stage-1
 * walk; for any other permission fault the architecture leaves HPFAR_EL2 UNKNOWN, so the
 * guest's own translation of FAR_EL2 is asked (AT S1E1R: ARM ARM D17.2.109, PAR_EL1),
 * with the guest's PAR_EL1 kept. -1: the VA no longer translates (the guest changed its
 * tables meanwhile: it will fault again if it must). */
static int permission_fault_ipa(uint64_t esr, uint64_t hpfar_ipa, uint64_t *ipa)
{
    if (esr & ISS_S1PTW) {
        *ipa = hpfar_ipa;
        return 0;
    }
    uint64_t far = read_sysreg(far_el2), saved = read_sysreg(par_el1);
    at_s1e1r(far);
    isb();
    uint64_t par = read_sysreg(par_el1);
    write_sysreg(par_el1, saved);
    if (par & 1)                                   /* PAR_EL1.F: the walk failed */
        return -1;
    *ipa = (par & 0x000FFFFFFFFFF000UL) | (far & 0xFFF);   /* PAR_EL1.PA [51:12] */
    return 0;
}

/* A write to guest RAM that stage 2 maps read-only: dirty logging (snapshot.h). The page
 * is noted before it becomes writable, so no write goes unnoted; a fault for a page
 * another vCPU made writable meanwhile only notes it again. -1: not guest RAM. */
static int dirty_fault(struct vcpu *v, uint64_t esr, uint64_t hpfar_ipa)
{
    struct vm *vm = v->vm;
    uint64_t ipa, base, granule, pa;
    if (!FSC_PERMISSION(esr) || permission_fault_ipa(esr, hpfar_ipa, &ipa) != 0 ||
        vm_ram_pa(vm, ipa, 1, &pa) != 0 || stage2_granule(&vm->s2, ipa, &base, &granule) != 0)
        return -1;
    snapshot_dirty_note(vm, base, granule);
    dsb_sy();
    stage2_set_writable(&vm->s2, base, granule, 1);
    guest_tlbi_ipa_local(base);
    return 0;
}

/* An access to a page left out of stage 2: the console, the GIC, or a guest error. */
static int guest_mmio(struct percpu *cpu, struct vcpu *v, uint64_t esr, uint64_t ipa)
{
    uint64_t iss = esr & 0x1FFFFFF;
    if (!(iss & (1UL << 24)))
        return -1;                       /* no syndrome: not a simple load or store */
    unsigned size = 1u << ((iss >> 22) & 3), srt = (iss >> 16) & 31;
    int write = (iss >> 6) & 1, sign = (iss >> 21) & 1, wide = (iss >> 15) & 1;
    uint64_t value = write ? (srt == 31 ? 0 : cpu->regs[srt]) : 0;
    struct vm *vm = v->vm;
    int r;
    if (ipa - vm->console_ipa < 0x1000) {
        uint32_t v32 = (uint32_t)value;
        spin_lock(&vm->console_lock);
        r = write ? vpl011_write(&vm->console, (uint32_t)(ipa - vm->console_ipa), size, v32)
                  : vpl011_read(&vm->console, (uint32_t)(ipa - vm->console_ipa), size, &v32);
        /* Room in the receive FIFO: take more of what the host typed. */
        uint8_t chunk[32];
        uint32_t room = vpl011_rx_room(&vm->console);
        if (room && v->index == 0) {
            uint32_t got = ring_get(&vm->console_in, chunk, room < sizeof chunk ? room : sizeof chunk);
            vpl011_receive(&vm->console, chunk, got);
        }
        spin_unlock(&vm->console_lock);
        value = v32;
        vgic_flush(v);
    } else if (ipa - vm->gicd_ipa < VGIC_DIST_SIZE) {
        r = vgic_dist_access(vm, ipa - vm->gicd_ipa, size, write, &value);
    } else if (ipa - vm->gicr_ipa < (uint64_t)vm->nvcpus * VGIC_REDIST_FRAME) {
        r = vgic_redist_access(vm, ipa - vm->gicr_ipa, size, write, &value);
        vgic_flush(v);
    } else {
        return -1;
    }
    if (r != 0)
        return -1;
    if (!write && srt != 31) {
        if (sign && size < 8) {
            unsigned bits = 8 * size;
            value = (uint64_t)((int64_t)(value << (64 - bits)) >> (64 - bits));
        }
        cpu->regs[srt] = wide ? value : (uint32_t)value;
    }
    write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
    return 0;
}

static void handle_kicks(struct percpu *cpu, struct vcpu *v)
{
    uint32_t kick = __atomic_exchange_n(&v->kick, 0, __ATOMIC_SEQ_CST);
    /* The VM's flag decides; KICK_STOP, like KICK_PAUSE, only says why the SGI came. A
     * vCPU that saw the flag at the end of some other exit parked without taking its kick,
     * and the bit it left is still set when a restore starts the vCPU again: parking on
     * the bit parked the restored guest at its first kick, deaf with its VM "running".
     * vm_request_stop sets the flag before the bit, so a stop under way is always seen. */
    if (v->vm->stop_requested)
        park(cpu, v);
    /* KICK_PAUSE needs nothing here: every exit ends in guest_trap's pause check. */
    if (kick & KICK_INPUT)
        take_console_input(v);
}

/* Console input that came while this core was starting (a restore of a stopped VM starts
 * its vCPUs and answers the host at once): vm_console_input set KICK_INPUT but sent no SGI,
 * the vCPU not being on yet, and nothing else would pass the bytes on until some later
 * kick. The same handshake as a stop's: either we see the bit here or the sender saw
 * VCPU_ON and its SGI comes. Only the input bit: the others are for handle_kicks, with
 * the SGI that carries them. */
static void take_input_left_unkicked(struct vcpu *v)
{
    if (__atomic_fetch_and(&v->kick, ~(uint32_t)KICK_INPUT, __ATOMIC_SEQ_CST) & KICK_INPUT)
        take_console_input(v);
}

static void take_console_input(struct vcpu *v)
{
    struct vm *vm = v->vm;
    uint8_t chunk[32];
    spin_lock(&vm->console_lock);
    uint32_t room = vpl011_rx_room(&vm->console);
    uint32_t got = ring_get(&vm->console_in, chunk, room < sizeof chunk ? room : sizeof chunk);
    vpl011_receive(&vm->console, chunk, got);
    spin_unlock(&vm->console_lock);
}

static void guest_irq(struct percpu *cpu, struct vcpu *v)
{
    for (;;) {
        uint32_t intid = gic_ack();
        if (intid >= GIC_SPURIOUS)
            break;
        cpu->irqs++;
        if (intid == GIC_KICK_SGI) {
            cpu->kicks++;
            gic_eoi(intid);
            gic_deactivate(intid);
            handle_kicks(cpu, v);
        } else if (intid == GIC_MAINTENANCE_PPI) {
            gic_eoi(intid);
            gic_deactivate(intid);
            vgic_maintenance(v);
        } else {
            vgic_physical_irq(v, intid);
        }
    }
}

/* Every exit of the guest on this core (vectors.S, through guest_exit_handler). */
void guest_trap(struct percpu *cpu, uint64_t slot)
{
    struct vcpu *v = cpu->vcpu;
    cpu->exits++;
    if (slot == 9) {
        guest_irq(cpu, v);
    } else if (slot == 8) {
        uint64_t esr = read_sysreg(esr_el2);
        uint32_t ec = (uint32_t)(esr >> 26) & 0x3F;
        uint64_t ipa = ((read_sysreg(hpfar_el2) >> 4) << 12) | (read_sysreg(far_el2) & 0xFFF);
        switch (ec) {
        case EC_HVC64:
            guest_call(cpu, v);                           /* ELR already past the HVC */
            break;
        case EC_SMC64:
            guest_call(cpu, v);
            write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
            break;
        case EC_WFX:
            write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
            break;
        case EC_SYSREG: {
            unsigned rt = (esr >> 5) & 31;
            uint64_t xt = rt == 31 ? 0 : cpu->regs[rt];
            if ((esr & ISS_SYSREG_MASK) == ISS_ICC_SGI1R && !(esr & 1)) {
                cpu->sgis_sent++;
                vgic_send_sgi(v, xt);
                write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
                break;
            }
            if (guest_tlbi_local(esr, xt) == 0) {   /* trapped for 1-vCPU VMs (HCR_EL2.TTLB) */
                write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
                break;
            }
            stop_with_fault(cpu, v, esr, 0);
        }
        case EC_IABT_LOW:
            if (dirty_fault(v, esr, ipa) == 0)
                break;                                    /* its table walk wrote */
            stop_with_fault(cpu, v, esr, ipa);
        case EC_DABT_LOW:
            if (dirty_fault(v, esr, ipa) == 0)
                break;                                    /* the guest retries its write */
            if (guest_mmio(cpu, v, esr, ipa) == 0)
                break;
            stop_with_fault(cpu, v, esr, ipa);
        default:
            stop_with_fault(cpu, v, esr, 0);
        }
    } else {
        stop_with_fault(cpu, v, read_sysreg(esr_el2), 0);   /* FIQ or SError */
    }
    if (v->vm->stop_requested)
        park(cpu, v);
    if (v->vm->pause_requested)
        vcpu_pause_here(cpu, v);
    take_input_left_unkicked(v);
    vgic_flush(v);
}

/* The boot core copies this VM's RAM meanwhile, so the wait is in WFI, not a spin that
 * takes a host thread from it under QEMU; the boot core's release is a kick SGI, which
 * stays pending (interrupts are masked at EL2) and so cannot be missed between the check
 * and the WFI. It is taken as a spurious kick once the guest runs again. */
void vcpu_pause_here(struct percpu *cpu, struct vcpu *v)
{
    struct vm *vm = v->vm;
    uint32_t gen = vm->pause_gen;
    guest_context_save(&v->saved, cpu->regs);
    /* Quiet while standing still: the guest's timer falls due and the virtual CPU
     * interface may raise maintenance interrupts, and either would end every WFI at once
     * and turn the wait into a spin that takes a host thread from the boot core's copy. */
    write_sysreg(S3_4_C12_C11_0, 0);          /* ICH_HCR_EL2: En 0 (IHI 0069, 12.5.8) */
    gic_enable_ppi(GIC_VTIMER_PPI, 0);
    dsb_sy();
    v->paused_gen = gen;
    dsb_sy();
    idle_kick_boot_core();
    while (vm->pause_requested && vm->pause_gen == gen && !vm->stop_requested)
        wait_for_interrupt();
    dsb_sy();
    if (vm->stop_requested || v->park_on_release) {
        v->park_on_release = 0;
        park(cpu, v);
    }
    if (!v->load_saved) {                     /* going on as it was */
        write_sysreg(S3_4_C12_C11_0, v->saved.ich_hcr);
        gic_enable_ppi(GIC_VTIMER_PPI, (v->vgic.enabled0 >> GIC_VTIMER_PPI) & 1);
        isb();
    } else {
        guest_context_load(&v->saved, cpu->regs, (v->vgic.enabled0 >> GIC_VTIMER_PPI) & 1);
        write_sysreg(cntvoff_el2, vm->cntvoff);
        /* The guest's RAM was rewritten under it: its translations and instructions
         * cached on this core are of memory that is gone (Arm ARM D8.13, TLB maintenance
         * after a change of translation tables; B2.4, instruction cache coherency). */
        tlbi_vmalls12e1();
        icache_inval_local();
        isb();
        v->load_saved = 0;
    }
}
