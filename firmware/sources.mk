# Every firmware source by folder, relative to firmware/. The image (firmware/Makefile)
# and the host builds of the same code (bench/hoststub, tests/fuzz) include this file, so
# a file added to a folder is added here once. The *_HOST lists are the part of a folder
# that also compiles for the host; the rest is assembly, code that only runs on a guest's
# core, the UART byte layer or libc, which the host harnesses provide themselves.
# Folder order is layer order (firmware/README.md): each calls only those before it.

FW_LIB_HOST := lib/print.c lib/fdt.c lib/crc32.c lib/ring.c
FW_LIB := $(FW_LIB_HOST) lib/libc.c

# Needs UART from the board profile: drivers/uart_$(UART).c. A board whose UART is found
# at run time names its locator (UART_LOCATOR, [firmware] uart_locator), one of these:
FW_UART_LOCATORS := drivers/pci_ecam_serial.c
FW_DRIVERS = drivers/uart_$(UART).c $(if $(UART_LOCATOR),$(or \
	$(filter drivers/$(UART_LOCATOR).c,$(FW_UART_LOCATORS)),\
	$(error [firmware] uart_locator = "$(UART_LOCATOR)": no such locator, known: $(FW_UART_LOCATORS))))

FW_ARCH_HOST := arch/aarch64/stage2.c arch/aarch64/gicv3.c arch/aarch64/percpu.c \
	arch/aarch64/exception.c arch/aarch64/el2_mmu.c
FW_ARCH := arch/aarch64/start.S arch/aarch64/vectors.S arch/aarch64/restart.S \
	arch/aarch64/psci.c arch/aarch64/idle.c arch/aarch64/guest_tlbi.c arch/aarch64/guest_state.c \
	arch/aarch64/guest_context.c \
	$(FW_ARCH_HOST)

# The device models a guest sees: beside the architecture they emulate, but they work on
# the VMM's struct vm, so they sit in the vmm layer.
FW_EMUL := arch/aarch64/emul/vgic.c arch/aarch64/emul/vpl011.c

FW_VMM_HOST := vmm/memmap.c vmm/hypercall.c vmm/vm.c vmm/ivc.c vmm/console.c vmm/vm_pause.c \
	vmm/snapshot.c vmm/snapshot_check.c vmm/snapshot_install.c
FW_VMM := $(FW_VMM_HOST) vmm/vcpu.c

FW_LINK_HOST := link/session.c link/requests.c link/cobs.c link/crc32c.c link/inflate.c link/unlzma.c link/deflate.c
FW_LINK := link/link.c $(FW_LINK_HOST)

FW_MONITOR := monitor/monitor.c monitor/readline.c monitor/commands.c monitor/parse.c

FW_MAIN := main.c

FW_SRCS = $(FW_ARCH) $(FW_MAIN) $(FW_MONITOR) $(FW_LIB) $(FW_VMM) $(FW_LINK) $(FW_EMUL) $(FW_DRIVERS)
# The link engine and what it calls, for the host: tests/fuzz; bench/hoststub adds the monitor.
FW_HOST_SRCS := $(FW_LINK_HOST) $(FW_LIB_HOST) $(FW_VMM_HOST) $(FW_EMUL) $(FW_ARCH_HOST)

# Every folder is on the include path; headers are named without their folder, so no two
# may share a name (tests/unit/test_firmware_layers.py checks this).
FW_INCLUDE_DIRS := arch/aarch64 arch/aarch64/emul vmm link monitor lib drivers
