/* Data- and instruction-cache maintenance by address range, for the places that hand
 * memory between observers with different views of it (Arm ARM D7, "The AArch64 System
 * Level Memory Model": cache support and cache maintenance instructions):
 *
 *  - the stub (EL2, MMU and caches on: Normal write-back, inner shareable) and a guest
 *    core whose MMU is still off (its data accesses are Device-nGnRnE and its
 *    instruction fetches non-cacheable, so both read memory at the Point of Coherency,
 *    not the caches): clean to PoC (DC CVAC / DC CIVAC);
 *  - data the stub wrote and then executes (`go`, JUMP): clean to the Point of
 *    Unification and invalidate the instruction cache (DC CVAU + DSB + IC + DSB + ISB);
 *    the stub cleans to PoC, which is at least as far as PoU;
 *  - memory written while this core's caches were off, to be read with them on: invalidate
 *    (DC IVAC) so no line left from before hides what reached memory.
 *
 * Every operation here works on virtual addresses, which the stub's identity map makes
 * physical ones. Maintenance by VA to PoC is broadcast to every cache in the shareability
 * domain, which is what makes it correct with other cores and a system cache (set/way
 * operations are not: they are for power management only). The DSB after each loop is
 * what makes the maintenance complete before anything that depends on it (Arm ARM D7,
 * "Ordering and completion of data and instruction cache instructions").
 *
 * tests/fuzz/host/cache.h shadows this file for the host builds (bench/hoststub,
 * tests/fuzz): include it as <cache.h>. */
#ifndef HVMON_CACHE_H
#define HVMON_CACHE_H

#include <stdint.h>

/* Smallest data-cache line in the system: CTR_EL0.DminLine is log2 of the number of
 * words (Arm ARM D17, CTR_EL0). Walking ranges by it covers every line. */
static inline uint64_t dcache_line_size(void)
{
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    return 4UL << ((ctr >> 16) & 0xF);
}

#define HVMON_DC_RANGE(op, barrier, start, size)                               \
    do {                                                                       \
        uint64_t _line = dcache_line_size();                                   \
        uint64_t _p = (uint64_t)(start) & ~(_line - 1);                        \
        uint64_t _end = (uint64_t)(start) + (uint64_t)(size);                  \
        for (; _p < _end; _p += _line)                                         \
            __asm__ volatile("dc " op ", %0" : : "r"(_p) : "memory");          \
        __asm__ volatile("dsb " barrier ::: "memory");                         \
    } while (0)

/* Write dirty lines of [start, start+size) back to PoC; the lines stay valid. For data a
 * non-coherent observer reads from memory next: a guest core with its MMU off. DSB SY: the
 * observer is outside the stub's inner shareable view of memory. */
static inline void dcache_clean_poc(const volatile void *start, uint64_t size)
{
    HVMON_DC_RANGE("cvac", "sy", (uintptr_t)start, size);
}

/* Clean to PoC and drop the lines from every cache: nothing of the range is left to be
 * evicted later over what someone writes to memory past the caches, and the next read
 * with caches on fetches what memory holds. */
static inline void dcache_clean_inval_poc(const volatile void *start, uint64_t size)
{
    HVMON_DC_RANGE("civac", "sy", (uintptr_t)start, size);
}

/* Drop the lines without writing them back: only for memory written with the caches off
 * (so every line of it is stale, and memory holds the truth). DC IVAC on a line some
 * cache holds dirty would lose that data, which is why nothing else uses it. */
static inline void dcache_inval_poc(const volatile void *start, uint64_t size)
{
    HVMON_DC_RANGE("ivac", "sy", (uintptr_t)start, size);
}

/* Zero [start, start+size) with DC ZVA where DCZID_EL0 allows it (whole blocks, Normal
 * memory only: the caller maps it so), plain stores elsewhere. DC ZVA writes a block
 * without reading it first: the fast way to scrub a VM's RAM. */
static inline void dcache_zero(volatile void *start, uint64_t size)
{
    uint64_t dczid;
    __asm__ volatile("mrs %0, dczid_el0" : "=r"(dczid));
    uint64_t p = (uintptr_t)start, end = p + size;
    if (!(dczid & 0x10)) {                         /* DZP clear: DC ZVA permitted */
        uint64_t block = 4UL << (dczid & 0xF);
        for (; p < end && (p & (block - 1)); p++)
            *(volatile uint8_t *)p = 0;
        for (; end - p >= block; p += block)
            __asm__ volatile("dc zva, %0" : : "r"(p) : "memory");
    }
    for (; p < end; p++)
        *(volatile uint8_t *)p = 0;
    __asm__ volatile("dsb ish" ::: "memory");
}

/* This core's instruction cache: IC IALLU, then DSB and ISB so no instruction fetched
 * after this comes from a line of before (Arm ARM D7, instruction cache maintenance;
 * B2, "Concurrent modification and execution of instructions"). The data side must
 * already be clean to PoU: every path that writes code cleans what it wrote. */
static inline void icache_inval_local(void)
{
    __asm__ volatile("dsb ish\n\tic iallu\n\tdsb nsh\n\tisb" ::: "memory");
}

#endif
