/* libFuzzer harness for the stub's guest-facing trap handlers: guest_trap (vmm/vcpu.c),
 * which decodes the syndrome and reaches hypercall dispatch (vmm/hypercall.c), guest PSCI,
 * the vGIC's distributor and redistributor models (emul/vgic.c), the vPL011
 * (emul/vpl011.c), trapped ICC_SGI1R_EL1 and TLBI writes, and the interrupt exit (kicks,
 * maintenance, the virtual timer). All of it is compiled unmodified for the host; the
 * board below it is traps_board.c.
 *
 * Each input sets up two VMs made by the stub's own vm_create / vm_map / vm_start: the
 * fuzzed one (privileged or not, 1-4 vCPUs; two RAM regions adjacent in IPA but not in
 * PA, a passthrough device, its console, its vGIC) and a neighbour with RAM of its own.
 * Then it replays exits of the fuzzed VM's vCPUs, each from random register values
 * (x0-x7), an access (address, width, direction, register) or a raw syndrome.
 *
 * Input: byte 0: bit 0 privileged, bits 1-2 vCPUs - 1. Then 80-byte records (struct
 * exit_record); `kind` picks the exit, the rest fills its registers.
 *
 * Besides ASan and UBSan, every exit is checked against what the architecture and the
 * stub's isolation promise (check_exit and friends below); all board RAM outside the
 * fuzzed VM's own regions is poisoned for ASan while its vCPUs run. */
#include <sanitizer/asan_interface.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gicv3.h"
#include "hypercall.h"
#include "ivc.h"
#include "memmap.h"
#include "percpu.h"
#include "protocol.h"
#include "traps_board.h"
#include "vm.h"

/* ESR_EL2 exception classes (Arm ARM D17.2.37). */
#define EC_WFX 0x01
#define EC_HVC64 0x16
#define EC_SMC64 0x17
#define EC_SYSREG 0x18
#define EC_DABT_LOW 0x24
#define ESR_IL (1UL << 25)
/* Data abort ISS (D17.2.37, ISS encoding for an exception from a Data Abort): ISV 24,
 * SAS 23:22, SSE 21, SRT 20:16, SF 15, WnR 6. */
#define ISS_ISV (1UL << 24)
/* ICC_SGI1R_EL1 as a trapped MSR (EC 0x18 ISS: Op0 3, Op2 5, Op1 0, CRn 12, CRm 11). */
#define ISS_ICC_SGI1R ((3UL << 20) | (5UL << 17) | (12UL << 10) | (11UL << 1))

/* The fuzzed VM's layout. RAM: IPA 0x40000000-0x40017fff in two regions whose PAs are
 * apart, so a pointer across the seam is contiguous to the guest but not to the stub. */
#define CONSOLE_IPA 0x09000000UL
#define CONSOLE_IRQ 33
#define GICD_IPA 0x08000000UL
#define GICR_IPA 0x080A0000UL
#define DEVICE_IPA 0x20000000UL
#define DEVICE_PA 0x09010000UL
#define DEVICE_IRQ 40
#define ELR 0x40000100UL
static const struct vm_region fuzzed_ram[] = {
    {0x40000000UL, RAM_BASE + 0x10000, 0x10000, REGION_RAM, 0, 0},
    {0x40010000UL, RAM_BASE + 0x40000, 0x8000, REGION_RAM, 0, 0},
};
#define NEIGHBOUR_PA (RAM_BASE + 0x80000)
#define NEIGHBOUR_SIZE 0x10000UL
#define NEIGHBOUR_CORE 5
/* An IVC share of the two: the fuzzed VM's ivc_ring raises SPI 51 in the neighbour. */
#define SHARE_IPA 0x50000000UL
#define SHARE_PA (RAM_BASE + 0xC0000)
#define FUZZED_DOORBELL 50
#define NEIGHBOUR_DOORBELL 51

enum exit_kind { EXIT_RAW, EXIT_HVC, EXIT_SMC, EXIT_GICD, EXIT_GICR, EXIT_PL011, EXIT_SYSREG,
                 EXIT_IRQ, EXIT_KINDS };

