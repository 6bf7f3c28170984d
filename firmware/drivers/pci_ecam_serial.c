/* The stub's UART as a PCI function behind an ECAM host bridge (QEMU virt's
 * pcie@10000000 with `-device pci-serial`; boards/qemu-virt-16550/README.md cites every
 * value). Selected by [firmware] uart_locator = "pci_ecam_serial".
 *
 * Config space: PCI Express Base Specification, "Enhanced Configuration Access Mechanism"
 * (function config space at ECAM base + (bus << 20 | device << 15 | function << 12)),
 * and the PCI Local Bus Specification 3.0, 6.1 (type 0 header: vendor/device ID at 0x00,
 * Command at 0x04, BAR0 at 0x10, Interrupt Pin at 0x3d) and 6.2.5.1 (an I/O BAR has bit 0
 * set and its address in bits 31:2). On an Arm host bridge the PCI I/O space is a CPU
 * physical window (the `ranges` entry with space code 01), so the UART's registers sit at
 * window base + BAR0 address. */
#include <stdint.h>
#include <mmio.h>   /* <>: host tests shadow it */
#include "pci_ecam_serial.h"
#include "uart_locate.h"

#if !defined(BOARD_PCI_ECAM_BASE) || !defined(BOARD_PCI_IO_BASE) || !defined(BOARD_PCI_IO_SIZE) || \
    !defined(BOARD_PCI_UART_BDF) || !defined(BOARD_PCI_UART_ID) || !defined(BOARD_PCI_UART_IO_FALLBACK)
#error "uart_locator pci_ecam_serial needs [firmware] pci_ecam_base, pci_io_base, pci_io_size, pci_uart_bdf, pci_uart_id and pci_uart_io_fallback"
#endif

#define CFG_ID          0x00    /* device ID << 16 | vendor ID */
#define CFG_COMMAND     0x04    /* 16-bit Command; Status (RW1C) in the upper half */
#define CFG_BAR0        0x10
#define CFG_INT_PIN     0x3c    /* the 32-bit word holding Interrupt Line (7:0), Pin (15:8) */

#define CMD_IO_SPACE    (1u << 0)
#define CMD_INTX_OFF    (1u << 10)  /* Interrupt Disable: INTx must stay enabled */
#define BAR_IO          (1u << 0)
#define BAR_IO_ADDRESS  0xfffffffcu
#define INT_PIN_INTA    1
#define UART_REGISTERS  8           /* the 16550's register block: 8 bytes of I/O space */

static uintptr_t config_space(void)
{
    return (uintptr_t)BOARD_PCI_ECAM_BASE + ((uintptr_t)BOARD_PCI_UART_BDF << 12);
}

static uint32_t cfg_read(uint32_t offset)
{
    return mmio_read32(config_space() + offset);
}

static void cfg_write(uint32_t offset, uint32_t v)
{
    mmio_write32(config_space() + offset, v);
}

enum pci_serial_status pci_ecam_serial_find(uint64_t *pa)
{
    if (cfg_read(CFG_ID) != (uint32_t)BOARD_PCI_UART_ID)
        return PCI_SERIAL_NO_DEVICE;
    /* The profile's uart_irq is where the host bridge's interrupt-map sends this slot's
     * INTA; another pin would arrive elsewhere. */
    if (((cfg_read(CFG_INT_PIN) >> 8) & 0xff) != INT_PIN_INTA)
        return PCI_SERIAL_NOT_INTA;
    uint32_t bar = cfg_read(CFG_BAR0);
    if (!(bar & BAR_IO))
        return PCI_SERIAL_BAR0_NOT_IO;
    uint64_t io = bar & BAR_IO_ADDRESS;
    if (io == 0) {
        /* Firmware that does not enumerate PCI leaves BAR0 at 0: place it ourselves. */
        cfg_write(CFG_BAR0, (uint32_t)BOARD_PCI_UART_IO_FALLBACK);
        io = cfg_read(CFG_BAR0) & BAR_IO_ADDRESS;
        if (io != (uint64_t)BOARD_PCI_UART_IO_FALLBACK)
            return PCI_SERIAL_BAR0_STUCK;
    }
    if (io + UART_REGISTERS > (uint64_t)BOARD_PCI_IO_SIZE)
        return PCI_SERIAL_OUTSIDE_WINDOW;
    /* Decode I/O space, and let INTx through. Writing the Status half as 0 leaves its
     * RW1C bits alone. */
    uint32_t command = cfg_read(CFG_COMMAND) & 0xffff;
    cfg_write(CFG_COMMAND, (command | CMD_IO_SPACE) & ~CMD_INTX_OFF);
    *pa = (uint64_t)BOARD_PCI_IO_BASE + io;
    return PCI_SERIAL_OK;
}

#if defined(__aarch64__)
uintptr_t uart_locate(void)
{
    uint64_t pa;
    if (pci_ecam_serial_find(&pa) == PCI_SERIAL_OK)
        return (uintptr_t)pa;
    /* No line to report on: park this core. The host's bring-up names the device it
     * expected when the stub's banner does not come. */
    for (;;)
        __asm__ volatile("wfe");
}
#endif

unsigned uart_locate_claims(struct uart_claim *out, unsigned room)
{
    if (room == 0)
        return 0;
    out[0] = (struct uart_claim){config_space(), 0x1000};
    return 1;
}
