/* Abandon whatever ran (a faulting `go` target, a broken command) and start the
 * monitor loop again on a fresh stack. */
    .section .text, "ax"
    .globl  monitor_restart
monitor_restart:
    msr     daifset, #0xf
    ldr     x1, =__stack_top
    mov     sp, x1
    mov     x29, xzr
    mov     x30, xzr
    b       monitor_run