struct exit_record {
    uint8_t kind, vcpu;
    uint8_t guest_lrs;      /* 2 bits per list register: what the guest did with it since */
    uint8_t flags;
    uint32_t syndrome;      /* shaped by kind: ISS fields, function family, ... */
    uint64_t addr;          /* IPA or offset of an access; interrupt id */
    uint64_t x[8];
};
_Static_assert(sizeof(struct exit_record) == 80, "the seed generator writes 80-byte records");

static struct vm *fuzzed, *neighbour;
static struct vm neighbour_before;

/* Setting up and tearing down the VMs must work: the harness is wrong otherwise. */
static char why[160];

static void ok(int status)
{
    if (status != STATUS_OK) {
        fprintf(stderr, "traps: the stub refused the harness's VM set-up: %s\n", why);
        abort();
    }
}

/* Poison every byte of board RAM that is not the fuzzed VM's: what the stub reads or
 * writes there on a guest's behalf, ASan reports. */
static void poison_foreign_ram(int poison)
{
    uint8_t *ram = board_ram();
    if (!poison) {
        ASAN_UNPOISON_MEMORY_REGION(ram, RAM_SIZE);
        return;
    }
    ASAN_POISON_MEMORY_REGION(ram, RAM_SIZE);
    for (unsigned r = 0; r < sizeof fuzzed_ram / sizeof fuzzed_ram[0]; r++)
        ASAN_UNPOISON_MEMORY_REGION(ram + (fuzzed_ram[r].pa - RAM_BASE), fuzzed_ram[r].size);
}

/* Run body(arg) on core `core` as the stub would there. Returns 0 when body returned,
 * else how the core left (enum core_exit_reason: parked, or gone into its guest). */
static int on_core(unsigned core, void (*body)(void *), void *arg)
{
    jmp_buf here;
    jmp_buf *volatile outer = core_exit;
    volatile unsigned from = current_core;
    core_exit = &here;
    current_core = core;
    int how = setjmp(here);
    if (how == 0)
        body(arg);
    current_core = from;
    core_exit = outer;
    return how;
}

static void start_this_core(void *cpu) { vcpu_start_on_this_core(cpu); }

/* Run whatever cores PSCI CPU_ON started: each sets up its vCPU and enters the guest. */
static void start_cores(void)
{
    uint32_t started;
    while ((started = board_take_started_cores()) != 0)
        for (unsigned core = 0; core < BOARD_CORES; core++)
            if (started >> core & 1 &&
                on_core(core, start_this_core, &percpus[core]) != CORE_ENTERED_GUEST &&
                !percpus[core].vcpu->vm->stop_requested)
                abort();                /* a started core neither entered nor was stopped */
}

struct exit_call {
    struct percpu *cpu;
    uint64_t slot;
};

static void take_exit(void *arg)
{
    struct exit_call *call = arg;
    guest_trap(call->cpu, call->slot);
}

