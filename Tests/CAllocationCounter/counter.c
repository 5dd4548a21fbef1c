#include "CAllocationCounter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic uint64_t watched_thread;
static _Atomic uint64_t allocations;

static inline void note(void) {
    uint64_t watched = atomic_load_explicit(&watched_thread, memory_order_relaxed);
    if (watched != 0 && (uint64_t)pthread_self() == watched)
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

void amio_allocations_watch(uint64_t thread_id) {
    atomic_store(&allocations, 0);
    atomic_store(&watched_thread, thread_id);
}
uint64_t amio_allocations_count(void) { return atomic_load(&allocations); }
uint64_t amio_allocations_current_thread(void) { return (uint64_t)pthread_self(); }

/* AddressSanitizer owns malloc in sanitized builds: glibc's allocator must
 * not be slipped in under it. The counter is then off, and says so. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMIO_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define AMIO_UNDER_ASAN 1
#endif

#ifdef AMIO_UNDER_ASAN
int amio_allocations_interposed(void) { return 0; }
#else
int amio_allocations_interposed(void) { return 1; }

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void free(void *pointer) { if (pointer) note(); __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}
#endif
