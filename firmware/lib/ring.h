/* A byte ring between two cores: single producer, single consumer, no lock, only
 * ordered indexes. The VMM passes console bytes through these between a guest's core
 * and the boot core. */
#ifndef HVMON_RING_H
#define HVMON_RING_H

#include <stdint.h>

#define BYTE_RING_SIZE 4096

struct byte_ring {
    volatile uint32_t head, tail;    /* free-running; index with % BYTE_RING_SIZE */
    uint8_t data[BYTE_RING_SIZE];
};

/* Producer side: how many of the n bytes fitted. */
uint32_t ring_put(struct byte_ring *r, const uint8_t *data, uint32_t n);
/* Consumer side: how many bytes (at most n) were taken. */
uint32_t ring_get(struct byte_ring *r, uint8_t *data, uint32_t n);

#endif