static void make_vms(int privileged, unsigned nvcpus)
{
    uint32_t id;
    uint8_t pcpus[MAX_VCPUS] = {1, 2, 3, 4};
    current_core = 0;
    board_cpu_on_allowed = 0;
    ok(vm_create("fuzzed", nvcpus, pcpus, (uint32_t)privileged, CONSOLE_IPA, CONSOLE_IRQ,
                 fuzzed_ram[0].ipa, fuzzed_ram[0].ipa + 0x8000, GICD_IPA, GICR_IPA, &id, why,
                 sizeof why));
    fuzzed = vm_get(id);
    for (unsigned r = 0; r < sizeof fuzzed_ram / sizeof fuzzed_ram[0]; r++)
        ok(vm_map(id, REGION_RAM, fuzzed_ram[r].ipa, fuzzed_ram[r].pa, fuzzed_ram[r].size, why,
                  sizeof why));
    ok(vm_map(id, REGION_DEVICE, DEVICE_IPA, DEVICE_PA, 0x1000, why, sizeof why));
    ok(vm_irq(id, DEVICE_IRQ, why, sizeof why));
    ok(vm_share(id, "ivc", FUZZED_DOORBELL, SHARE_IPA, SHARE_PA, 0x1000, why, sizeof why));
    ok(vm_start(id, why, sizeof why));

    uint8_t core = NEIGHBOUR_CORE;
    ok(vm_create("neighbour", 1, &core, 1, CONSOLE_IPA, CONSOLE_IRQ, 0x40000000UL,
                 0x40008000UL, 0, 0, &id, why, sizeof why));
    neighbour = vm_get(id);
    ok(vm_map(id, REGION_RAM, 0x40000000UL, NEIGHBOUR_PA, NEIGHBOUR_SIZE, why, sizeof why));
    ok(vm_share(id, "ivc", NEIGHBOUR_DOORBELL, SHARE_IPA, SHARE_PA, 0x1000, why, sizeof why));
    ok(vm_start(id, why, sizeof why));
    start_cores();
    memcpy(&neighbour_before, neighbour, sizeof neighbour_before);
}

/* The host stops and destroys both VMs: cores still in a guest take the kick and park. */
static void destroy_vms(void)
{
    struct vm *both[2] = {fuzzed, neighbour};
    current_core = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct vm *vm = both[i];
        if (vm->state == VM_RUNNING)
            vm_request_stop(vm, STOP_HOST);
        for (unsigned k = 0; k < vm->nvcpus; k++) {
            struct vcpu *v = &vm->vcpus[k];
            if (v->state != VCPU_ON)
                continue;
            cores[v->pcpu].iar = GIC_KICK_SGI;
            struct exit_call kick = {&percpus[v->pcpu], 9};
            if (on_core(v->pcpu, take_exit, &kick) != CORE_PARKED)
                abort();                /* a stopped VM's core must park at its kick */
        }
    }
    poison_foreign_ram(0);
    ok(vm_destroy(fuzzed->id, why, sizeof why));
    ok(vm_destroy(neighbour->id, why, sizeof why));
}

/* --- invariants ----------------------------------------------------------------------- */

static uint32_t crc32_oracle(const uint8_t *p, uint64_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        crc ^= *p++;
        for (int b = 0; b < 8; b++)
            crc = crc >> 1 ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}

/* [ipa, ipa+len) inside one RAM region of the fuzzed VM: its PA, or 0. */
static uint64_t own_ram(uint64_t ipa, uint64_t len)
{
    for (unsigned r = 0; r < sizeof fuzzed_ram / sizeof fuzzed_ram[0]; r++) {
        const struct vm_region *g = &fuzzed_ram[r];
        if (len && ipa >= g->ipa && ipa - g->ipa < g->size && len <= g->size - (ipa - g->ipa))
            return g->pa + (ipa - g->ipa);
    }
    return 0;
}

/* DDI 0183, 3.3: the registers hold only the bits a PL011 has. */
static void check_vpl011(const struct vpl011 *u)
{
    if (u->rx_count > VPL011_FIFO || u->rx_head >= VPL011_FIFO || (u->ris | u->imsc) & ~0x7FFu ||
        u->cr > 0xFFFF || u->ibrd > 0xFFFF || u->fbrd > 0x3F || u->lcr_h > 0xFF ||
        u->ifls > 0x3F || u->ilpr > 0xFF || u->dmacr > 7)
        abort();
}

/* IHI 0069: INTIDs the board lacks stay zero, SGIs and PPIs live in the redistributors,
 * IROUTER holds IRM and Aff2-Aff0 only (A3V 0), GICD_CTLR only EnableGrp0/1 and ARE. */
