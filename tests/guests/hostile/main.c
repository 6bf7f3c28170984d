/* The project's hostile guest: a bare-metal EL1 program that reads its attack from the
 * DTB's /chosen/bootargs, runs it step by step and prints on its console (the stub's
 * emulated PL011, found in the DTB) what each step got. The tests read that output and
 * decide; this program only reports. Steps, separated by spaces, numbers in C syntax:
 *
 *   read:ADDR  read32:ADDR        load 64/32 bits                 "= VALUE"
 *   write:ADDR:V  write32:ADDR:V  store 64/32 bits                "stored"
 *   hvc:ID:X1:X2:X3  smc:...      an HVC or SMC with x0..x3       "-> x0 x1 x2 x3"
 *   print:TEXT                    the print hypercall on TEXT (in this guest's RAM)
 *   storm:N                       N echo hypercalls, progress every 10000
 *   faults:N                      N undefined instructions caught at EL1 (0: for ever)
 *   mark / probe                  leave markers in per-core state and RAM / read it back
 *   vtimer                        arm the virtual timer to fire now, IRQs masked, and
 *                                 wait up to 2 s for its interrupt to be pending
 *                                 "vtimer: pending" / "vtimer: nothing"; the interrupt
 *                                 is never taken, so its physical PPI stays active
 *                                 (enable it first: GICR_ISENABLER0 bit 27)
 *   ping:IPA:N:IRQ  pong:IPA:N:IRQ  N IVC round trips through the shared page at IPA,
 *                                 woken by doorbell SPI IRQ (ivc.c below)
 */
#include <stdint.h>

#define MARK(n) (0x00005EC0DE000000UL | ((uint64_t)(n) << 8))
#define MARK_RAM 0x70100000UL                  /* 1 MiB into memory[0], past this image */

#define read_sysreg(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)))

void simd_mark(uint64_t marker, uint64_t fpcr, uint64_t fpsr);
void simd_read(uint64_t out[66]);
uint64_t fault_loop(uint64_t count);

static volatile uint32_t *uart;
uint64_t gicd_base, gicr_base;             /* the vGIC, from the DTB's arm,gic-v3 node */

void putc_(char c)
{
    if (!uart)
        return;
    while (uart[0x18 / 4] & (1u << 5))       /* UARTFR.TXFF (PL011 TRM 3.3.3) */
        ;
    uart[0] = (uint8_t)c;
}

