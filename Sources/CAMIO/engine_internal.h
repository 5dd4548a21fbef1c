#ifndef CAMIO_ENGINE_INTERNAL_H
#define CAMIO_ENGINE_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>

#include "camio.h"
#include "playspec_internal.h"
#include "rings.h"

/* How many timeline segments (runs between swaps, seeks, loop jumps and
 * transport changes) the capture side can look back over. Capture is delayed
 * by the round trip, a few periods at most; runs of zero frames take no
 * entry. Input whose segment has left the history is counted as lost (it
 * could only be mislabelled), never labelled with a wrong segment. */
#define CAMIO_HISTORY 4096

/* Changes one cycle takes off the queue at most; the rest wait for the next. */
#define CAMIO_CHANGES_PER_CYCLE 256

/* Steady cycles a device monitor must see before its input is labelled again. */
#define CAMIO_MONITOR_SETTLING_CYCLES 3

/* Steady cycles after which a clock debt (see clock_gap) is forgiven. */
#define CAMIO_DEBT_EXPIRY_CYCLES 8

/* The latency, published as one unit: a sequence counter that is odd while
 * the (single) writer is between its two increments. A reader that sees the
 * same even count before and after copying has all seven figures and every
 * channel's delay of one publication; the process thread never retries, it
 * tries again next cycle. */
#define CAMIO_LATENCY_WORDS 7
#define CAMIO_DELAY_WORDS 3
typedef struct camio_latency_cell {
    _Atomic uint32_t sequence;
    _Atomic uint32_t words[CAMIO_LATENCY_WORDS];
    _Atomic uint32_t *channel_words; /* CAMIO_DELAY_WORDS per input channel */
} camio_latency_cell;

/* Where the transport stands at the end of a cycle, published as one unit
 * by the process thread (a sequence count, odd while it writes), so a
 * reader never pairs one cycle's position with another's playspec. */
typedef struct camio_state_cell {
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint32_t sequence;
    _Atomic uint32_t rolling;
    _Atomic int64_t position;
    _Atomic uint64_t playspec_id;
    _Atomic int64_t frames_played;
} camio_state_cell;

typedef struct camio_segment {
    uint64_t absolute_start; /* engine frame counter where the run began */
    int64_t timeline_start;  /* timeline frame at that point */
    uint64_t playspec_id;
    uint32_t rolling;
    uint32_t reserved;
} camio_segment;

/* A block of memory locked by camio_pin_memory. */
typedef struct { void *memory; size_t size; } camio_pinned_block;

struct camio_engine {
    uint32_t input_channels;
    uint32_t output_channels;

    camio_spsc changes; /* control -> rt */
    camio_spsc notices; /* rt -> bridge */
    camio_byte_ring input; /* rt -> bridge, chunk records */