static void check_vgic(const struct vm *vm)
{
    const struct vgic_dist *d = &vm->vgic;
    unsigned limit = gic_intid_count();
    if (d->ctlr & ~0x13u || d->group[0] || d->enabled[0] || d->pending[0] || d->config[0] ||
        d->config[1])
        abort();
    /* Word by word and with memcmp: this runs after every exit, and a comparison per
     * INTID would be most of what the fuzzer measures. */
    static const uint32_t zeros[VGIC_MAX_INTIDS];
    static uint8_t reset_priority[VGIC_MAX_INTIDS];
    if (!reset_priority[0])
        memset(reset_priority, 0xA0, sizeof reset_priority);
    for (unsigned w = 0; w < VGIC_WORDS; w++) {
        uint32_t beyond = 32 * w >= limit ? ~0u : 32 * (w + 1) <= limit ? 0 : ~0u << (limit % 32);
        if ((d->group[w] | d->enabled[w] | d->pending[w]) & beyond)
            abort();
    }
    uint32_t routes = 0;
    for (unsigned i = 0; i < limit; i++)
        routes |= d->route[i];
    if (routes & ~0x80FFFFFFu || memcmp(d->route + limit, zeros, 4 * (VGIC_MAX_INTIDS - limit)) ||
        memcmp(d->priority, reset_priority, 32) ||
        memcmp(d->priority + limit, reset_priority, VGIC_MAX_INTIDS - limit) ||
        memcmp(d->config + (limit + 15) / 16, zeros, 4 * (2 * VGIC_WORDS - (limit + 15) / 16)))
        abort();
    for (unsigned k = 0; k < vm->nvcpus; k++) {
        const struct vgic_cpu *c = &vm->vcpus[k].vgic;
        if ((c->waker != 0 && c->waker != 6) || (c->enabled0 & 0xFFFF) != 0xFFFF ||
            c->pending_sgis >> 16 || c->console_lr < -1 || c->console_lr >= BOARD_LRS)
            abort();
    }
}

/* The list registers of a core running vCPU v: INTIDs the guest's GIC has, never one
 * twice (IHI 0069, 4.9.x: the same vINTID in two LRs is UNPREDICTABLE), HW only for the
 * virtual timer and the VM's own SPIs, with pINTID = vINTID. */
static void check_lrs(const struct vcpu *v)
{
    const struct fake_core *c = &cores[v->pcpu];
    unsigned limit = gic_intid_count();
    for (unsigned n = 0; n < BOARD_LRS; n++) {
        uint64_t lr = c->lr[n];
        if (!(lr & LR_STATE_MASK))
            continue;
        uint32_t intid = (uint32_t)lr;
        if (intid >= limit)
            abort();
        if (lr & LR_HW) {
            uint32_t pintid = (uint32_t)(lr >> 32) & 0x1FFF;
            if (pintid != intid || (intid != GIC_VTIMER_PPI && !vm_owns_irq(v->vm, intid)))
                abort();
        }
        for (unsigned m = n + 1; m < BOARD_LRS; m++)
            if ((c->lr[m] & LR_STATE_MASK) && (uint32_t)c->lr[m] == intid)
                abort();
    }
}

static void check_state(void)
{
    check_vpl011(&fuzzed->console);
    check_vgic(fuzzed);
    for (unsigned k = 0; k < fuzzed->nvcpus; k++)
        if (fuzzed->vcpus[k].state == VCPU_ON)
            check_lrs(&fuzzed->vcpus[k]);
    /* An unprivileged VM reaches nothing of another's but the doorbell of their share (its
     * pending bit, the kick to the neighbour's core); a privileged one may stop it. */
    if (!fuzzed->privileged) {
        static struct vm now;
        memcpy(&now, neighbour, sizeof now);
        now.vgic.pending[NEIGHBOUR_DOORBELL / 32] &= ~(1u << NEIGHBOUR_DOORBELL % 32);
        now.vcpus[0].kick &= ~KICK_VIRQ;
        if (memcmp(&neighbour_before, &now, sizeof now))
            abort();
    }
}

