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
 */
#include "camio.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) {
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (size_t)size : 4096;
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
    return mlock(memory, size) == 0;
}

void camio_unpin_memory(void *memory, size_t size) {
    if (memory != NULL && size != 0) munlock(memory, size);
}
