/* The fake board of the trap harness (traps_board.h). */
#include "traps_board.h"
#include "guest_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "console.h"
#include "gicv3.h"
#include "guest_tlbi.h"
#include "mini_dtb.h"
#include "percpu.h"
#include "print.h"
#include "psci.h"
#include "uart.h"
#include "vm.h"

struct fake_core cores[BOARD_CORES];
unsigned current_core;
jmp_buf *core_exit;
uint32_t board_cpu_on_allowed;
uint64_t board_console_bytes[4];
static uint32_t started_cores;
/* Physical interrupts acknowledged and not yet deactivated: SGIs and PPIs per core, SPIs
 * once. An active interrupt is not signalled again until it is deactivated (IHI 0069,
 * 4.1 interrupt states), by the stub's ICC_DIR_EL1 or by the guest's EOI of the list
 * register that holds it with the HW bit (4.9). */
static uint8_t private_active[BOARD_CORES][32], spi_active[1024];

static uint8_t *active_flag(unsigned core, uint32_t intid)
{
    return intid < 32 ? &private_active[core][intid] : &spi_active[intid];
}

void board_guest_deactivate(uint32_t pintid)
{
    if (pintid < 1020)
        *active_flag(current_core, pintid) = 0;
}
static uint64_t fake_clock;

/* The stub's own image and the PSCI entry its cores start at (start.S on a board). */
char __image_start[4096] __attribute__((aligned(4096)));
__asm__(".globl __image_end\n.set __image_end, __image_start + 4096");
char secondary_entry[4];

/* ICH_LR<n>_EL2: S3_4_C12_C12_<n> for n < 8, S3_4_C12_C13_<n-8> above (IHI 0069, 12.5.9).
 * -1 for any other register name. */
static int lr_index(const char *name)
{
    if (strncmp(name, "S3_4_C12_C1", 11) != 0 || (name[11] != '2' && name[11] != '3') ||
        name[12] != '_' || name[13] < '0' || name[13] > '7' || name[14])
        return -1;
    return (name[11] - '2') * 8 + (name[13] - '0');
}

/* ICH_ELRSR_EL2 and ICH_EISR_EL2 from the list registers (IHI 0069, 12.5): an LR is empty
 * when its state is invalid and it owes no EOI maintenance interrupt (state invalid,
 * HW 0, EOI 1: that one shows in EISR instead). */
static uint64_t lr_status(int eoi_pending)
{
    uint64_t bits = 0;
    for (unsigned n = 0; n < BOARD_LRS; n++) {
        uint64_t lr = cores[current_core].lr[n];
        int invalid = (lr & LR_STATE_MASK) == 0;
        int owes_eoi = invalid && !(lr & LR_HW) && (lr & LR_EOI);
        if (eoi_pending ? owes_eoi : invalid && !owes_eoi)
            bits |= 1UL << n;
    }
    return bits;
}

uint64_t fake_sysreg_read(const char *name)
{
    struct fake_core *c = &cores[current_core];
    int lr = lr_index(name);
    if (lr >= 0) {
        if (lr >= BOARD_LRS)
            abort();                    /* a list register this GIC does not have */
        return c->lr[lr];
    }
    if (strcmp(name, "tpidr_el2") == 0)
        return (uintptr_t)&percpus[current_core];
    if (strcmp(name, "esr_el2") == 0)
        return c->esr;
    if (strcmp(name, "far_el2") == 0)
        return c->far;
    if (strcmp(name, "hpfar_el2") == 0)
        return c->hpfar;
    if (strcmp(name, "par_el1") == 0)
        return c->par;
    if (strcmp(name, "elr_el2") == 0)
        return c->elr;
    if (strcmp(name, "S3_4_C12_C11_1") == 0)      /* ICH_VTR_EL2.ListRegs */
        return BOARD_LRS - 1;
    if (strcmp(name, "S3_4_C12_C11_5") == 0)      /* ICH_ELRSR_EL2 */
        return lr_status(0);
    if (strcmp(name, "S3_4_C12_C11_3") == 0)      /* ICH_EISR_EL2 */
        return lr_status(1);
    if (strcmp(name, "S3_4_C12_C11_0") == 0)      /* ICH_HCR_EL2 */
        return c->ich_hcr;
    if (strcmp(name, "S3_0_C12_C12_0") == 0) {    /* ICC_IAR1_EL1: one interrupt, then spurious */
        uint32_t intid = c->iar;
        c->iar = 1023;
        if (intid >= 1020)
            return 1023;
        uint8_t *active = active_flag(current_core, intid);
        if (*active)
            return 1023;
        *active = 1;
        return intid;
    }
    if (strcmp(name, "mpidr_el1") == 0)
        return current_core;
    if (strcmp(name, "id_aa64mmfr0_el1") == 0)
        return 2;                       /* PARange 0b0010: 40 bits, as on both boards */
    if (strcmp(name, "cntpct_el0") == 0)
        return fake_clock += 1000;
    if (strcmp(name, "cntfrq_el0") == 0)
        return 62500000;
    if (strcmp(name, "CurrentEL") == 0)
        return 2 << 2;
    return 0;
}

