/* A 16550 behind a PCI function, found through ECAM: the stub's UART on QEMU's virt board
 * with `-device pci-serial` (boards/qemu-virt-16550). */
#ifndef HVMON_PCI_ECAM_SERIAL_H
#define HVMON_PCI_ECAM_SERIAL_H

#include <stdint.h>

enum pci_serial_status {
    PCI_SERIAL_OK = 0,
    PCI_SERIAL_NO_DEVICE = -1,      /* vendor/device ID at the profile's BDF differ */
    PCI_SERIAL_BAR0_NOT_IO = -2,    /* BAR0 decodes memory, not I/O space */
    PCI_SERIAL_BAR0_STUCK = -3,     /* the fallback address did not stick in BAR0 */
    PCI_SERIAL_OUTSIDE_WINDOW = -4, /* BAR0 beyond the host bridge's I/O window */
    PCI_SERIAL_NOT_INTA = -5,       /* the profile's uart_irq is INTA's route */
};

/* Check the function at the profile's BDF, assign BAR0 from the profile's fallback if
 * the boot loader left it unassigned, turn on I/O decoding and return the registers'
 * CPU physical address (I/O window base + BAR0 address) in *pa. */
enum pci_serial_status pci_ecam_serial_find(uint64_t *pa);

#endif