void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void puthex(uint64_t v)
{
    puts_("0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        putc_("0123456789abcdef"[(v >> shift) & 15]);
}

void putdec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do
        buf[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        putc_(buf[--n]);
}

/* --- the DTB: /chosen/bootargs and the console's reg (devicetree spec v0.4, 5.4) ---- */

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static int list_has(const char *list, uint32_t len, const char *want)
{
    for (uint32_t i = 0; i < len;) {
        if (streq(list + i, want))
            return 1;
        while (i < len && list[i])
            i++;
        i++;
    }
    return 0;
}

static const char *bootargs;

static void read_dtb(const uint8_t *dtb)
{
    if (be32(dtb) != 0xD00DFEED)
        return;
    const uint8_t *p = dtb + be32(dtb + 8);
    const char *strings = (const char *)dtb + be32(dtb + 12);
    int depth = 0, in_chosen = 0, is_pl011 = 0, is_gic = 0;
    uint64_t reg = 0, reg2 = 0;
    for (;;) {
        uint32_t token = be32(p);
        p += 4;
        if (token == 1) {                                   /* FDT_BEGIN_NODE */
            const char *name = (const char *)p;
            depth++;
            in_chosen = depth == 2 && streq(name, "chosen");
            is_pl011 = is_gic = 0;
            reg = reg2 = 0;
            while (*p)
                p++;
            p = (const uint8_t *)(((uintptr_t)p + 4) & ~3UL);
        } else if (token == 2) {                            /* FDT_END_NODE */
            if (depth == 2 && is_pl011 && reg && !uart)
                uart = (volatile uint32_t *)reg;
            if (depth == 2 && is_gic && reg && !gicd_base)
                gicd_base = reg, gicr_base = reg2;
            depth--;
            in_chosen = 0;
        } else if (token == 3) {                            /* FDT_PROP */
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const char *name = strings + nameoff, *value = (const char *)p + 8;
            if (in_chosen && streq(name, "bootargs"))
                bootargs = value;
            if (depth == 2 && streq(name, "compatible") && list_has(value, len, "arm,pl011"))
                is_pl011 = 1;
            if (depth == 2 && streq(name, "compatible") && list_has(value, len, "arm,gic-v3"))
                is_gic = 1;
            if (depth == 2 && streq(name, "reg") && len >= 8)      /* #address-cells = 2 */
                reg = (uint64_t)be32(value) << 32 | be32(value + 4);
            if (depth == 2 && streq(name, "reg") && len >= 24)     /* the GIC's second range */
                reg2 = (uint64_t)be32(value + 16) << 32 | be32(value + 20);
            p += 8 + ((len + 3) & ~3u);
        } else if (token == 4) {                            /* FDT_NOP */
        } else {
            return;                                         /* FDT_END or garbage */
        }
    }
}

/* --- steps ------------------------------------------------------------------------ */

static uint64_t parse_num(const char **s)
{
    const char *p = *s;
    uint64_t v = 0;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9') d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f') d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F') d = (unsigned)(*p - 'A' + 10);
        else break;
        v = v * (uint64_t)base + d;
    }
    if (*p == ':')
        p++;
    *s = p;
    return v;
}

#include "hostile.h"

struct call hvc(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
    register uint64_t r0 __asm__("x0") = x0, r1 __asm__("x1") = x1;
    register uint64_t r2 __asm__("x2") = x2, r3 __asm__("x3") = x3;
    __asm__ volatile("hvc #0" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3) : : "memory");
    return (struct call){{r0, r1, r2, r3}};
}

static struct call smc(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
    register uint64_t r0 __asm__("x0") = x0, r1 __asm__("x1") = x1;
    register uint64_t r2 __asm__("x2") = x2, r3 __asm__("x3") = x3;
    __asm__ volatile("smc #0" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3) : : "memory");
    return (struct call){{r0, r1, r2, r3}};
}

static void show_call(struct call c)
{
    puts_(" -> ");
    for (int i = 0; i < 4; i++) {
        puthex(c.x[i]);
        putc_(i < 3 ? ' ' : '\n');
    }
}

#define HVC_ECHO  0xC6000001UL
#define HVC_PRINT 0xC6000005UL

static void storm(uint64_t n)
{
    uint64_t bad = 0;
    for (uint64_t i = 1; i <= n; i++) {
        struct call c = hvc(HVC_ECHO, i, ~i, 7);
        bad += c.x[0] != 0 || c.x[1] != i || c.x[2] != ~i || c.x[3] != 7;
        if (i % 10000 == 0) {
            puts_("storm ");
            putdec(i);
            putc_('\n');
        }
    }
    puts_("storm done: ");
    putdec(n);
    puts_(" calls, ");
    putdec(bad);
    puts_(" wrong\n");
}

static char print_text[128];

static void print_step(const char *arg, const char **end)
{
    unsigned n = 0;
    while (arg[n] && arg[n] != ' ' && n < sizeof print_text)
        print_text[n] = arg[n], n++;
    *end = arg + n;
    show_call(hvc(HVC_PRINT, (uint64_t)(uintptr_t)print_text, n, 0));
}

/* Per-core state a guest can leave behind (issue 13, hole 6). Each is written with a
 * marker by `mark` and read by `probe` in the next guest on the core. */
