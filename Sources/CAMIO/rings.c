#include "rings.h"
#include "camio.h"

#include <stdlib.h>

bool camio_spsc_init(camio_spsc *ring, uint32_t capacity, uint32_t element_size) {
    uint64_t slots = camio_next_power_of_two(capacity < 2 ? 2 : capacity);
    ring->storage = camio_alloc_pages(slots * element_size);
    if (ring->storage == NULL) return false;
    ring->mask = slots - 1;
    ring->element_size = element_size;
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    return true;
}

void camio_spsc_free(camio_spsc *ring) {
    free(ring->storage);
    ring->storage = NULL;
}

bool camio_byte_ring_init(camio_byte_ring *ring, uint64_t capacity_bytes) {
    uint64_t size = camio_next_power_of_two(capacity_bytes < 4096 ? 4096 : capacity_bytes);
    ring->storage = camio_alloc_pages(size);
    if (ring->storage == NULL) return false;
    ring->mask = size - 1;
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    return true;
}

void camio_byte_ring_free(camio_byte_ring *ring) {
    free(ring->storage);
    ring->storage = NULL;
}
