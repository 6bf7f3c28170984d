#include "commands.h"

#include <stdint.h>

#include <cache.h>    /* <>: host builds shadow it */
#include "crc32.h"
#include "el2_mmu.h"
#include "gicv3.h"
#include "libc.h"
#include "link.h"
#include "memmap.h"
#include "parse.h"
#include "print.h"
#include "protocol.h"
#include "psci.h"
#include "session.h"
#include "snapshot.h"
#include <sysreg.h>   /* <>: host tests may shadow it */
#include "uart.h"
#include "vm.h"

#define MD_DEFAULT_LEN 0x100

/* Parse argument `s` named `what`; prints the one-line error itself. */
static int number_arg(const char *s, const char *what, uint64_t *out)
{
    if (parse_u64(s, out) == 0)
        return 0;
    printf_("error: bad number '%s' for %s\n", s, what);
    return -1;
}

static int allowed(uint64_t addr, uint64_t len, enum mem_access access)
{
    char why[128];
    if (memmap_check(addr, len, access, why, sizeof why) == 0)
        return 1;
    printf_("error: refused: %s\n", why);
    return 0;
}

static void cmd_help(int argc, char **argv)
{
    for (const struct command *c = commands; c->name; c++) {
        if (argc == 2 && strcmp(c->name, argv[1]) != 0)
            continue;
        printf_("  %s %s\n      %s\n", c->name, c->usage, c->help);
    }
}

/* What the boot DTB reserves: never handed out (memmap.c says why each kind). */
static void print_reserved(const struct memmap *m)
{
    for (int i = 0; i < m->reserved_count; i++) {
        const struct mem_reserved *r = &m->reserved[i];
        char path[LIMIT_RESERVED_NAME + 20];
        memmap_reserved_path(r, path, sizeof path);
        if (r->flags & RESERVED_DYNAMIC) {
            printf_("rsvd  %s: %lu KiB, size only (no reg): not placed, nothing reserved\n", path,
                    r->size >> 10);
            continue;
        }
        printf_("rsvd  0x%016lx-0x%016lx %s%s%s\n", r->base, r->base + r->size - 1, path,
                (r->flags & RESERVED_NO_MAP) ? " (no-map)" : "",
                (r->flags & RESERVED_MERGED) ? " (covers more than was reserved)" : "");
    }
}

void print_info(void)
{
    const struct memmap *m = memmap_get();
    uint64_t el = (read_sysreg(CurrentEL) >> 2) & 3;
    printf_("hvmon %s on %s at EL%lu\n", HVMON_VERSION, BOARD_NAME, el);
    for (int i = 0; i < m->ram_count; i++)
        printf_("RAM   0x%016lx-0x%016lx (%lu MiB, %s)\n", m->ram[i].base,
                m->ram[i].base + m->ram[i].size - 1, m->ram[i].size >> 20,
                m->ram_from_dtb ? "from DTB" : "board default");
    printf_("stub  0x%016lx-0x%016lx (%lu KiB, protected)\n", m->stub_base, m->stub_end - 1,
            (m->stub_end - m->stub_base) >> 10);
    if (m->dtb_size)
        printf_("DTB   0x%016lx-0x%016lx (%lu bytes, protected)\n", m->dtb,
                m->dtb + m->dtb_size - 1, m->dtb_size);
    else
        printf_("DTB   none valid was passed in x0\n");
    print_reserved(m);
    printf_("MIDR_EL1 0x%08lx MPIDR_EL1 0x%08lx CNTFRQ_EL0 %lu Hz ID_AA64MMFR0_EL1 0x%lx\n",
            read_sysreg(midr_el1), read_sysreg(mpidr_el1), read_sysreg(cntfrq_el0),
            read_sysreg(id_aa64mmfr0_el1));
    struct uart_claim uart[UART_MAX_CLAIMS];
    uart_claims(uart);                     /* [0]: the UART's register page */
    printf_("UART  0x%08lx, GIC distributor 0x%08lx, redistributors 0x%08lx\n",
            uart[0].base, (uint64_t)BOARD_GICD_BASE, (uint64_t)BOARD_GICR_BASE);
    printf_("MMU   %s: identity map, %u table pages; RAM write-back, devices nGnRE, "
            "only the stub's text executable\n", el2_mmu_state_text(), el2_mmu_table_pages());
    printf_("GIC   INTIDs 0-%u (GICD_TYPER 0x%08x): SPIs 32-%u can go to guests\n",
            gic_intid_count() - 1, gic_typer(), gic_intid_count() - 1);
}

static void cmd_info(int argc, char **argv)
{
    static const char *const states[] = {"free", "created", "running", "stopped"};
    (void)argc;
    (void)argv;
    print_info();
    /* Guests run on at the text monitor; what they print while no host reads it is
     * counted here until a host's session reports it (EVENT LOST). */
    for (unsigned i = 0; i < MAX_VMS; i++)
        if (vms[i].state != VM_FREE)
            printf_("VM %u (%s) %s, %u bytes of console output lost\n", i, vms[i].name,
                    states[vms[i].state & 3], session_stream_lost(CHANNEL_CONSOLE_BASE + i));
    for (unsigned i = 0; i < MAX_SNAPSHOTS; i++) {
        const struct snapshot *snap = snapshot_slot(i);
        if (snap->used)
            printf_("snapshot %s of VM %u: 0x%016lx-0x%016lx (%lu KiB, %lu KiB of guest RAM)\n",
                    snap->tag, snap->vm, snap->pa, snap->pa + snap->size - 1, snap->size >> 10,
                    snap->ram >> 10);
    }
}

