/* A test-and-test-and-set lock for the few places where two cores touch the same state
 * (a VM's console model: its guest's core and the boot core feeding it input). Spins
 * on a plain read so a waiting core does not keep taking the cache line away. */
#ifndef HVMON_SPINLOCK_H
#define HVMON_SPINLOCK_H

#include <stdint.h>

static inline void spin_lock(volatile uint32_t *lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
        while (*lock)
            ;
}

static inline void spin_unlock(volatile uint32_t *lock)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

#endif
