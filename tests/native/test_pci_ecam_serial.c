/* Host test of firmware/drivers/pci_ecam_serial.c against a model of one PCI function's
 * type 0 configuration header (PCI Local Bus Specification 3.0, 6.1), as QEMU's
 * pci-serial presents it. Built and run by tests/unit/test_uart_16550.py. The model
 * aborts on any access outside the function's ECAM page, misaligned or not 32 bits wide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mmio.h"
#include "pci_ecam_serial.h"
#include "uart_locate.h"

#define CONFIG ((uintptr_t)BOARD_PCI_ECAM_BASE + ((uintptr_t)BOARD_PCI_UART_BDF << 12))

static struct {
    uint32_t id, command, bar0, int_word;
    uint32_t bar0_size;             /* I/O bytes decoded: address bits below it read 0 */
    unsigned long command_writes;
} f;

#include "check.h"

static _Noreturn void die(const char *what, uintptr_t addr)
{
    fprintf(stderr, "pci config model: %s (address %#lx)\n", what, (unsigned long)addr);
    abort();
}

static uint32_t offset_of(uintptr_t addr)
{
    if (addr < CONFIG || addr >= CONFIG + 0x1000)
        die("access outside the function's config space", addr);
    if (addr & 3)
        die("misaligned config access", addr);
    return (uint32_t)(addr - CONFIG);
}

uint32_t model_read32(uintptr_t addr)
{
    switch (offset_of(addr)) {
    case 0x00: return f.id;
    case 0x04: return f.command | 0x00100000u;    /* Status: capabilities list, RW1C-free */
    case 0x10: return f.bar0;
    case 0x3c: return f.int_word;
    default: return 0;
    }
}

void model_write32(uintptr_t addr, uint32_t v)
{
    switch (offset_of(addr)) {
    case 0x04:
        if (v >> 16)
            die("Status written with ones: they are RW1C", addr);
        f.command = v;
        f.command_writes++;
        return;
    case 0x10:      /* an I/O BAR: bit 0 reads 1, bits below its size read 0 */
        f.bar0 = (v & ~(f.bar0_size - 1)) | 1u;
        return;
    default:
        die("write to a register the driver has no business with", addr);
    }
}

uint8_t model_read8(uintptr_t addr) { die("8-bit config read", addr); }
void model_write8(uintptr_t addr, uint8_t v) { (void)v; die("8-bit config write", addr); }

/* QEMU's pci-serial after reset (no firmware ran) */
static void reset_function(void)
{
    memset(&f, 0, sizeof f);
    f.id = 0x00021b36;
    f.bar0 = 0x1;
    f.bar0_size = 8;
    f.int_word = 0x0100;            /* Interrupt Pin 1 = INTA */
}

static void test_assigned_by_firmware(void)
{
    reset_function();
    f.bar0 = 0x2001;                /* U-Boot put it at I/O 0x2000 */
    f.command = 0x0005 | 0x0400;    /* I/O, bus master, INTx disabled */
    uint64_t pa = 0;
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_OK);
    CHECK(pa == BOARD_PCI_IO_BASE + 0x2000);
    CHECK(f.bar0 == 0x2001);        /* left where firmware put it */
    CHECK(f.command == 0x0005);     /* INTx back on, the rest kept */
}

static void test_unassigned_gets_the_fallback(void)
{
    reset_function();
    uint64_t pa = 0;
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_OK);
    CHECK(f.bar0 == (BOARD_PCI_UART_IO_FALLBACK | 1u));
    CHECK(pa == BOARD_PCI_IO_BASE + BOARD_PCI_UART_IO_FALLBACK);
    CHECK(f.command & 0x1);         /* I/O decoding on */
}

static void test_refusals(void)
{
    uint64_t pa = 0x1234;
    reset_function();
    f.id = 0xffffffff;              /* nothing in the slot */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_NO_DEVICE);
    reset_function();
    f.id = 0x10001af4;              /* something else */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_NO_DEVICE);
    reset_function();
    f.bar0 = 0xfe000000;            /* a memory BAR */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_BAR0_NOT_IO);
    reset_function();
    f.bar0_size = 0x10000;          /* the fallback address does not fit its size */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_BAR0_STUCK);
    reset_function();
    f.bar0 = (uint32_t)BOARD_PCI_IO_SIZE | 1u;  /* beyond the host bridge's I/O window */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_OUTSIDE_WINDOW);
    reset_function();
    f.int_word = 0x0200;            /* INTB: routed elsewhere than the profile's uart_irq */
    CHECK(pci_ecam_serial_find(&pa) == PCI_SERIAL_NOT_INTA);
    CHECK(pa == 0x1234);            /* untouched on every refusal */
    CHECK(f.command_writes == 0);   /* and nothing enabled */
}

static void test_claims(void)
{
    struct uart_claim c[2];
    CHECK(uart_locate_claims(c, 0) == 0);
    CHECK(uart_locate_claims(c, 2) == 1);
    CHECK(c[0].base == CONFIG && c[0].size == 0x1000);
}

int main(void)
{
    test_assigned_by_firmware();
    test_unassigned_gets_the_fallback();
    test_refusals();
    test_claims();
    if (failures) {
        printf("test_pci_ecam_serial: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_pci_ecam_serial: all %d checks passed\n", checks);
    return 0;
}
