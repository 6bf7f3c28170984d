#include "ring.h"

uint32_t ring_put(struct byte_ring *r, const uint8_t *data, uint32_t n)
{
    uint32_t head = r->head, done = 0;
    while (done < n && head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) < BYTE_RING_SIZE)
        r->data[head++ % BYTE_RING_SIZE] = data[done++];
    __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
    return done;
}

uint32_t ring_get(struct byte_ring *r, uint8_t *data, uint32_t n)
{
    uint32_t tail = r->tail, done = 0;
    while (done < n && tail != __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
        data[done++] = r->data[tail++ % BYTE_RING_SIZE];
    __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
    return done;
}
