/* EL2 vector table (ARM ARM D1.10.2: 16 entries of 0x80 bytes, 2 KiB aligned).
 * Exceptions from EL2 itself are faults of the stub: reported, then the core goes back to
 * its main loop. The handler switches to this core's exception stack first (the fault may
 * be a bad SP), using SP_EL0 as scratch -- a guest's SP_EL0 is lost then, but a fault in
 * the stub on a guest's core ends that guest anyway. Exceptions from lower ELs are guest
 * exits: x0..x30 go to this core's struct percpu (TPIDR_EL2) and the handler the VMM
 * installed in guest_exit_handler (arch/aarch64/entry.h) decides. */

#include "percpu.h"

    .macro  vector_entry kind
    .balign 0x80
    msr     sp_el0, x0
    mrs     x0, tpidr_el2
    ldr     x0, [x0, #PERCPU_EXC_STACK_TOP]
    sub     x0, x0, #(34 * 8)
    stp     x1, x2, [x0, #8]
    mov     x1, #\kind
    b       exception_common
    .endm

    .macro  guest_entry kind
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mrs     x0, tpidr_el2
    mov     x1, #\kind
    b       guest_exit
    .endm

    .section .text, "ax"
    .balign 0x800
    .globl  el2_vectors
el2_vectors:
    vector_entry 0      /* current EL, SP_EL0: sync */
    vector_entry 1      /* IRQ */
    vector_entry 2      /* FIQ */
    vector_entry 3      /* SError */
    vector_entry 4      /* current EL, SP_ELx: sync */
    vector_entry 5
    vector_entry 6
    vector_entry 7
    guest_entry 8       /* lower EL, AArch64: sync */
    guest_entry 9       /* IRQ */
    guest_entry 10      /* FIQ */
    guest_entry 11      /* SError */
    vector_entry 12     /* lower EL, AArch32: guests are AArch64 only */
    vector_entry 13
    vector_entry 14
    vector_entry 15

/* x0 = percpu, x1 = slot, the guest's x0/x1 on the stack. */
guest_exit:
    stp     x2, x3, [x0, #16]
    stp     x4, x5, [x0, #32]
    stp     x6, x7, [x0, #48]
    stp     x8, x9, [x0, #64]
    stp     x10, x11, [x0, #80]
    stp     x12, x13, [x0, #96]
    stp     x14, x15, [x0, #112]
    stp     x16, x17, [x0, #128]
    stp     x18, x19, [x0, #144]
    stp     x20, x21, [x0, #160]
    stp     x22, x23, [x0, #176]
    stp     x24, x25, [x0, #192]
    stp     x26, x27, [x0, #208]
    stp     x28, x29, [x0, #224]
    str     x30, [x0, #240]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #0]
    ldr     x2, =guest_exit_handler
    ldr     x2, [x2]
    blr     x2                      /* returns when the guest may go on */
    mrs     x0, tpidr_el2
    /* fall through */

/* Enter or re-enter the guest from struct percpu at x0 (ELR/SPSR already set). */
    .globl  guest_resume
guest_resume:
    ldp     x2, x3, [x0, #16]
    ldp     x4, x5, [x0, #32]
    ldp     x6, x7, [x0, #48]
    ldp     x8, x9, [x0, #64]
    ldp     x10, x11, [x0, #80]
    ldp     x12, x13, [x0, #96]
    ldp     x14, x15, [x0, #112]
    ldp     x16, x17, [x0, #128]
    ldp     x18, x19, [x0, #144]
    ldp     x20, x21, [x0, #160]
    ldp     x22, x23, [x0, #176]
    ldp     x24, x25, [x0, #192]
    ldp     x26, x27, [x0, #208]
    ldp     x28, x29, [x0, #224]
    ldr     x30, [x0, #240]
    ldp     x0, x1, [x0, #0]
    eret

/* Frame layout (struct exception_frame in exception.h): x0..x30, sp, kind. */
exception_common:
    /* x0 = frame, x1 = kind, x1/x2 of the interrupted code already at frame+8. */
    stp     x3, x4, [x0, #24]
    stp     x5, x6, [x0, #40]
    stp     x7, x8, [x0, #56]
    stp     x9, x10, [x0, #72]
    stp     x11, x12, [x0, #88]
    stp     x13, x14, [x0, #104]
    stp     x15, x16, [x0, #120]
    stp     x17, x18, [x0, #136]
    stp     x19, x20, [x0, #152]
    stp     x21, x22, [x0, #168]
    stp     x23, x24, [x0, #184]
    stp     x25, x26, [x0, #200]
    stp     x27, x28, [x0, #216]
    stp     x29, x30, [x0, #232]
    mrs     x2, sp_el0
    str     x2, [x0, #0]
    mov     x2, sp
    stp     x2, x1, [x0, #248]      /* sp, kind */
    mov     sp, x0
    bl      exception_report        /* never returns */
    b       .

/* Set once at start-up, before any guest core starts (in .bss: the image stays as loaded). */
    .section .bss
    .balign 8
    .globl  guest_exit_handler
guest_exit_handler:
    .quad   0
