#ifndef HVMON_PSCI_H
#define HVMON_PSCI_H

#include <stdint.h>

/* Function ids: Arm Power State Coordination Interface (DEN0022D), table 5.1. */
#define PSCI_VERSION        0x84000000u
#define PSCI_CPU_SUSPEND    0xC4000001u
#define PSCI_CPU_OFF        0x84000002u
#define PSCI_CPU_ON         0xC4000003u
#define PSCI_AFFINITY_INFO  0xC4000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_FEATURES       0x8400000Au
#define PSCI_SYSTEM_OFF     0x84000008u
#define PSCI_SYSTEM_RESET   0x84000009u
#define PSCI_CPU_SUSPEND_32 0x84000001u
#define PSCI_CPU_ON_32      0x84000003u
#define PSCI_AFFINITY_INFO_32 0x84000004u
#define SMCCC_VERSION       0x80000000u
#define PSCI_RET_SUCCESS    0
#define PSCI_RET_NOT_SUPPORTED (-1)
#define PSCI_RET_INVALID_PARAMS (-2)
#define PSCI_RET_ALREADY_ON (-4)

/* SMC with the SMCCC register convention (DEN0028): id in x0, result in x0. Both
 * boards reach PSCI firmware with SMC from EL2 (QEMU virt: hw/arm/virt.c picks the SMC
 * conduit when virtualization=on; RK3588: TF-A BL31). */
int64_t psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
