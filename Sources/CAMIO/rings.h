/*
 * Lock-free single-producer/single-consumer rings, sized at creation.
 * Head and tail are free-running 64-bit counters on their own cache lines;
 * the producer publishes with release, the consumer observes with acquire.
 */
#ifndef CAMIO_RINGS_H
#define CAMIO_RINGS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CAMIO_CACHE_LINE 64

/// A ring of fixed-size elements.
typedef struct camio_spsc {
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint64_t head; /* written by the producer */
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint64_t tail; /* written by the consumer */
    _Alignas(CAMIO_CACHE_LINE) uint8_t *storage;
    uint64_t mask;
    uint32_t element_size;
} camio_spsc;

/// A ring of bytes holding variable-length records that may wrap around.
typedef struct camio_byte_ring {
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint64_t head;
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint64_t tail;
    _Alignas(CAMIO_CACHE_LINE) uint8_t *storage;
    uint64_t mask;
} camio_byte_ring;

static inline uint64_t camio_next_power_of_two(uint64_t v) {
    uint64_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

/* --- fixed-size element ring ------------------------------------------- */

bool camio_spsc_init(camio_spsc *ring, uint32_t capacity, uint32_t element_size);
void camio_spsc_free(camio_spsc *ring);

static inline bool camio_spsc_push(camio_spsc *ring, const void *element) {
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (head - tail > ring->mask) return false;
    memcpy(ring->storage + (head & ring->mask) * ring->element_size, element, ring->element_size);
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
    return true;
}

static inline bool camio_spsc_pop(camio_spsc *ring, void *element) {
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    if (head == tail) return false;
    memcpy(element, ring->storage + (tail & ring->mask) * ring->element_size, ring->element_size);
    atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
    return true;
}

/* --- byte ring ----------------------------------------------------------- */

bool camio_byte_ring_init(camio_byte_ring *ring, uint64_t capacity_bytes);
void camio_byte_ring_free(camio_byte_ring *ring);

static inline uint64_t camio_byte_ring_free_space(const camio_byte_ring *ring) {
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&((camio_byte_ring *)ring)->tail, memory_order_acquire);
    return ring->mask + 1 - (head - tail);
}

static inline uint64_t camio_byte_ring_readable(camio_byte_ring *ring) {
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    return head - tail;
}

/// Copies `size` bytes to ring offset `at` (a free-running counter), wrapping.
static inline void camio_byte_ring_copy_in(camio_byte_ring *ring, uint64_t at, const void *src,
                                           uint64_t size) {
    uint64_t capacity = ring->mask + 1;
    uint64_t start = at & ring->mask;
    uint64_t first = size < capacity - start ? size : capacity - start;
    memcpy(ring->storage + start, src, first);
    if (first < size) memcpy(ring->storage, (const uint8_t *)src + first, size - first);
}

static inline void camio_byte_ring_copy_out(const camio_byte_ring *ring, uint64_t at, void *dst,
                                            uint64_t size) {
    uint64_t capacity = ring->mask + 1;
    uint64_t start = at & ring->mask;
    uint64_t first = size < capacity - start ? size : capacity - start;
    memcpy(dst, ring->storage + start, first);
    if (first < size) memcpy((uint8_t *)dst + first, ring->storage, size - first);
}

#endif /* CAMIO_RINGS_H */
