#define _GNU_SOURCE
#include "CRealtimeProbe.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t watched_thread;
static _Atomic bool watched_in_cycle;
static _Atomic uint64_t counts[AMIO_PROBE_KINDS][2];

static inline void note(amio_probe_kind kind) {
    uint64_t watched = atomic_load_explicit(&watched_thread, memory_order_relaxed);
    if (watched == 0 || (uint64_t)pthread_self() != watched) return;
    atomic_fetch_add_explicit(&counts[kind][0], 1, memory_order_relaxed);
    if (atomic_load_explicit(&watched_in_cycle, memory_order_relaxed))
        atomic_fetch_add_explicit(&counts[kind][1], 1, memory_order_relaxed);
}

void amio_probe_watch(uint64_t thread_id) {
    for (int kind = 0; kind < AMIO_PROBE_KINDS; kind++) atomic_store(&counts[kind][0], 0), atomic_store(&counts[kind][1], 0);
    atomic_store(&watched_in_cycle, false);
    atomic_store(&watched_thread, thread_id);
}
uint64_t amio_probe_count(amio_probe_kind kind, bool in_cycle) { return atomic_load(&counts[kind][in_cycle ? 1 : 0]); }
uint64_t amio_probe_current_thread(void) { return (uint64_t)pthread_self(); }
int amio_probe_memory_lock_unlimited(void) {
    struct rlimit limit;
    return getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur == RLIM_INFINITY;
}
int amio_probe_name_thread(uint64_t thread_id, const char *name) { return pthread_setname_np((pthread_t)thread_id, name); }
void amio_probe_cycle(bool entering) {
    uint64_t watched = atomic_load_explicit(&watched_thread, memory_order_relaxed);
    if (watched != 0 && (uint64_t)pthread_self() == watched)
        atomic_store_explicit(&watched_in_cycle, entering, memory_order_relaxed);
}

static _Atomic uint32_t overrun_every, overrun_usecs;
static _Atomic uint64_t overrun_cycles, overrun_made;

