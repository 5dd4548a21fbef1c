/*
 * Memory the process thread touches, made resident before it runs.
 *
 * A page the process thread touches for the first time costs a page fault
 * (a trip into the kernel, microseconds, possibly a wait on the allocator's
 * lock there), and a page swapped out costs a disk read. calloc'd memory of
 * any size is such a page until first written: large blocks come straight
 * from mmap, and the kernel maps the shared zero page until the first write.
 * So every page is written once here, on the control thread, and then locked
 * (mlock) when RLIMIT_MEMLOCK allows it; when it does not, the pages are
 * still resident, only no longer guaranteed to stay.
 *
 * mlock works on whole pages and does not count: one munlock undoes any
 * number of locks. So only the pages wholly inside a block are locked and
 * later unlocked, never a page it shares with a neighbouring allocation
 * (which freeing the block would otherwise unlock under the neighbour). The
 * engine's and the playspecs' blocks come from camio_alloc_pages, whole
 * pages of their own, so all of them is locked.
 */
#include "camio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) {
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (size_t)size : 4096;
}

/* The whole pages inside [memory, memory + size); false when there are none. */
static bool inner_pages(void *memory, size_t size, void **first, size_t *length) {
    uintptr_t page = page_size();
    uintptr_t start = ((uintptr_t)memory + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)memory + size) & ~(page - 1);
    if (end <= start) return false;
    *first = (void *)start;
    *length = end - start;
    return true;
}

size_t camio_page_rounded(size_t size) {
    size_t page = page_size();
    if (size == 0) size = 1;
    if (size > SIZE_MAX - page) return 0;
    return (size + page - 1) & ~(page - 1);
}

void *camio_alloc_pages(size_t size) {
    size_t rounded = camio_page_rounded(size);
    if (rounded == 0) return NULL;
    void *memory = aligned_alloc(page_size(), rounded);
    if (memory != NULL) memset(memory, 0, rounded);
    return memory;
}

bool camio_pin_memory(void *memory, size_t size) {
    if (memory == NULL || size == 0) return true;
    /* Written, not only read: a read maps the shared zero page, and the
     * first write would still fault. The same value goes back, so memory
     * that already holds data keeps it. */
    volatile uint8_t *bytes = memory;
    size_t step = page_size();
    for (size_t offset = 0; offset < size; offset += step) bytes[offset] = bytes[offset];
    bytes[size - 1] = bytes[size - 1];
    void *first;
    size_t length;
    if (!inner_pages(memory, size, &first, &length) || mlock(first, length) == 0) return true;
    munlock(first, length); /* a failed mlock may have locked part of the range */
    return false;
}

bool camio_lock_memory(void *memory, size_t size) {
    void *first;
    size_t length;
    if (memory == NULL || size == 0 || !inner_pages(memory, size, &first, &length) || mlock(first, length) == 0)
        return true;
    munlock(first, length);
    return false;
}

void camio_unpin_memory(void *memory, size_t size) {
    void *first;
    size_t length;
    if (memory != NULL && size != 0 && inner_pages(memory, size, &first, &length)) munlock(first, length);
}