#define SYSREGS(X) \
    X(tpidr_el0) X(tpidrro_el0) X(tpidr_el1) X(cntv_cval_el0) X(cntv_ctl_el0) \
    X(cntp_cval_el0) X(cntp_ctl_el0) X(cntkctl_el1) X(pmcr_el0) X(pmcntenset_el0) \
    X(pmintenset_el1) X(pmuserenr_el0) X(pmccfiltr_el0) X(mdscr_el1) X(dbgbvr0_el1) \
    X(dbgbcr0_el1) X(dbgwvr0_el1) X(contextidr_el1) X(vbar_el1) X(mair_el1) X(ttbr0_el1) \
    X(ttbr1_el1) X(sp_el0) X(elr_el1) X(far_el1) X(par_el1) \
    X(icc_pmr_el1) X(icc_bpr1_el1) X(icc_igrpen1_el1)

static void mark(void)
{
    simd_mark(MARK(0x51), 3UL << 22, 1UL << 27);       /* FPCR.RMode toward zero; FPSR.QC */
    write_sysreg(tpidr_el0, MARK(1));
    write_sysreg(tpidrro_el0, MARK(2));
    write_sysreg(tpidr_el1, MARK(3));
    write_sysreg(cntv_cval_el0, MARK(4));
    write_sysreg(cntv_ctl_el0, 3);                     /* ENABLE, IMASK */
    write_sysreg(cntp_cval_el0, MARK(5));
    write_sysreg(cntp_ctl_el0, 3);
    write_sysreg(cntkctl_el1, 3);                      /* EL0 may read both counters */
    write_sysreg(pmcr_el0, (1UL << 6) | 1);            /* LC, E */
    write_sysreg(pmcntenset_el0, 1UL << 31);           /* the cycle counter */
    write_sysreg(pmintenset_el1, 1UL << 31);
    write_sysreg(pmuserenr_el0, 0xF);
    write_sysreg(pmccfiltr_el0, 1UL << 31);            /* P: do not count at EL1 */
    write_sysreg(mdscr_el1, (1UL << 15) | (1UL << 12)); /* MDE, TDCC */
    write_sysreg(dbgbvr0_el1, MARK(6));
    write_sysreg(dbgbcr0_el1, 0x1E6);                  /* BAS, PMC: a breakpoint, not enabled */
    write_sysreg(dbgwvr0_el1, MARK(7));
    write_sysreg(contextidr_el1, 0x5EC7);
    write_sysreg(vbar_el1, MARK(8));
    write_sysreg(mair_el1, MARK(9));
    write_sysreg(ttbr0_el1, MARK(10));
    write_sysreg(ttbr1_el1, MARK(11));
    write_sysreg(sp_el0, MARK(12));
    write_sysreg(elr_el1, MARK(13));
    write_sysreg(far_el1, MARK(14));
    write_sysreg(par_el1, MARK(15) & 0xFFFFFFFFF000UL);
    write_sysreg(S3_0_C4_C6_0, 0xA0);                  /* ICC_PMR_EL1 */
    write_sysreg(S3_0_C12_C12_3, 4);                   /* ICC_BPR1_EL1 */
    write_sysreg(S3_0_C12_C12_7, 1);                   /* ICC_IGRPEN1_EL1 */
    __asm__ volatile("isb");
    *(volatile uint64_t *)MARK_RAM = MARK(0x52);
    puts_("marked\n");
}

#define icc_pmr_el1 S3_0_C4_C6_0
#define icc_bpr1_el1 S3_0_C12_C12_3
#define icc_igrpen1_el1 S3_0_C12_C12_7
#define X_PROBE(r) read_and_show(#r, read_sysreg(r));

static void read_and_show(const char *name, uint64_t value)
{
    puts_("probe ");
    puts_(name);
    putc_('=');
    puthex(value);
    putc_('\n');
}

