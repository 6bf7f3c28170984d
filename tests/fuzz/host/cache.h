/* Host shadow of firmware/arch/aarch64/cache.h for the host builds (tests/fuzz,
 * bench/hoststub, tests/native): a host has coherent caches the program never maintains,
 * so cleaning and invalidating do nothing; zeroing still zeroes. */
#ifndef HVMON_CACHE_H
#define HVMON_CACHE_H

#include <stdint.h>
#include <string.h>

static inline uint64_t dcache_line_size(void) { return 64; }
static inline void dcache_clean_poc(const volatile void *p, uint64_t n) { (void)p; (void)n; }
static inline void dcache_clean_inval_poc(const volatile void *p, uint64_t n) { (void)p; (void)n; }
static inline void dcache_inval_poc(const volatile void *p, uint64_t n) { (void)p; (void)n; }
static inline void dcache_zero(volatile void *p, uint64_t n) { memset((void *)p, 0, n); }
static inline void icache_inval_local(void) {}

#endif
