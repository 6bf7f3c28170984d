/* EL2 vector table (ARM ARM D1.10.2: 16 entries of 0x80 bytes, 2 KiB aligned).
 * Nothing is expected to trap yet, so every entry reports and returns to the monitor.
 * The handler switches to a stack of its own first: the fault may be a bad SP. */

    .macro  vector_entry kind
    .balign 0x80
    msr     tpidr_el2, x0
    ldr     x0, =__exception_stack_top - (34 * 8)
    stp     x1, x2, [x0, #8]
    mov     x1, #\kind
    b       exception_common
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
    vector_entry 8      /* lower EL, AArch64: sync */
    vector_entry 9
    vector_entry 10
    vector_entry 11
    vector_entry 12     /* lower EL, AArch32 */
    vector_entry 13
    vector_entry 14
    vector_entry 15

/* Frame layout (struct exception_frame in core/exception.h): x0..x30, sp, kind. */
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
    mrs     x2, tpidr_el2
    str     x2, [x0, #0]
    mov     x2, sp
    stp     x2, x1, [x0, #248]      /* sp, kind */
    mov     sp, x0
    bl      exception_report        /* never returns */
    b       .