    /* --- owned by the process thread --- */
    camio_change *pending; /* FIFO of changes taken off the queue, not yet applied */
    uint64_t pending_mask;
    uint64_t pending_head; /* next to apply */
    uint64_t pending_tail; /* next free slot */
    camio_playspec *current;
    uint64_t current_id;
    int64_t position;
    bool rolling;
    uint64_t absolute; /* frames processed since creation, stall gaps included */
    uint64_t previous_cycle_start; /* `absolute` at the start of the last cycle run */
    uint32_t previous_cycle_frames; /* and its length */
    camio_latency latency;          /* in force: adopted at a cycle's start */
    uint32_t adopted_sequence;      /* of the publication it came from */
    camio_input_delay *delays;      /* in force, one per input channel */
    camio_input_delay *delays_incoming; /* where an adoption is copied before it takes over */
    bool aligning;                  /* the delays differ: input goes through the alignment rings */
    bool have_capture;
    int64_t capture_next; /* absolute frame at which the next frame to capture was played */
    /* Alignment (only while `aligning`): channel c's samples at alignment +
     * c * alignment_size, each in the slot of the absolute frame at which it
     * was played (frame & (alignment_size - 1)); held_frame says which
     * played frame a slot holds, so gaps and overwritten slots show. */
    float *alignment;
    int64_t *held_frame;     /* INT64_MIN: an empty slot */
    uint64_t alignment_size; /* a power of two */
    int64_t *held_end;       /* per channel: after the latest played frame it gave; INT64_MIN: none */
    int64_t first_held_by_all; /* the latest of the channels' first frames: where capture can begin */
    camio_segment history[CAMIO_HISTORY];
    uint64_t history_count;
    bool have_cycle;
    uint32_t last_frame_time;
    uint32_t last_nframes;
    uint64_t frame_time;    /* 64-bit extension of JACK's frame time */
    uint64_t clock_debt;    /* frames the clock stepped less than a cycle (a repeated
                               cycle), set against the next step beyond one */
    uint32_t steady_cycles; /* cycles since the clock last stepped other than by a
                               period, or a cycle ran late */
    bool late_cycle;        /* set by the driver: the cycle about to run started late, or the last one ended late */
    bool stalled;           /* the last cycle missed its deadline (see camio_engine_stalls) */
    int64_t gap_end;        /* absolute frame where the last stall ended (INT64_MIN: none yet) */
    uint64_t dropped_pending; /* input frames lost since the last chunk that reached the ring */
    uint64_t frames_unannounced; /* captured since the bridge was last woken */
    /* A crossfade under way (see camio_change): the timeline that played
     * before the change goes on underneath, fading out, for fade_length
     * frames of output. */
    bool fading;
    camio_playspec *fade_playspec; /* what it plays (NULL: silence) */
    camio_playspec *fade_retire;   /* to retire when it ends (NULL: still current, or none) */
    int64_t fade_position;         /* its timeline frame at the next output frame */
    uint32_t fade_length, fade_done;
    uint32_t fade_shape;
    /* One tile of each side, output_channels channels each, the pointers to
     * their channels and the tile's two weights: one block, pinned. */
    float *fade_scratch;
    float **fade_new_channels, **fade_old_channels;
    float *fade_in_weights, *fade_out_weights;

    /* --- published by the process thread for every other thread, on cache
     * lines of their own (no false sharing with what others write) --- */
    camio_state_cell published_state;
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint64_t dropped_total;
    _Atomic uint64_t cycles;
    _Atomic uint64_t lost_notices;
    _Atomic uint32_t last_period;
    _Atomic uint64_t unlabelled_total;
    _Atomic uint64_t stalls;
    _Atomic uint32_t published_aligning;
    /* --- written by other threads --- */
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint32_t latency_epoch; /* invalidations so far */
    _Atomic uint32_t wake_frames; /* captured frames that wake the bridge (0: every chunk) */
    camio_latency_cell published_latency; /* control -> rt */

    sem_t wake;

    /* Every block above, made resident (camio_pin_memory) at creation. */
    camio_pinned_block pinned[16];
    uint32_t pinned_count;
    bool memory_locked; /* all of them locked, not only resident */

    /* Test hook (camio_engine_misbehave_for_testing): what the process
     * thread does wrong each cycle, and what it needs to. */
    _Alignas(CAMIO_CACHE_LINE) _Atomic uint32_t misbehaviour;
    pthread_mutex_t misbehaviour_mutex;
    pthread_cond_t misbehaviour_condition;
    sem_t misbehaviour_semaphore;
    int misbehaviour_read_fd, misbehaviour_write_fd;
    uint8_t *misbehaviour_pages; /* mapped, never touched: each cycle faults one in */
    size_t misbehaviour_pages_size, misbehaviour_pages_touched;
};

/* [rt] Does this cycle's deliberate wrong (camio_engine_misbehave_for_testing). */
void camio_engine_misbehave(camio_engine *engine, camio_misbehaviour misbehaviour);

#endif
