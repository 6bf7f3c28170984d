/* The hostile guest's entry: an arm64 Image header (Linux Documentation/arch/arm64/
 * booting.rst, "Call the kernel image": 64 bytes, magic "ARM\x64" at 0x38), a stack, and
 * the few things C cannot say: SIMD registers, an EL1 vector table that steps over faults. */
    .section .head, "ax"
    .globl  _start
_start:
    b       entry                   /* code0 */
    .long   0                       /* code1 */
    .quad   0                       /* text_offset: at the start of the 2 MiB block */
    .quad   __image_size            /* image_size: what the host must keep free (bss too) */
    .quad   0x2                     /* flags: little endian, 4 KiB pages, 2 MiB placement */
    .quad   0, 0, 0                 /* res2..res4 */
    .ascii  "ARM\x64"               /* magic */
    .long   0                       /* res5 (PE header offset: none) */

entry:
    mov     x19, x0                 /* the DTB's IPA (booting.rst: x0) */
    ldr     x1, =__stack_top
    mov     sp, x1
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  mov     x0, x19
    bl      hostile_main
3:  wfi
    b       3b

    .text
/* Fill v0..v31 with the marker in x0 (both halves), FPCR with x1, FPSR with x2. */
    .globl  simd_mark
simd_mark:
    dup     v0.2d, x0
    .irp    n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    mov     v\n\().16b, v0.16b
    .endr
    msr     fpcr, x1
    msr     fpsr, x2
    ret

/* Store q0..q31 (32 x 16 bytes) at x0; FPCR and FPSR after them. */
    .globl  simd_read
simd_read:
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    str     q\n, [x0], #16
    .endr
    mrs     x1, fpcr
    mrs     x2, fpsr
    stp     x1, x2, [x0]
    ret

/* faults_forever: an EL1 vector table whose synchronous entry (current EL, SP_ELx: offset
 * 0x200, ARM ARM D1.10.2) counts the exception in x10 (caller-saved, like its scratch
 * x9) and steps over the faulting
 * instruction; then an undefined instruction in a loop. x0 = how many (0: for ever),
 * returns the count. None of this reaches EL2: the stub only sees the host's stop. */
    .globl  fault_loop
fault_loop:
    mov     x10, #0
    mov     x11, x0
    adr     x1, el1_vectors
    msr     vbar_el1, x1
    isb
1:  udf     #0
    cbz     x11, 1b
    cmp     x10, x11
    b.lo    1b
    mov     x0, x10
    ret

    .balign 0x800
el1_vectors:
    .skip   0x200
    mrs     x9, elr_el1
    add     x9, x9, #4
    msr     elr_el1, x9
    add     x10, x10, #1
    eret
    .skip   0x600 - 20