void amio_overrun_configure(uint32_t every, uint32_t spin_usecs) {
    atomic_store(&overrun_every, 0);
    atomic_store(&overrun_cycles, 0);
    atomic_store(&overrun_made, 0);
    atomic_store(&overrun_usecs, spin_usecs);
    atomic_store(&overrun_every, every);
}
uint64_t amio_overrun_count(void) { return atomic_load(&overrun_made); }
void amio_overrun_cycle(bool entering) {
    uint32_t every = atomic_load_explicit(&overrun_every, memory_order_relaxed);
    if (entering || every == 0) return;
    if (atomic_fetch_add_explicit(&overrun_cycles, 1, memory_order_relaxed) % every != every - 1) return;
    /* Busy, not asleep: a sleep would be a wait the realtime probe counts. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t spin = (int64_t)atomic_load_explicit(&overrun_usecs, memory_order_relaxed) * 1000;
    do clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec) < spin);
    atomic_fetch_add_explicit(&overrun_made, 1, memory_order_relaxed);
}

/* AddressSanitizer and ThreadSanitizer own malloc (and intercept the
 * functions below) in sanitized builds: glibc's allocator must not be
 * slipped in under them. The probe is then off, and says so. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AMIO_UNDER_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AMIO_UNDER_SANITIZER_ALLOCATOR 1
#endif

#ifdef AMIO_UNDER_SANITIZER_ALLOCATOR
int amio_probe_interposed(void) { return 0; }
#else
int amio_probe_interposed(void) { return 1; }

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);

void *malloc(size_t size) { note(AMIO_PROBE_ALLOCATION); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(AMIO_PROBE_ALLOCATION); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(AMIO_PROBE_ALLOCATION); return __libc_realloc(pointer, size); }
void free(void *pointer) { if (pointer) note(AMIO_PROBE_ALLOCATION); __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(AMIO_PROBE_ALLOCATION); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(AMIO_PROBE_ALLOCATION); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    note(AMIO_PROBE_ALLOCATION);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

/* glibc's own, looked up once when the binary loads (dlsym may allocate:
 * never on the watched thread). */
static int (*next_mutex_lock)(pthread_mutex_t *);
static int (*next_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*next_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static int (*next_sem_wait)(sem_t *);
static int (*next_sem_timedwait)(sem_t *, const struct timespec *);
static int (*next_nanosleep)(const struct timespec *, struct timespec *);
static int (*next_clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
static int (*next_poll)(struct pollfd *, nfds_t, int);
static ssize_t (*next_read)(int, void *, size_t);
static ssize_t (*next_write)(int, const void *, size_t);
static void *(*next_mmap)(void *, size_t, int, int, int, off_t);
static int (*next_munmap)(void *, size_t);

__attribute__((constructor)) static void find_next(void) {
    next_mutex_lock = dlsym(RTLD_NEXT, "pthread_mutex_lock");
    next_cond_wait = dlsym(RTLD_NEXT, "pthread_cond_wait");
    next_cond_timedwait = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    next_sem_wait = dlsym(RTLD_NEXT, "sem_wait");
    next_sem_timedwait = dlsym(RTLD_NEXT, "sem_timedwait");
    next_nanosleep = dlsym(RTLD_NEXT, "nanosleep");
    next_clock_nanosleep = dlsym(RTLD_NEXT, "clock_nanosleep");
    next_poll = dlsym(RTLD_NEXT, "poll");
    next_read = dlsym(RTLD_NEXT, "read");
    next_write = dlsym(RTLD_NEXT, "write");
    next_mmap = dlsym(RTLD_NEXT, "mmap");
    next_munmap = dlsym(RTLD_NEXT, "munmap");
}

/* Called before the constructor by another library's constructor: look up now. */
#define NEXT(function) (next_##function != NULL ? next_##function : (find_next(), next_##function))

int pthread_mutex_lock(pthread_mutex_t *mutex) { note(AMIO_PROBE_LOCK); return NEXT(mutex_lock)(mutex); }
int pthread_cond_wait(pthread_cond_t *condition, pthread_mutex_t *mutex) {
    note(AMIO_PROBE_WAIT);
    return NEXT(cond_wait)(condition, mutex);
}
int pthread_cond_timedwait(pthread_cond_t *condition, pthread_mutex_t *mutex, const struct timespec *deadline) {
    note(AMIO_PROBE_WAIT);
    return NEXT(cond_timedwait)(condition, mutex, deadline);
}
int sem_wait(sem_t *semaphore) { note(AMIO_PROBE_WAIT); return NEXT(sem_wait)(semaphore); }
int sem_timedwait(sem_t *semaphore, const struct timespec *deadline) {
    note(AMIO_PROBE_WAIT);
    return NEXT(sem_timedwait)(semaphore, deadline);
}
int nanosleep(const struct timespec *duration, struct timespec *left) {
    note(AMIO_PROBE_WAIT);
    return NEXT(nanosleep)(duration, left);
}
int clock_nanosleep(clockid_t clock, int flags, const struct timespec *duration, struct timespec *left) {
    note(AMIO_PROBE_WAIT);
    return NEXT(clock_nanosleep)(clock, flags, duration, left);
}
int poll(struct pollfd *fds, nfds_t count, int timeout) { note(AMIO_PROBE_WAIT); return NEXT(poll)(fds, count, timeout); }
ssize_t read(int fd, void *buffer, size_t count) { note(AMIO_PROBE_IO); return NEXT(read)(fd, buffer, count); }
ssize_t write(int fd, const void *buffer, size_t count) { note(AMIO_PROBE_IO); return NEXT(write)(fd, buffer, count); }
void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    note(AMIO_PROBE_MAPPING);
    return NEXT(mmap)(address, length, protection, flags, fd, offset);
}
void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    note(AMIO_PROBE_MAPPING);
    return NEXT(mmap)(address, length, protection, flags, fd, offset);
}
int munmap(void *address, size_t length) { note(AMIO_PROBE_MAPPING); return NEXT(munmap)(address, length); }
#endif