static void probe(void)
{
    static uint64_t simd[66];
    SYSREGS(X_PROBE)
    simd_read(simd);
    uint64_t any = 0;
    for (int i = 0; i < 64; i++)
        any |= simd[i];
    read_and_show("simd_or", any);
    read_and_show("fpcr", simd[64]);
    read_and_show("fpsr", simd[65]);
    read_and_show("ram", *(volatile uint64_t *)MARK_RAM);
}

/* ISR_EL1.I with HCR_EL2.IMO set: a virtual IRQ is pending (ARM ARM D19.2.71). The
 * virtual CPU interface signals it only with group 1 enabled and the priority mask open. */
static void vtimer(void)
{
    write_sysreg(icc_pmr_el1, 0xFF);
    write_sysreg(icc_igrpen1_el1, 1);
    uint64_t now = read_sysreg(cntvct_el0), wait = read_sysreg(cntfrq_el0) * 2;
    write_sysreg(cntv_cval_el0, now);
    write_sysreg(cntv_ctl_el0, 1);                 /* ENABLE, IMASK clear */
    __asm__ volatile("isb");
    while (read_sysreg(cntvct_el0) - now < wait) {
        if (read_sysreg(isr_el1) & (1UL << 7)) {
            puts_("vtimer: pending\n");
            return;
        }
    }
    puts_("vtimer: nothing\n");
}

static void step(const char **cursor)
{
    const char *s = *cursor, *verb = s;
    while (*s && *s != ':' && *s != ' ')
        s++;
    unsigned vlen = (unsigned)(s - verb);
    char name[16] = {0};
    for (unsigned i = 0; i < vlen && i < 15; i++)
        name[i] = verb[i];
    if (*s == ':')
        s++;
    puts_("step ");
    puts_(name);
    if (streq(name, "print")) {
        print_step(s, cursor);
        return;
    }
    uint64_t a[4] = {0};
    for (int i = 0; i < 4 && *s && *s != ' '; i++)
        a[i] = parse_num(&s);
    while (*s && *s != ' ')
        s++;
    *cursor = s;
    puts_(" ");
    puthex(a[0]);
    putc_('\n');
    if (streq(name, "read")) {
        uint64_t v = *(volatile uint64_t *)a[0];
        puts_("= ");
        puthex(v);
        putc_('\n');
    } else if (streq(name, "read32")) {
        uint32_t v = *(volatile uint32_t *)a[0];
        puts_("= ");
        puthex(v);
        putc_('\n');
    } else if (streq(name, "write")) {
        *(volatile uint64_t *)a[0] = a[1];
        puts_("stored\n");
    } else if (streq(name, "write32")) {
        *(volatile uint32_t *)a[0] = (uint32_t)a[1];
        puts_("stored\n");
    } else if (streq(name, "hvc")) {
        show_call(hvc(a[0], a[1], a[2], a[3]));
    } else if (streq(name, "smc")) {
        show_call(smc(a[0], a[1], a[2], a[3]));
    } else if (streq(name, "storm")) {
        storm(a[0]);
    } else if (streq(name, "faults")) {
        uint64_t n = fault_loop(a[0]);
        puts_("faults caught: ");
        putdec(n);
        putc_('\n');
    } else if (streq(name, "mark")) {
        mark();
    } else if (streq(name, "probe")) {
        probe();
    } else if (streq(name, "vtimer")) {
        vtimer();
    } else if (streq(name, "ping")) {
        ivc_ping(a[0], a[1], (uint32_t)a[2]);
    } else if (streq(name, "pong")) {
        ivc_pong(a[0], a[1], (uint32_t)a[2]);
    } else {
        puts_("unknown step\n");
    }
}

void hostile_main(const uint8_t *dtb)
{
    read_dtb(dtb);
    puts_("hostile: bootargs '");
    puts_(bootargs ? bootargs : "");
    puts_("'\n");
    for (const char *s = bootargs ? bootargs : ""; *s;) {
        if (*s == ' ') {
            s++;
            continue;
        }
        step(&s);
    }
    puts_("hostile: done\n");
}