void fake_sysreg_write(const char *name, uint64_t value)
{
    struct fake_core *c = &cores[current_core];
    int lr = lr_index(name);
    if (lr >= 0) {
        if (lr >= BOARD_LRS)
            abort();                    /* a list register this GIC does not have */
        c->lr[lr] = value;
    } else if (strcmp(name, "elr_el2") == 0) {
        c->elr = value;
    } else if (strcmp(name, "par_el1") == 0) {
        c->par = value;
    } else if (strcmp(name, "S3_4_C12_C11_0") == 0) {
        c->ich_hcr = value;
    } else if (strcmp(name, "S3_0_C12_C11_1") == 0) {    /* ICC_DIR_EL1 */
        board_guest_deactivate((uint32_t)value & 0xFFFFFF);
    }
}

uint32_t board_take_started_cores(void)
{
    uint32_t started = started_cores;
    started_cores = 0;
    return started;
}

/* The firmware's PSCI. A guest's exit reaches it only for CPU_ON of one of its VM's own
 * cores and for CPU_OFF of the core it runs on; anything else is a guest getting at the
 * board's power management through the stub. */
int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
    (void)a2; (void)a3;
    switch (fn) {
    case PSCI_CPU_ON:
        if (a1 >= BOARD_CORES || a1 == 0 ||
            (board_cpu_on_allowed && !(board_cpu_on_allowed >> a1 & 1)))
            abort();                    /* a core that is not the VM's */
        started_cores |= 1u << a1;
        return PSCI_RET_SUCCESS;
    case PSCI_CPU_OFF:
        longjmp(*core_exit, CORE_PARKED);
    case PSCI_AFFINITY_INFO:
        if (current_core != 0)
            abort();                    /* the boot core's question (vm_stop), not a guest's */
        return 1;                       /* OFF: parked cores are gone at once */
    default:
        abort();
    }
}

void guest_resume(struct percpu *cpu)
{
    (void)cpu;
    longjmp(*core_exit, CORE_ENTERED_GUEST);
}

/* The boot core, woken by a guest's core: it forwards what the console rings hold. */
void board_drain_consoles(void)
{
    for (unsigned i = 0; i < MAX_VMS; i++) {
        uint8_t chunk[256];
        uint32_t got;
        while ((got = ring_get(&vms[i].console_out, chunk, sizeof chunk)) != 0)
            board_console_bytes[i] += got;
    }
}

void idle_kick_boot_core(void) { board_drain_consoles(); }
void guest_state_reset(void) {}

/* TLBI at EL1 is SYS with Op0 1, Op1 0, CRn 8 (ARM ARM C5.5); the host has no TLB to
 * invalidate, so only the answer of guest_tlbi.c remains. */
int guest_tlbi_local(uint64_t esr, uint64_t value)
{
    (void)value;
    return ((esr >> 20) & 3) == 1 && ((esr >> 14) & 7) == 0 && ((esr >> 10) & 15) == 8 ? 0 : -1;
}

/* The host has no TLB: a stage-2 permission change needs no invalidation here. */
void guest_tlbi_ipa_local(uint64_t ipa) { (void)ipa; }

/* A paused vCPU's context: the general registers and where it goes on are the harness's
 * own; the EL1 system registers, FP/SIMD and the CPU interface live per core, unchanged
 * by anything the harness models, and come back as they were saved. */
static struct guest_context live_context[BOARD_CORES];

void guest_context_save(struct guest_context *c, const uint64_t *x)
{
    *c = live_context[current_core];
    for (int i = 0; i < 31; i++)
        c->x[i] = x[i];
    c->pc = cores[current_core].elr;
}

void guest_context_load(const struct guest_context *c, uint64_t *x, int vtimer_enabled)
{
    (void)vtimer_enabled;
    live_context[current_core] = *c;
    for (int i = 0; i < 31; i++)
        x[i] = c->x[i];
    cores[current_core].elr = c->pc;
}

unsigned uart_claims(struct uart_claim *out)
{
    out[0] = (struct uart_claim){BOARD_UART_BASE, 0x1000};
    return 1;
}

/* No host link runs: the link's hooks do nothing, events find no session. */
static void no_poll(void) {}
static void no_putc(uint8_t c) { (void)c; }
static int no_session(void) { return 0; }
static void no_stream(unsigned ch, const uint8_t *d, uint32_t n) { (void)ch; (void)d; (void)n; }
static void no_stats(uint64_t *a, uint64_t *b, uint64_t *c) { *a = *b = *c = 0; }
static const struct console_link no_link = {no_poll, no_putc, no_session, no_stream, no_stream,
                                            no_stats};
static void no_print(char c) { (void)c; }

static uint8_t *ram;
static uint8_t dtb[MINI_DTB_SIZE] __attribute__((aligned(8)));

uint8_t *board_ram(void) { return ram; }

/* The DTB names no CPUs (memmap_init marks every core but the boot core absent): the
 * board has BOARD_CORES, core n with MPIDR n. */
void board_cores_present(void)
{
    for (unsigned i = 0; i < BOARD_CORES; i++) {
        percpus[i].index = i;
        percpus[i].mpidr = i;
    }
}

void board_reset_interrupts(void)
{
    memset(private_active, 0, sizeof private_active);
    memset(spi_active, 0, sizeof spi_active);
}

const void *board_init(void)
{
    if (ram)
        return dtb;
    ram = mmap((void *)RAM_BASE, RAM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (ram != (uint8_t *)RAM_BASE) {
        fprintf(stderr, "traps: cannot map the fake RAM at %#lx\n", RAM_BASE);
        exit(2);
    }
    mini_dtb_build(dtb, RAM_BASE, RAM_SIZE);
    console_attach(&no_link);
    print_set_output(no_print);
    return dtb;
}
