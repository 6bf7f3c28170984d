#ifndef HVMON_PSCI_H
#define HVMON_PSCI_H

#include <stdint.h>

/* Function ids: Arm Power State Coordination Interface (DEN0022D), table 5.1. */
#define PSCI_VERSION        0x84000000u
#define PSCI_SYSTEM_OFF     0x84000008u
#define PSCI_SYSTEM_RESET   0x84000009u

/* SMC with the SMCCC register convention (DEN0028): id in x0, result in x0. Both
 * boards reach PSCI firmware with SMC from EL2 (QEMU virt: hw/arm/virt.c picks the SMC
 * conduit when virtualization=on; RK3588: TF-A BL31). */
int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
