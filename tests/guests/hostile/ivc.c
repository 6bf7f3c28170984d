/* The IVC roles: two guests sharing one page (a `[[shared]]` region of both configs),
 * each woken by its doorbell SPI when the other calls the ivc_ring hypercall.
 *
 * ping writes a tagged sequence number into its slot, rings, and waits until pong's slot
 * holds the same number; pong echoes each new number it finds in ping's slot and rings
 * back. Waiting is WFI with interrupts masked at PSTATE (a pending virtual interrupt
 * still ends WFI), then acknowledging whatever woke it; the page, not the interrupt,
 * says whether the answer is there, so a doorbell that arrives early or twice costs one
 * more turn round the loop, never a lost message. */
#include "hostile.h"

#define HVC_IVC_RING 0xC600000AUL
#define STATUS_NOT_RUNNING ((uint64_t)-10)

/* One cache line per writer (64 bytes apart): each slot has a single writer. */
#define PING_SLOT 0
#define PONG_SLOT 8

#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)))
#define read_sysreg(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })

/* GICv3 registers (Arm IHI 0069): GICD_CTLR, GICD_ISENABLER<n> (12.9), GICR_WAKER (12.11);
 * ICC_SRE_EL1, ICC_PMR_EL1, ICC_IGRPEN1_EL1, ICC_IAR1_EL1, ICC_EOIR1_EL1 (12.2). */
#define GICD_CTLR_ARE_EN1 0x12u          /* ARE, EnableGrp1 (one security state) */
#define icc_sre_el1 S3_0_C12_C12_5
#define icc_pmr_el1 S3_0_C4_C6_0
#define icc_igrpen1_el1 S3_0_C12_C12_7
#define icc_iar1_el1 S3_0_C12_C12_0
#define icc_eoir1_el1 S3_0_C12_C12_1

static void gic_enable(uint32_t irq)
{
    volatile uint32_t *gicd = (volatile uint32_t *)gicd_base;
    volatile uint32_t *gicr = (volatile uint32_t *)gicr_base;
    gicr[0x14 / 4] = 0;                          /* GICR_WAKER: ProcessorSleep off */
    gicd[0] = GICD_CTLR_ARE_EN1;
    gicd[(0x100 + 4 * (irq / 32)) / 4] = 1u << (irq % 32);   /* GICD_ISENABLER */
    write_sysreg(icc_sre_el1, read_sysreg(icc_sre_el1) | 1);
    write_sysreg(icc_pmr_el1, 0xFF);
    write_sysreg(icc_igrpen1_el1, 1);
    __asm__ volatile("isb");
}

static uint64_t wakeups;

/* Until slot holds want: sleep, then take what woke us. */
static void wait_for(volatile uint64_t *slot, uint64_t want)
{
    while (*slot != want) {
        __asm__ volatile("wfi");
        uint64_t iar = read_sysreg(icc_iar1_el1);
        if ((iar & 0xFFFFFF) < 1020)             /* 1020..1023: special INTIDs, no EOI */
            write_sysreg(icc_eoir1_el1, iar);
        wakeups++;
    }
}

/* Until something new (not `last`) is in slot. */
static uint64_t wait_change(volatile uint64_t *slot, uint64_t last)
{
    uint64_t v;
    while ((v = *slot) == last) {
        __asm__ volatile("wfi");
        uint64_t iar = read_sysreg(icc_iar1_el1);
        if ((iar & 0xFFFFFF) < 1020)
            write_sysreg(icc_eoir1_el1, iar);
        wakeups++;
    }
    return v;
}

static uint64_t ring(uint64_t ipa, uint64_t *not_running)
{
    for (;;) {
        __asm__ volatile("dsb sy" ::: "memory");     /* the message before the doorbell */
        uint64_t x0 = hvc(HVC_IVC_RING, ipa, 0, 0).x[0];
        if (x0 != STATUS_NOT_RUNNING)
            return x0;
        ++*not_running;                          /* the peer is not started yet: again */
    }
}

static void report(const char *role, uint64_t n, uint64_t errors, uint64_t first_error,
                   uint64_t not_running)
{
    puts_("ivc ");
    puts_(role);
    puts_(": ");
    putdec(n);
    puts_(" messages, ");
    putdec(errors);
    puts_(" ring errors (first x0 ");
    putdec(first_error);
    puts_("), ");
    putdec(not_running);
    puts_(" rings before the peer ran, ");
    putdec(wakeups);
    puts_(" wakeups\n");
}

void ivc_ping(uint64_t ipa, uint64_t n, uint32_t irq)
{
    volatile uint64_t *page = (volatile uint64_t *)ipa;
    gic_enable(irq);
    /* The tag keeps whatever the page held before (or an earlier run) from counting. */
    uint64_t tag = (read_sysreg(cntvct_el0) & 0xFFFFFF) << 32 | 1UL << 63;
    uint64_t errors = 0, first_error = 0, not_running = 0;
    uint64_t start = read_sysreg(cntvct_el0);
    for (uint64_t i = 1; i <= n; i++) {
        page[PING_SLOT] = tag | i;
        uint64_t x0 = ring(ipa, &not_running);
        if (x0 != 0) {
            if (!errors++)
                first_error = x0;
            break;                               /* no doorbell: no answer will come */
        }
        wait_for(&page[PONG_SLOT], tag | i);
    }
    uint64_t ticks = read_sysreg(cntvct_el0) - start;
    report("ping", n, errors, first_error, not_running);
    puts_("ivc rtt: ");
    putdec(n);
    puts_(" round trips in ");
    putdec(ticks);
    puts_(" ticks at ");
    putdec(read_sysreg(cntfrq_el0));
    puts_(" Hz\n");
}

void ivc_pong(uint64_t ipa, uint64_t n, uint32_t irq)
{
    volatile uint64_t *page = (volatile uint64_t *)ipa;
    gic_enable(irq);
    uint64_t errors = 0, first_error = 0, not_running = 0, last = page[PING_SLOT], seen = 0;
    puts_("ivc pong: ready\n");
    /* Ends with ping's last number: pong does not know ping's tag, only the count. */
    while (seen < n) {
        uint64_t v = wait_change(&page[PING_SLOT], last);
        last = v;
        page[PONG_SLOT] = v;
        uint64_t x0 = ring(ipa, &not_running);
        if (x0 != 0 && !errors++)
            first_error = x0;
        seen = (v >> 63) ? (v & 0xFFFFFFFF) : 0;
    }
    report("pong", n, errors, first_error, not_running);
}
