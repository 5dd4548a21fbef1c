/*
 * A deliberately unsafe process thread, for tests only: each detector of the
 * realtime-safety test (allocation, locks, waits, I/O, mappings, page faults)
 * is shown to fire on the very thread it watches, so a test that finds
 * nothing on the real process thread could have found something.
 */
#include "engine_internal.h"

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { MISBEHAVIOUR_PAGES = 4096 }; /* faults for 4096 cycles, then starts over in vain */

bool camio_engine_misbehave_for_testing(camio_engine *engine, camio_misbehaviour misbehaviour) {
    if (engine->misbehaviour_pages == NULL) {
        /* Set up once, torn down by camio_engine_destroy: the process thread
         * may still be using them when the test switches misbehaviours. */
        pthread_mutex_init(&engine->misbehaviour_mutex, NULL);
        pthread_cond_init(&engine->misbehaviour_condition, NULL);
        sem_init(&engine->misbehaviour_semaphore, 0, 0);
        engine->misbehaviour_read_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        engine->misbehaviour_write_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        size_t size = (size_t)MISBEHAVIOUR_PAGES * (size_t)sysconf(_SC_PAGESIZE);
        void *pages = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages == MAP_FAILED || engine->misbehaviour_read_fd < 0 || engine->misbehaviour_write_fd < 0) return false;
        /* Small pages, one fault each: with transparent huge pages set to
         * "always" one fault would map 512 of them. */
        madvise(pages, size, MADV_NOHUGEPAGE);
        engine->misbehaviour_pages = pages;
        engine->misbehaviour_pages_size = size;
    }
    atomic_store_explicit(&engine->misbehaviour, (uint32_t)misbehaviour, memory_order_release);
    return true;
}

void camio_engine_misbehave(camio_engine *engine, camio_misbehaviour misbehaviour) {
    switch (misbehaviour) {
    case CAMIO_BEHAVE: break;
    case CAMIO_MISBEHAVE_ALLOCATE: {
        void *volatile memory = malloc(64);
        free(memory);
        break;
    }
    case CAMIO_MISBEHAVE_LOCK:
        pthread_mutex_lock(&engine->misbehaviour_mutex);
        pthread_mutex_unlock(&engine->misbehaviour_mutex);
        break;
    case CAMIO_MISBEHAVE_WAIT: {
        sem_post(&engine->misbehaviour_semaphore);
        sem_wait(&engine->misbehaviour_semaphore);
        struct timespec past = {0, 0};
        pthread_mutex_lock(&engine->misbehaviour_mutex);
        pthread_cond_timedwait(&engine->misbehaviour_condition, &engine->misbehaviour_mutex, &past);
        pthread_mutex_unlock(&engine->misbehaviour_mutex);
        struct timespec none = {0, 0};
        nanosleep(&none, NULL);
        poll(NULL, 0, 0);
        break;
    }
    case CAMIO_MISBEHAVE_READ: {
        char byte;
        (void)!read(engine->misbehaviour_read_fd, &byte, 1);
        break;
    }
    case CAMIO_MISBEHAVE_WRITE:
        (void)!write(engine->misbehaviour_write_fd, "", 1);
        break;
    case CAMIO_MISBEHAVE_MAP: {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page != MAP_FAILED) munmap(page, 4096);
        break;
    }
    case CAMIO_MISBEHAVE_FAULT: {
        size_t page = engine->misbehaviour_pages_size / MISBEHAVIOUR_PAGES;
        size_t offset = engine->misbehaviour_pages_touched * page % engine->misbehaviour_pages_size;
        engine->misbehaviour_pages[offset] = 1;
        engine->misbehaviour_pages_touched++;
        break;
    }
    }
}
