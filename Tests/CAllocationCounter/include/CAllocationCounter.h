#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H
#include <stdint.h>

/// Counts every malloc, calloc, realloc, free and aligned allocation made on
/// one watched thread. The test binary's definitions of these functions
/// interpose glibc's for the whole process, libjack and the Swift runtime
/// included, and forward to glibc's own.
void amio_allocations_watch(uint64_t thread_id);
uint64_t amio_allocations_count(void);
uint64_t amio_allocations_current_thread(void);
/// 1 when the allocation functions are interposed; 0 in AddressSanitizer
/// builds, where the sanitizer owns them and nothing is counted.
int amio_allocations_interposed(void);

#endif