static int is_privileged_hypercall(uint32_t fn)
{
    static const struct { uint32_t id; int privileged; } table[] = {
        {HVC_VERSION, HVC_VERSION_PRIVILEGED}, {HVC_ECHO, HVC_ECHO_PRIVILEGED},
        {HVC_TIME, HVC_TIME_PRIVILEGED}, {HVC_LINK_STATS, HVC_LINK_STATS_PRIVILEGED},
        {HVC_VM_SELF, HVC_VM_SELF_PRIVILEGED}, {HVC_VM_STATE, HVC_VM_STATE_PRIVILEGED},
        {HVC_VM_STOP, HVC_VM_STOP_PRIVILEGED}, {HVC_CORE_STATS, HVC_CORE_STATS_PRIVILEGED},
        {HVC_PRINT, HVC_PRINT_PRIVILEGED}, {HVC_MEM_CRC, HVC_MEM_CRC_PRIVILEGED},
        {HVC_IVC_RING, HVC_IVC_RING_PRIVILEGED},
    };
    _Static_assert(sizeof table / sizeof table[0] == HVC_COUNT, "every hypercall listed");
    for (unsigned i = 0; i < HVC_COUNT; i++)
        if (table[i].id == fn)
            return table[i].privileged;
    return 0;
}

/* After a hypercall that returned: results only in x0-x3 (SMCCC), privileged calls refused
 * to an unprivileged VM with its arguments untouched, and a pointer call that succeeded
 * named the caller's own RAM and read the right bytes. */
static void check_hypercall(const uint64_t *in, const uint64_t *out)
{
    uint32_t fn = (uint32_t)in[0];
    for (unsigned i = 4; i < 31; i++)
        if (in[i] != out[i])
            abort();
    if ((fn & 0xFFFF0000u) != 0xC6000000u)
        return;
    if (is_privileged_hypercall(fn) && !fuzzed->privileged) {
        if (out[0] != (uint64_t)-(int64_t)STATUS_NO_PRIVILEGE || memcmp(in + 1, out + 1, 24))
            abort();
        return;
    }
    if (out[0] != 0)
        return;
    if (fn == HVC_MEM_CRC || fn == HVC_PRINT) {
        uint64_t pa = own_ram(in[1], in[2]);
        if (!pa)
            abort();                    /* a pointer outside its own RAM was followed */
        if (fn == HVC_MEM_CRC && out[1] != crc32_oracle((const uint8_t *)(uintptr_t)pa, in[2]))
            abort();
        if (fn == HVC_PRINT && out[1] != (in[2] < 1024 ? in[2] : 1024))
            abort();
    }
}

/* --- exits -------------------------------------------------------------------------- */

static uint64_t data_abort_esr(uint32_t s)
{
    uint64_t sas = s & 3, sse = (s >> 2) & 1, srt = (s >> 3) & 31, sf = (s >> 8) & 1,
             wnr = (s >> 9) & 1;
    return (uint64_t)EC_DABT_LOW << 26 | ESR_IL | ISS_ISV | sas << 22 | sse << 21 | srt << 16 |
           sf << 15 | wnr << 6;
}

/* x0 for an HVC/SMC: an hvmon hypercall, a PSCI function (both conventions) or anything;
 * pointer arguments mostly near the VM's RAM, lengths mostly small. */
static void shape_call(const struct exit_record *e, uint64_t *x)
{
    static const uint32_t families[4] = {0xC6000000u, 0x84000000u, 0xC4000000u, 0};
    uint32_t family = families[e->syndrome & 3];
    if (family)
        x[0] = family | (x[0] & 0x1F);
    if (e->syndrome & 4)
        x[1] = fuzzed_ram[0].ipa - 0x1000 + x[1] % 0x1A000;
    if (e->syndrome & 8)
        x[2] %= 0x11000;
    if (e->syndrome & 16)
        x[1] &= 0xFF;                   /* VM and core numbers, PSCI targets */
}