/* The same numbers as the UART_STATS request, for a person at picocom. */
static void cmd_uart(int argc, char **argv)
{
    static const char *const sources[] = {
        [UART_DEPTH_DRIVER] = "the driver's datasheet value",
        [UART_DEPTH_PROFILE] = "the board profile",
        [UART_DEPTH_REGISTER] = "read from the UART",
    };
    struct uart_stats st;
    (void)argc;
    (void)argv;
    uart_stats(&st);
    printf_("UART  %s, FIFO depth %u (%s)\n", st.driver, st.fifo_depth,
            st.depth_source < 3 ? sources[st.depth_source] : "?");
    printf_("      %lu bytes received, %lu sent since the stub started\n", st.rx_bytes, st.tx_bytes);
    printf_("      %u overruns, %u framing errors, %u parity errors, %u breaks; "
            "%u bytes the receive ring had no room for\n", st.overruns, st.framing_errors,
            st.parity_errors, st.breaks, link_rx_overruns());
}

static void cmd_md(int argc, char **argv)
{
    uint64_t addr, len = MD_DEFAULT_LEN;
    if (number_arg(argv[1], "ADDR", &addr) || (argc > 2 && number_arg(argv[2], "LEN", &len)))
        return;
    if (!allowed(addr, len, MEM_READ))
        return;
    for (uint64_t line = 0; line < len; line += 16) {
        const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)(addr + line);
        uint64_t n = len - line < 16 ? len - line : 16;
        uint8_t bytes[16];
        printf_("%016lx:", addr + line);
        for (uint64_t i = 0; i < 16; i++) {
            if (i < n) {
                bytes[i] = p[i];
                printf_(" %02x", bytes[i]);
            } else {
                printf_("   ");
            }
        }
        printf_("  |");
        for (uint64_t i = 0; i < n; i++)
            printf_("%c", bytes[i] >= 0x20 && bytes[i] < 0x7f ? bytes[i] : '.');
        printf_("|\n");
    }
}

static void cmd_mw(int argc, char **argv)
{
    uint64_t addr, value, count = 1;
    if (number_arg(argv[1], "ADDR", &addr) || number_arg(argv[2], "VALUE", &value) ||
        (argc > 3 && number_arg(argv[3], "COUNT", &count)))
        return;
    if (value > UINT32_MAX) {
        printf_("error: VALUE 0x%lx does not fit 32 bits\n", value);
        return;
    }
    if (addr & 3) {
        printf_("error: ADDR 0x%lx is not 4-byte aligned\n", addr);
        return;
    }
    if (count > UINT64_MAX / 4 || !allowed(addr, count * 4, MEM_WRITE))
        return;
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)addr;
    for (uint64_t i = 0; i < count; i++)
        p[i] = (uint32_t)value;
    /* `go` may run these words next: clean them to PoC now, as requests.c does for
     * MEM_WRITE (arch/aarch64/README.md, "EL2 MMU and caches"). */
    dcache_clean_poc(p, count * 4);
}

static void cmd_crc(int argc, char **argv)
{
    (void)argc;
    uint64_t addr, len;
    if (number_arg(argv[1], "ADDR", &addr) || number_arg(argv[2], "LEN", &len))
        return;
    if (!allowed(addr, len, MEM_READ))
        return;
    uint32_t crc = crc32_update(0, (const void *)(uintptr_t)addr, len);
    printf_("crc32 0x%lx+0x%lx = 0x%08x\n", addr, len, crc);
}

static void cmd_go(int argc, char **argv)
{
    (void)argc;
    uint64_t addr;
    if (number_arg(argv[1], "ADDR", &addr))
        return;
    if (addr & 3) {
        printf_("error: ADDR 0x%lx is not 4-byte aligned\n", addr);
        return;
    }
    if (!allowed(addr, 4, MEM_EXEC))
        return;
    printf_("## calling 0x%lx at EL2\n", addr);
    uart_flush();
    /* RAM outside the stub is executable only while `go` runs (el2_mmu.h: a bring-up
     * tool; what it calls has the stub's privileges anyway). A fault in it ends in the
     * monitor's restart, which closes the window (main.c). The D-side was cleaned when
     * mw or MEM_WRITE wrote it; the I-cache is invalidated here. */
    el2_mmu_ram_exec(1);
    sync_icache_all();
    uint64_t (*entry)(void) = (uint64_t (*)(void))(uintptr_t)addr;
    uint64_t ret = entry();
    el2_mmu_ram_exec(0);
    printf_("## returned x0=0x%lx\n", ret);
}

static void cmd_reset(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    puts_("resetting (PSCI SYSTEM_RESET)");
    uart_flush();
    int64_t r = psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    printf_("error: PSCI SYSTEM_RESET returned %ld\n", r);
}

const struct command commands[] = {
    {"help", "[CMD]", "list commands, or describe one", 0, 1, cmd_help},
    {"info", "", "version, board, exception level, RAM map, protected ranges", 0, 0, cmd_info},
    {"uart", "", "the link UART: FIFO depth, bytes, overruns and line errors", 0, 0, cmd_uart},
    {"md", "ADDR [LEN]", "hex and ASCII dump of LEN bytes (default 256)", 1, 2, cmd_md},
    {"mw", "ADDR VALUE [COUNT]", "write a 32-bit VALUE to COUNT words from ADDR", 2, 3, cmd_mw},
    {"crc", "ADDR LEN", "CRC-32 (zlib/U-Boot crc32) of LEN bytes at ADDR", 2, 2, cmd_crc},
    {"go", "ADDR", "call code at ADDR at EL2; prints x0 when it returns", 1, 1, cmd_go},
    {"reset", "", "reset the board through PSCI SYSTEM_RESET", 0, 0, cmd_reset},
    {0, 0, 0, 0, 0, 0},
};
