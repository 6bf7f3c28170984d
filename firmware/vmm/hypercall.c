#include "hypercall.h"

#include "console.h"
#include "crc32.h"
#include "ivc.h"
#include "memmap.h"
#include "protocol.h"
#include "spinlock.h"
#include "timer.h"
#include "vm.h"

struct hypercall {
    uint32_t id;
    int privileged;
    void (*run)(struct hvc_regs *r, struct vm *caller);
};

static uint64_t status_result(unsigned status)
{
    return (uint64_t)-(int64_t)status;
}

static void hvc_version(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    r->x[0] = 0;
    r->x[1] = PROTO_VERSION;
    r->x[2] = HVMON_VERSION_PACKED;
}

static void hvc_echo(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    r->x[0] = 0;      /* x1..x3 come back as they went in */
}

static void hvc_time(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    r->x[0] = 0;
    r->x[1] = timer_now();
    r->x[2] = read_sysreg(cntfrq_el0);
}

static void hvc_link_stats(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    console_link_stats(&r->x[1], &r->x[2], &r->x[3]);
    r->x[0] = 0;
}

/* The memory a hypercall's (addr, len) names. From the host: a PA in the board's RAM map.
 * From a guest: an IPA of the caller's own RAM (issue 13, hole 3) -- never a PA, another
 * VM's memory, the stub, a passthrough device or the emulated console. The stub reads those
 * bytes through its cacheable EL2 mapping: coherent with what a guest wrote with its MMU
 * on; what it wrote with its MMU still off went to memory past the caches, which VM start
 * left holding no line of its RAM (arch/aarch64/README.md, "EL2 MMU and caches"). */
static int caller_range(const struct vm *caller, uint64_t addr, uint64_t len, uint64_t *pa)
{
    char why[96];
    if (caller)
        return vm_ram_pa(caller, addr, len, pa);
    *pa = addr;
    return memmap_check(addr, len, MEM_READ, why, sizeof why);
}

static void hvc_mem_crc(struct hvc_regs *r, struct vm *caller)
{
    uint64_t pa;
    if (caller_range(caller, r->x[1], r->x[2], &pa) != 0) {
        r->x[0] = status_result(STATUS_REFUSED_RANGE);
        return;
    }
    r->x[1] = crc32_update(0, (const void *)(uintptr_t)pa, r->x[2]);
    r->x[0] = 0;
}

/* At most this much per call from a guest: its core sits in the stub while the bytes go
 * into its console ring, out of reach of the host's stop request. */
#define PRINT_MAX_GUEST 1024

static void hvc_print(struct hvc_regs *r, struct vm *caller)
{
    uint64_t pa, len = r->x[2];
    if (caller_range(caller, r->x[1], len, &pa) != 0) {
        r->x[0] = status_result(STATUS_REFUSED_RANGE);
        return;
    }
    if (caller && len > PRINT_MAX_GUEST)
        len = PRINT_MAX_GUEST;
    const volatile char *text = (const volatile char *)(uintptr_t)pa;
    if (!caller) {
        for (uint64_t i = 0; i < len; i++)
            console_putc(text[i]);
    } else {
        /* A guest's core never touches the UART or the link: its text goes the way of
         * its console output, through the VM's ring to the boot core, and like a UART
         * write it holds console_lock, which keeps that ring to one producer at a time
         * (another vCPU may be writing the UART or printing too). */
        spin_lock(&caller->console_lock);
        for (uint64_t i = 0; i < len; i++)
            vm_console_tx(caller, (uint8_t)text[i]);
        spin_unlock(&caller->console_lock);
    }
    r->x[0] = 0;
    r->x[1] = len;
}

static void hvc_vm_self(struct hvc_regs *r, struct vm *caller)
{
    if (!caller) {
        r->x[0] = HVC_RESULT_NOT_SUPPORTED;
        return;
    }
    r->x[0] = 0;
    r->x[1] = caller->id;
    r->x[2] = caller->nvcpus;
}

static void hvc_vm_state(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    if (r->x[1] >= MAX_VMS) {
        r->x[0] = status_result(STATUS_BAD_REQUEST);
        return;
    }
    const struct vm *vm = &vms[r->x[1]];
    r->x[0] = 0;
    r->x[1] = vm->state;
    r->x[2] = vm->stop_reason;
    r->x[3] = vm->state == VM_FREE ? 0 : vm->nvcpus;
}

static void hvc_vm_stop(struct hvc_regs *r, struct vm *caller)
{
    struct vm *target = r->x[1] < MAX_VMS ? vm_get((uint32_t)r->x[1]) : NULL;
    if (!target || target == caller) {
        r->x[0] = status_result(STATUS_BAD_REQUEST);
        return;
    }
    if (target->state == VM_RUNNING)
        vm_request_stop(target, STOP_HOST);
    r->x[0] = 0;
}

static void hvc_core_stats(struct hvc_regs *r, struct vm *caller)
{
    (void)caller;
    if (r->x[1] >= MAX_CPUS) {
        r->x[0] = status_result(STATUS_BAD_REQUEST);
        return;
    }
    const struct percpu *cpu = &percpus[r->x[1]];
    r->x[0] = 0;
    r->x[1] = cpu->exits;
    r->x[2] = cpu->irqs;
    r->x[3] = cpu->kicks;
}

/* The doorbell of an IVC share (ivc.h): x1 = an IPA inside one of the caller's shared
 * regions. The host is no party of any share. */
static void hvc_ivc_ring(struct hvc_regs *r, struct vm *caller)
{
    if (!caller) {
        r->x[0] = HVC_RESULT_NOT_SUPPORTED;
        return;
    }
    int st = ivc_ring(caller, r->x[1]);
    r->x[0] = st == STATUS_OK ? 0 : status_result((unsigned)st);
}

static const struct hypercall table[] = {
    {HVC_VERSION, HVC_VERSION_PRIVILEGED, hvc_version},
    {HVC_ECHO, HVC_ECHO_PRIVILEGED, hvc_echo},
    {HVC_TIME, HVC_TIME_PRIVILEGED, hvc_time},
    {HVC_LINK_STATS, HVC_LINK_STATS_PRIVILEGED, hvc_link_stats},
    {HVC_VM_SELF, HVC_VM_SELF_PRIVILEGED, hvc_vm_self},
    {HVC_VM_STATE, HVC_VM_STATE_PRIVILEGED, hvc_vm_state},
    {HVC_VM_STOP, HVC_VM_STOP_PRIVILEGED, hvc_vm_stop},
    {HVC_CORE_STATS, HVC_CORE_STATS_PRIVILEGED, hvc_core_stats},
    {HVC_PRINT, HVC_PRINT_PRIVILEGED, hvc_print},
    {HVC_MEM_CRC, HVC_MEM_CRC_PRIVILEGED, hvc_mem_crc},
    {HVC_IVC_RING, HVC_IVC_RING_PRIVILEGED, hvc_ivc_ring},
};

_Static_assert(sizeof table / sizeof table[0] == HVC_COUNT,
               "every hypercall in protocol/hvmon.toml has a handler");

void hypercall_dispatch(struct hvc_regs *r, struct vm *caller)
{
    int privileged = caller ? (int)caller->privileged : 1;
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].id != (uint32_t)r->x[0])
            continue;
        if (table[i].privileged && !privileged) {
            r->x[0] = status_result(STATUS_NO_PRIVILEGE);
            return;
        }
        table[i].run(r, caller);
        return;
    }
    r->x[0] = HVC_RESULT_NOT_SUPPORTED;
}
