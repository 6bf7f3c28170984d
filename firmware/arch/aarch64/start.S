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
 * with the MMU off and x0 = the context id we passed, its struct percpu. */
    .globl  secondary_entry
secondary_entry:
    msr     daifset, #0xf
    msr     tpidr_el2, x0
    ldr     x1, [x0, #PERCPU_STACK_TOP]
    mov     sp, x1
    ldr     x2, =el2_vectors
    msr     vbar_el2, x2
    isb
    bl      secondary_main          /* x0 = percpu; never returns */
    b       halt