/* TRAPS_TRACE=1 in the environment: one line per exit, to see what an input reaches. */
static void trace_exit(const struct vcpu *v, uint64_t slot, uint64_t esr, uint64_t ipa,
                       const uint64_t *in, const uint64_t *out, int how)
{
    static int trace = -1;
    if (trace < 0)
        trace = getenv("TRAPS_TRACE") != NULL;
    if (!trace)
        return;
    fprintf(stderr, "vcpu %u slot %lu esr %#lx ipa %#lx x0 %#lx -> %s x0 %#lx x1 %#lx\n", v->index,
            (unsigned long)slot, (unsigned long)esr, (unsigned long)ipa, (unsigned long)in[0],
            how == CORE_PARKED ? "parked" : "back", (unsigned long)out[0], (unsigned long)out[1]);
    for (unsigned n = 0; n < BOARD_LRS; n++)
        if (cores[v->pcpu].lr[n])
            fprintf(stderr, "  LR%u %#018lx\n", n, (unsigned long)cores[v->pcpu].lr[n]);
}

/* One exit of vCPU v: fill its core's registers from e, run guest_trap, check. Returns 0
 * when the vCPU went back to its guest, 1 when its core parked. */
static int run_exit(struct vcpu *v, const struct exit_record *e)
{
    struct percpu *cpu = &percpus[v->pcpu];
    struct fake_core *c = &cores[v->pcpu];
    uint64_t ipa = e->addr, esr, slot = 8;
    current_core = v->pcpu;
    memcpy(cpu->regs, e->x, sizeof e->x);
    for (unsigned i = 8; i < 31; i++)
        cpu->regs[i] = 0x5EC0DE0000000000UL | i;
    c->elr = ELR;
    /* What the guest did with its interrupts since the last exit: acknowledge (pending ->
     * active) or EOI (-> invalid; with EOI set and HW clear, a maintenance interrupt). */
    for (unsigned n = 0; n < BOARD_LRS; n++) {
        unsigned op = e->guest_lrs >> (2 * n) & 3;
        if (op == 1 && (c->lr[n] & LR_STATE_MASK) == LR_STATE_PENDING)
            c->lr[n] ^= LR_STATE_PENDING | LR_STATE_ACTIVE;
        else if (op == 2 && (c->lr[n] & LR_STATE_MASK)) {
            if (c->lr[n] & LR_HW)
                board_guest_deactivate((uint32_t)(c->lr[n] >> 32) & 0x1FFF);
            c->lr[n] &= ~LR_STATE_MASK;
        }
    }
    switch (e->kind % EXIT_KINDS) {
    case EXIT_RAW:
        esr = e->syndrome;
        break;
    case EXIT_HVC:
    case EXIT_SMC:
        esr = (uint64_t)(e->kind % EXIT_KINDS == EXIT_HVC ? EC_HVC64 : EC_SMC64) << 26 | ESR_IL;
        shape_call(e, cpu->regs);
        break;
    case EXIT_GICD:
        esr = data_abort_esr(e->syndrome);
        ipa = fuzzed->gicd_ipa + e->addr % (VGIC_DIST_SIZE + 0x1000);
        break;
    case EXIT_GICR:
        esr = data_abort_esr(e->syndrome);
        ipa = fuzzed->gicr_ipa + e->addr % ((fuzzed->nvcpus + 1UL) * VGIC_REDIST_FRAME);
        break;
    case EXIT_PL011:
        esr = data_abort_esr(e->syndrome);
        ipa = fuzzed->console_ipa + e->addr % 0x1100;
        break;
    case EXIT_SYSREG:
        esr = (uint64_t)EC_SYSREG << 26 | ESR_IL | (e->syndrome & 0x1FFFFFF);
        if (e->flags & 1)
            esr = (uint64_t)EC_SYSREG << 26 | ESR_IL | ISS_ICC_SGI1R | (e->syndrome & 31) << 5;
        break;
    default:                            /* EXIT_IRQ: kicks, maintenance, timer, SPIs */
        slot = 9;
        esr = 0;
        c->iar = (uint32_t)(e->addr % 1024);
        if (e->flags & 1)
            c->iar = GIC_KICK_SGI;
        if (e->flags & 2)
            c->iar = GIC_MAINTENANCE_PPI;
        if (e->flags & 4) {             /* the host typed on the guest's console */
            current_core = 0;
            vm_console_input(fuzzed->id, (const uint8_t *)e->x, e->syndrome % 65);
            current_core = v->pcpu;
        }
        v->kick |= e->flags >> 4 & (KICK_INPUT | KICK_VIRQ);
        break;
    }
    c->esr = esr;
    c->far = ipa;
    c->hpfar = (ipa >> 12) << 4;
    uint32_t ec = (uint32_t)(esr >> 26) & 0x3F;
    uint32_t reason_before = fuzzed->stop_reason;
    uint64_t in[31];
    memcpy(in, cpu->regs, sizeof in);

    board_cpu_on_allowed = 0;
    for (unsigned k = 0; k < fuzzed->nvcpus; k++)
        board_cpu_on_allowed |= 1u << fuzzed->vcpus[k].pcpu;
    struct exit_call call = {cpu, slot};
    int how = on_core(v->pcpu, take_exit, &call);
    trace_exit(v, slot, esr, ipa, in, cpu->regs, how);
    if (how == CORE_ENTERED_GUEST)
        abort();                        /* an exit never enters a guest afresh */
    /* Cores that PSCI CPU_ON started come up whatever this one does next (a CPU_ON just
     * before this core parked: that core finds the stop and parks too). */
    start_cores();
    if (how == CORE_PARKED) {
        /* A core parks for a stop only: one asked for, or this exit's fault. */
        if (v->state != VCPU_OFF || (!fuzzed->stop_requested && ec != EC_HVC64 && ec != EC_SMC64))
            abort();
        if (reason_before == STOP_NONE && fuzzed->stop_reason == STOP_FAULT &&
            fuzzed->fault_esr != esr)
            abort();
        check_state();
        return 1;
    }

    if (slot == 8 && (ec == EC_HVC64 || ec == EC_SMC64)) {
        check_hypercall(in, cpu->regs);
        if (c->elr != ELR + (ec == EC_SMC64 ? 4 : 0))
            abort();
    } else if (slot == 8 && ec == EC_DABT_LOW) {
        /* A load or store the stub emulated: only its register changes, by the width the
         * syndrome gives, and the guest goes on after the instruction. */
        unsigned srt = (esr >> 16) & 31, size = 1u << ((esr >> 22) & 3);
        for (unsigned i = 0; i < 31; i++)
            if (i != srt && in[i] != cpu->regs[i])
                abort();
        int read = !(esr & (1u << 6)), sign = (esr >> 21) & 1, wide = (esr >> 15) & 1;
        if (srt != 31 && !read && in[srt] != cpu->regs[srt])
            abort();
        /* SRT 31 is XZR: nothing to write. A zero-extended load fills only its width, a
         * load into a W register (SF 0) never the upper half. */
        if (srt != 31 && read && ((!sign && size < 8 && cpu->regs[srt] >> (8 * size)) ||
                                  (!wide && cpu->regs[srt] >> 32)))
            abort();
        if (c->elr != ELR + 4)
            abort();
    } else if (slot == 8 && memcmp(in, cpu->regs, sizeof in) != 0) {
        abort();                        /* WFx, SGIs, TLBIs: no register changes */
    }
    check_state();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const void *dtb = board_init();
    if (size < 1)
        return 0;
    memmap_init(dtb);
    board_cores_present();
    memset(cores, 0, sizeof cores);
    board_reset_interrupts();
    make_vms(data[0] & 1, 1 + (data[0] >> 1 & 3));
    poison_foreign_ram(1);
    for (size_t at = 1; at + sizeof(struct exit_record) <= size; at += sizeof(struct exit_record)) {
        struct exit_record e;
        memcpy(&e, data + at, sizeof e);
        struct vcpu *running[MAX_VCPUS];
        unsigned n = 0;
        for (unsigned k = 0; k < fuzzed->nvcpus; k++)
            if (fuzzed->vcpus[k].state == VCPU_ON)
                running[n++] = &fuzzed->vcpus[k];
        if (n == 0)
            break;
        run_exit(running[e.vcpu % n], &e);
    }
    destroy_vms();
    return 0;
}
