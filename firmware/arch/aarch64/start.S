#include "el2_mmu.h"
#include "percpu.h"

/* Entry from the boot loader. U-Boot's booti follows Linux's arm64 boot protocol
 * (Documentation/arch/arm64/booting.rst): x0 = DTB, MMU and D-cache off, IRQs masked. */

    .section .text.head, "ax"
    .globl _start
_start:
    b       entry                   /* code0 */
    .word   0                       /* code1 */
    .quad   __text_offset           /* text_offset */
    .quad   __image_size            /* image_size */
    .quad   0xa                     /* flags: little-endian, 4 KiB pages, any 2 MiB base */
    .quad   0, 0, 0                 /* res2..res4 */
    .ascii  "ARM\x64"               /* magic */
    .word   0                       /* res5 (no PE header) */

entry:
    msr     daifset, #0xf
    mov     x19, x0                 /* DTB from the boot loader */

    /* Absolute addresses below (stack, BSS) are only right at the link address. A boot
     * loader that moved the image would make us scribble over someone else's memory,
     * so say so on the boot loader's own stack and stop. */
    adr     x1, _start
    ldr     x2, =_start
    cmp     x1, x2
    b.eq    1f
    mov     x0, x1
    mov     x1, x2
    bl      report_wrong_load_address
    b       halt
1:
    ldr     x1, =__stack_top
    mov     sp, x1
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
2:  cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b
3:
    mrs     x1, CurrentEL
    ubfx    x1, x1, #2, #2
    cmp     x1, #2
    b.ne    4f
    /* EL2: install our vectors before anything can fault. */
    mov     x20, x1
    bl      percpu_init_boot        /* TPIDR_EL2 first: the vectors rely on it */
    mov     x1, x20
    ldr     x2, =el2_vectors
    msr     vbar_el2, x2
    isb
4:
    mov     x0, x19
    bl      stub_main               /* x0 = DTB, x1 = exception level */
halt:
    wfe
    b       halt

/* A core started by the stub through PSCI CPU_ON (Arm DEN0022, 5.6): it arrives at EL2
 * with the MMU and caches off and x0 = the context id we passed, its struct percpu.
 *
 * It switches its MMU on with the boot core's tables before it reads or writes anything
 * the boot core shares with it. With the MMU off its data accesses are Device-nGnRnE:
 * they bypass the caches, where the boot core (caches on) may hold the newest copy of a
 * line dirty, and its stores would go to memory under a line others still cache. The
 * architecture keeps memory coherent only for accesses that use the same attributes
 * (Arm ARM B2, "Mismatched memory attributes"; D7, "The AArch64 System Level Memory
 * Model"): so the first thing this core reads is el2_mmu_boot_regs, which the boot core
 * wrote with its own MMU off and never since (in memory, whatever any cache holds), and
 * the rest comes after SCTLR_EL2.M/C/I, through the same Normal write-back inner
 * shareable mapping the boot core uses. No stack until then. */
    .globl  secondary_entry
secondary_entry:
    msr     daifset, #0xf
    ldr     x1, =el2_mmu_boot_regs
    ldr     x2, [x1, #EL2_MMU_REGS_MAIR]
    ldr     x3, [x1, #EL2_MMU_REGS_TCR]
    ldr     x4, [x1, #EL2_MMU_REGS_TTBR]
    ldr     x5, [x1, #EL2_MMU_REGS_SCTLR]
    tlbi    alle2                   /* nothing left from an earlier life of this core */
    dsb     nsh
    msr     mair_el2, x2
    msr     tcr_el2, x3
    msr     ttbr0_el2, x4
    isb                             /* the above before the MMU is on (D8) */
    ic      iallu
    dsb     nsh
    isb
    msr     sctlr_el2, x5           /* M, C, I: same tables and attributes as the boot core */
    isb
    msr     tpidr_el2, x0
    ldr     x1, [x0, #PERCPU_STACK_TOP]
    mov     sp, x1
    ldr     x2, =el2_vectors
    msr     vbar_el2, x2
    isb
    bl      secondary_main          /* x0 = percpu; never returns */
    b       halt
