#ifndef CREALTIMEPROBE_H
#define CREALTIMEPROBE_H
#include <stdbool.h>
#include <stdint.h>

/// What the realtime rules forbid on the process thread, by kind.
typedef enum amio_probe_kind {
    AMIO_PROBE_ALLOCATION = 0, ///< malloc, calloc, realloc, free, the aligned allocations
    AMIO_PROBE_LOCK,           ///< pthread_mutex_lock
    AMIO_PROBE_WAIT,           ///< sem_wait, sem_timedwait, pthread_cond_wait, pthread_cond_timedwait,
                               ///< nanosleep, clock_nanosleep, poll
    AMIO_PROBE_IO,             ///< read, write
    AMIO_PROBE_MAPPING,        ///< mmap, munmap
    AMIO_PROBE_KINDS
} amio_probe_kind;

/// The test binary's definitions of these functions interpose glibc's for the
/// whole process (libjack and the Swift runtime included) and forward to
/// glibc's own. A call is counted when it is made on the watched thread:
/// once for the thread as a whole, and once more if it is made inside a
/// process cycle (between amio_probe_cycle(true) and amio_probe_cycle(false),
/// which the engine calls through its cycle hook), so that the engine's own
/// work can be told from the JACK library's around it (PipeWire's libjack
/// reads and writes eventfds on that thread between cycles).
void amio_probe_watch(uint64_t thread_id);
uint64_t amio_probe_count(amio_probe_kind kind, bool in_cycle);
uint64_t amio_probe_current_thread(void);
/// Names another thread of this process (at most 15 bytes): its /proc entry
/// changes, the thread itself makes no call.
int amio_probe_name_thread(uint64_t thread_id, const char *name);
/// 1 when RLIMIT_MEMLOCK puts no limit on this process.
int amio_probe_memory_lock_unlimited(void);
/// The cycle hook to install with camio_set_cycle_hook.
void amio_probe_cycle(bool entering);
/// A cycle hook (for camio_set_cycle_hook) that makes every `every`-th cycle
/// end late: after the engine's work it keeps the process thread busy for
/// `spin_usecs`, as a thread preempted on a loaded machine is. 0 turns it off.
void amio_overrun_configure(uint32_t every, uint32_t spin_usecs);
void amio_overrun_cycle(bool entering);
/// The cycles amio_overrun_cycle has made late since it was configured.
uint64_t amio_overrun_count(void);
/// 1 when the functions are interposed; 0 in AddressSanitizer builds, where
/// the sanitizer owns the allocator and nothing is counted.
int amio_probe_interposed(void);

#endif
