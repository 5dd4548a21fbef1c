/*
 * The engine: schedule, transport, mixer and capture, driven one process cycle
 * at a time by a driver (JACK or offline). Everything the process thread
 * touches is allocated in camio_engine_create.
 */
#include "engine_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

static void warm_up_mixer(camio_engine *engine);

static void free_per_channel(camio_engine *engine) {
    free(engine->pending);
    free(engine->delays);
    free(engine->delays_incoming);
    free((void *)engine->published_latency.channel_words);
    free(engine->held_end);
    free(engine->alignment);
    free(engine->held_frame);
    free(engine->fade_scratch);
}

/* Makes a block the process thread touches resident (see memory.c) and
 * remembers it, to unlock before it is freed. Every block of the engine
 * comes from camio_alloc_pages: all its pages are its own. */
static void pin(camio_engine *engine, void *memory, size_t requested) {
    size_t size = camio_page_rounded(requested);
    bool locked = camio_pin_memory(memory, size);
    engine->memory_locked = engine->memory_locked && locked;
    if (locked && engine->pinned_count < sizeof engine->pinned / sizeof engine->pinned[0])
        engine->pinned[engine->pinned_count++] = (camio_pinned_block){memory, size};
}

camio_engine *camio_engine_create(const camio_engine_config *config) {
    if (config->input_channels > 4096 || config->output_channels > 4096) return NULL;
    /* The rings inside are aligned to cache lines (_Alignas): calloc only
     * promises 16 bytes; whole pages of its own also let it be locked
     * without locking (and later unlocking) a neighbour's page. */
    size_t engine_size = (sizeof(camio_engine) + CAMIO_CACHE_LINE - 1) & ~(size_t)(CAMIO_CACHE_LINE - 1);
    camio_engine *engine = camio_alloc_pages(engine_size);
    if (engine == NULL) return NULL;
    engine->input_channels = config->input_channels;
    engine->output_channels = config->output_channels;

    uint64_t capacity = camio_next_power_of_two(config->change_capacity < 64 ? 64 : config->change_capacity);
    uint64_t ring_frames = config->input_ring_frames < 1024 ? 1024 : config->input_ring_frames;
    uint64_t channels = config->input_channels ? config->input_channels : 1;
    /* Room for the samples plus one header per 16 frames, the smallest chunk that is likely. */
    uint64_t ring_bytes = ring_frames * channels * sizeof(float) +
                          (ring_frames / 16 + 1) * sizeof(camio_chunk_info);
    uint64_t inputs = config->input_channels;
    engine->alignment_size = camio_next_power_of_two(config->alignment_frames ? config->alignment_frames : 1);
    engine->pending = camio_alloc_pages(capacity * sizeof(camio_change));
    engine->delays = camio_alloc_pages(channels * sizeof(camio_input_delay));
    engine->delays_incoming = camio_alloc_pages(channels * sizeof(camio_input_delay));
    engine->published_latency.channel_words = camio_alloc_pages(channels * CAMIO_DELAY_WORDS * sizeof(_Atomic uint32_t));
    engine->held_end = camio_alloc_pages(channels * sizeof(int64_t));
    uint64_t slots = inputs ? inputs * engine->alignment_size : 1;
    engine->alignment = camio_alloc_pages(slots * sizeof(float));
    engine->held_frame = camio_alloc_pages(slots * sizeof(int64_t));
    uint64_t outputs = config->output_channels ? config->output_channels : 1;
    size_t fade_size = 2 * CAMIO_TILE * outputs * sizeof(float) + 2 * outputs * sizeof(float *) +
                       2 * CAMIO_TILE * sizeof(float);
    engine->fade_scratch = camio_alloc_pages(fade_size);
    bool ok = engine->pending != NULL && engine->delays != NULL && engine->delays_incoming != NULL &&
              engine->published_latency.channel_words != NULL && engine->held_end != NULL &&
              engine->alignment != NULL && engine->held_frame != NULL && engine->fade_scratch != NULL &&
              camio_spsc_init(&engine->changes, (uint32_t)capacity, sizeof(camio_change)) &&
              /* One notice per change, and one per crossfade's release:
               * N crossfaded changes applied in one cycle, before the bridge
               * drains any, give N notices, N releases (each ends the
               * crossfade before it, the first one left from the cycle
               * before) and one more when the last crossfade ends in the
               * same cycle: 2N + 1. */
              camio_spsc_init(&engine->notices, (uint32_t)capacity * 4, sizeof(camio_notice)) &&
              camio_byte_ring_init(&engine->input, ring_bytes) &&
              sem_init(&engine->wake, 0, 0) == 0;
    if (!ok) {
        camio_spsc_free(&engine->changes);
        camio_spsc_free(&engine->notices);
        camio_byte_ring_free(&engine->input);
        free_per_channel(engine);
        free(engine);
        return NULL;
    }
    float *fade_samples = engine->fade_scratch;
    engine->fade_new_channels = (float **)(fade_samples + 2 * CAMIO_TILE * outputs);
    engine->fade_old_channels = engine->fade_new_channels + outputs;
    engine->fade_in_weights = (float *)(engine->fade_old_channels + outputs);
    engine->fade_out_weights = engine->fade_in_weights + CAMIO_TILE;
    for (uint64_t c = 0; c < outputs; c++) {
        engine->fade_new_channels[c] = fade_samples + c * CAMIO_TILE;
        engine->fade_old_channels[c] = fade_samples + (outputs + c) * CAMIO_TILE;
    }
    for (uint64_t c = 0; c < channels; c++) engine->held_end[c] = INT64_MIN;
    for (uint64_t i = 0; i < slots; i++) engine->held_frame[i] = INT64_MIN;
    engine->pending_mask = capacity - 1;
    /* Nothing is measured yet: the latency in force (all zero, epoch 0) is
     * stale until the driver's first publication. */
    atomic_init(&engine->latency_epoch, 1);
    engine->gap_end = INT64_MIN;
    engine->history[0] = (camio_segment){0};
    engine->history_count = 1;
    engine->memory_locked = true;
    pin(engine, engine, engine_size);
    pin(engine, engine->pending, capacity * sizeof(camio_change));
    pin(engine, engine->delays, channels * sizeof(camio_input_delay));
    pin(engine, engine->delays_incoming, channels * sizeof(camio_input_delay));
    pin(engine, (void *)engine->published_latency.channel_words, channels * CAMIO_DELAY_WORDS * sizeof(_Atomic uint32_t));
    pin(engine, engine->held_end, channels * sizeof(int64_t));
    pin(engine, engine->alignment, slots * sizeof(float));
    pin(engine, engine->held_frame, slots * sizeof(int64_t));
    pin(engine, engine->fade_scratch, fade_size);
    pin(engine, engine->changes.storage, (engine->changes.mask + 1) * engine->changes.element_size);
    pin(engine, engine->notices.storage, (engine->notices.mask + 1) * engine->notices.element_size);
    pin(engine, engine->input.storage, engine->input.mask + 1);
    warm_up_mixer(engine);
    return engine;
}

void camio_engine_destroy(camio_engine *engine) {
    if (engine == NULL) return;
    /* Playspecs belong to the control side, which frees every one it created. */
    for (uint32_t i = engine->pinned_count; i-- > 0;) camio_unpin_memory(engine->pinned[i].memory, engine->pinned[i].size);
    if (engine->misbehaviour_pages != NULL) {
        munmap(engine->misbehaviour_pages, engine->misbehaviour_pages_size);
        close(engine->misbehaviour_read_fd);
        close(engine->misbehaviour_write_fd);
        sem_destroy(&engine->misbehaviour_semaphore);
        pthread_cond_destroy(&engine->misbehaviour_condition);
        pthread_mutex_destroy(&engine->misbehaviour_mutex);
    }
    camio_spsc_free(&engine->changes);
    camio_spsc_free(&engine->notices);
    camio_byte_ring_free(&engine->input);
    sem_destroy(&engine->wake);
    free_per_channel(engine);
    free(engine);
}

bool camio_engine_submit(camio_engine *engine, const camio_change *change) {
    return camio_spsc_push(&engine->changes, change);
}

bool camio_engine_next_notice(camio_engine *engine, camio_notice *notice) {
    return camio_spsc_pop(&engine->notices, notice);
}

bool camio_engine_peek_chunk(camio_engine *engine, camio_chunk_info *info) {
    if (camio_byte_ring_readable(&engine->input) < sizeof(camio_chunk_info)) return false;
    uint64_t tail = atomic_load_explicit(&engine->input.tail, memory_order_relaxed);
    camio_byte_ring_copy_out(&engine->input, tail, info, sizeof(camio_chunk_info));
    return true;
}

void camio_engine_consume_chunk(camio_engine *engine, float *samples) {
    camio_chunk_info info;
    if (!camio_engine_peek_chunk(engine, &info)) return;
    uint64_t tail = atomic_load_explicit(&engine->input.tail, memory_order_relaxed);
    uint64_t sample_bytes = (uint64_t)info.channel_count * info.frame_count * sizeof(float);
    camio_byte_ring_copy_out(&engine->input, tail + sizeof(camio_chunk_info), samples, sample_bytes);
    atomic_store_explicit(&engine->input.tail, tail + sizeof(camio_chunk_info) + sample_bytes,
                          memory_order_release);
}

/* ---------------------------------------------------------------------- */
/* Process thread                                                         */
/* ---------------------------------------------------------------------- */

static void push_notice(camio_engine *engine, const camio_notice *notice, bool *wake) {
    /* The control side keeps at most `capacity` changes outstanding and every
     * change yields one notice, so this ring cannot be full. Count if it is. */
    if (!camio_spsc_push(&engine->notices, notice))
        atomic_fetch_add_explicit(&engine->lost_notices, 1, memory_order_relaxed);
    *wake = true;
}

static void begin_segment(camio_engine *engine) {
    /* A run of zero frames (a swap and a seek on one frame, many changes due
     * at once) labels nothing: the new segment takes its place. The first
     * segment stays, for the frames before the engine started. */
    uint64_t newest = engine->history_count - 1;
    bool empty_run = newest > 0 && engine->history[newest % CAMIO_HISTORY].absolute_start == engine->absolute;
    if (!empty_run) engine->history_count++;
    camio_segment *segment = &engine->history[(engine->history_count - 1) % CAMIO_HISTORY];
    segment->absolute_start = engine->absolute;
    segment->timeline_start = engine->position;
    segment->playspec_id = engine->current_id;
    segment->rolling = engine->rolling;
}

static inline uint64_t pending_count(const camio_engine *engine) {
    return engine->pending_tail - engine->pending_head;
}

static inline bool is_due(const camio_engine *engine, const camio_change *change) {
    return (change->flags & CAMIO_CHANGE_IMMEDIATE) || change->insert_at <= engine->position;
}

/* start + (now - at) held within the timeline's ±2^62: the control side
 * refuses frames beyond that, but the sum of two in-range frames can leave
 * it (a change due at -2^62 applied at +2^62). */
static int64_t clamp_to_timeline(int64_t start, int64_t now, int64_t at) {
    const int64_t limit = (int64_t)1 << 62;
    int64_t late, position;
    if (__builtin_sub_overflow(now, at, &late)) return now > at ? limit : -limit;
    if (__builtin_add_overflow(start, late, &position)) return late > 0 ? limit : -limit;
    return position > limit ? limit : position < -limit ? -limit : position;
}

/* Ends a running crossfade: its tail stops, and the playspec it played,
 * if the change that started it replaced that one, is retired. */
static void end_crossfade(camio_engine *engine, bool *wake) {
    if (!engine->fading) return;
    engine->fading = false;
    if (engine->fade_retire != NULL) {
        camio_notice notice = {.kind = CAMIO_NOTICE_RELEASED, .retired = engine->fade_retire};
        push_notice(engine, &notice, wake);
    }
    engine->fade_playspec = engine->fade_retire = NULL;
}

static void apply_change(camio_engine *engine, const camio_change *change, bool *wake) {
    int64_t old_position = engine->position;
    int64_t new_position;
    if (change->flags & CAMIO_CHANGE_IMMEDIATE)
        new_position = (change->flags & CAMIO_CHANGE_KEEP_POSITION) ? old_position : change->start_from;
    else
        new_position = clamp_to_timeline(change->start_from, old_position, change->insert_at);

    /* A playspec swap, a seek or a stop ends a running crossfade (a start,
     * or a command that changes nothing, lets it go on). */
    const bool was_rolling = engine->rolling;
    const bool stops = (change->flags & CAMIO_CHANGE_SET_ROLLING) && !(change->flags & CAMIO_CHANGE_ROLLING);
    const bool seeks = !((change->flags & CAMIO_CHANGE_IMMEDIATE) && (change->flags & CAMIO_CHANGE_KEEP_POSITION));
    if ((change->flags & CAMIO_CHANGE_HAS_PLAYSPEC) || seeks || stops) end_crossfade(engine, wake);
    camio_playspec *previous = engine->current;

    camio_playspec *retired = NULL;
    if (change->flags & CAMIO_CHANGE_HAS_PLAYSPEC) {
        retired = engine->current;
        engine->current = change->playspec;
        engine->current_id = change->playspec ? change->playspec->id : 0;
    }
    if (change->flags & CAMIO_CHANGE_SET_ROLLING)
        engine->rolling = (change->flags & CAMIO_CHANGE_ROLLING) != 0;
    engine->position = new_position;
    begin_segment(engine);

    /* A crossfade only joins two timelines that both sound. */
    if (change->crossfade_frames > 0 && was_rolling && engine->rolling && !engine->fading) {
        engine->fading = true;
        engine->fade_playspec = previous;
        engine->fade_retire = retired; /* kept until the tail has played */
        retired = NULL;
        engine->fade_position = old_position;
        engine->fade_length = change->crossfade_frames;
        engine->fade_done = 0;
        engine->fade_shape = change->crossfade_shape;
    }

    camio_notice notice = {
        .change_id = change->id,
        .kind = CAMIO_NOTICE_APPLIED,
        .frame = old_position,
        .position = new_position,
        .retired = retired,
    };
    push_notice(engine, &notice, wake);
}

static void apply_due_changes(camio_engine *engine, bool *wake) {
    while (pending_count(engine) > 0) {
        camio_change *head = &engine->pending[engine->pending_head & engine->pending_mask];
        if (!is_due(engine, head)) return;
        engine->pending_head++;
        apply_change(engine, head, wake);
    }
}

static void resolve_unapplied(camio_engine *engine, const camio_change *change, uint32_t kind, bool *wake) {
    camio_notice notice = {
        .change_id = change->id,
        .kind = kind,
        .frame = engine->position,
        .position = engine->position,
        .retired = (change->flags & CAMIO_CHANGE_HAS_PLAYSPEC) ? change->playspec : NULL,
    };
    push_notice(engine, &notice, wake);
}

/* After a seek: a pending change whose insert_at lies before the new
 * position would fire at once, late, at a position it was never meant for.
 * The DAW convention is that a jump the play head moved past does not
 * happen: such changes are resolved as skipped, and the rest keep their
 * order. (One pass over at most change_capacity entries, no allocation.) */
static void skip_passed_changes(camio_engine *engine, bool *wake) {
    uint64_t kept = engine->pending_head;
    for (uint64_t i = engine->pending_head; i < engine->pending_tail; i++) {
        camio_change *change = &engine->pending[i & engine->pending_mask];
        bool passed = !(change->flags & CAMIO_CHANGE_IMMEDIATE) && change->insert_at < engine->position;
        if (passed) {
            resolve_unapplied(engine, change, CAMIO_NOTICE_SKIPPED, wake);
            continue;
        }
        if (kept != i) engine->pending[kept & engine->pending_mask] = *change;
        kept++;
    }
    engine->pending_tail = kept;
}

/* Moves queued changes into the pending FIFO, superseding where asked, and
 * applies seeks and transport commands in their place in that order. */
static void take_changes(camio_engine *engine, bool *wake) {
    camio_change change;
    /* At most CAMIO_CHANGES_PER_CYCLE: a burst of submissions is spread over
     * cycles, in order, rather than blowing one cycle's budget (a change
     * left for the next cycle whose frame passed applies at once, as any late one). */
    uint32_t taken = 0;
    while (taken++ < CAMIO_CHANGES_PER_CYCLE && pending_count(engine) <= engine->pending_mask &&
           camio_spsc_pop(&engine->changes, &change)) {
        if (change.flags & CAMIO_CHANGE_SUPERSEDE) {
            while (pending_count(engine) > 0) {
                camio_change *old = &engine->pending[engine->pending_head & engine->pending_mask];
                engine->pending_head++;
                resolve_unapplied(engine, old, CAMIO_NOTICE_SUPERSEDED, wake);
            }
        }
        /* Seeks and transport commands are "now": they do not wait behind a
         * change pending for a later frame, and they do not overtake one that
         * was queued before them and is due already. */
        bool transport_only = (change.flags & CAMIO_CHANGE_IMMEDIATE) &&
                              !(change.flags & CAMIO_CHANGE_HAS_PLAYSPEC);
        if (transport_only) {
            apply_due_changes(engine, wake);
            apply_change(engine, &change, wake);
            if (!(change.flags & CAMIO_CHANGE_KEEP_POSITION)) skip_passed_changes(engine, wake);
            continue;
        }
        engine->pending[engine->pending_tail & engine->pending_mask] = change;
        engine->pending_tail++;
    }
}

/* Input frames that no chunk will carry: the next chunk that reaches the
 * ring reports them in dropped_frames_before. */
static void count_lost(camio_engine *engine, uint64_t frames) {
    engine->dropped_pending += frames;
    atomic_fetch_add_explicit(&engine->dropped_total, frames, memory_order_relaxed);
}

/* Where the samples of the frames being captured are: this cycle's input
 * buffers (frame p of channel c at inputs[c][p - first]) or, while the
 * channels are being aligned, the alignment rings. `first` is the played
 * frame of the cycle's first input frame (of the most delayed channel),
 * which gives the chunk's frame time. */
typedef struct capture_source {
    const float *const *inputs;
    const float *ring;
    int64_t first;
} capture_source;

static void copy_samples(const camio_engine *engine, const capture_source *source, uint32_t channel,
                         int64_t from, uint32_t count, uint64_t at) {
    camio_byte_ring *ring = (camio_byte_ring *)&engine->input;
    if (source->ring == NULL) {
        camio_byte_ring_copy_in(ring, at, source->inputs[channel] + (from - source->first), count * sizeof(float));
        return;
    }
    const float *held = source->ring + (size_t)channel * engine->alignment_size;
    uint64_t index = (uint64_t)from & (engine->alignment_size - 1);
    uint64_t first_part = engine->alignment_size - index < count ? engine->alignment_size - index : count;
    camio_byte_ring_copy_in(ring, at, held + index, first_part * sizeof(float));
    if (first_part < count)
        camio_byte_ring_copy_in(ring, at + first_part * sizeof(float), held, (count - first_part) * sizeof(float));
}

static void write_chunk(camio_engine *engine, const capture_source *source, int64_t from,
                        uint32_t count, camio_chunk_info info, bool *wake) {
    uint64_t sample_bytes = (uint64_t)engine->input_channels * count * sizeof(float);
    uint64_t size = sizeof(camio_chunk_info) + sample_bytes;
    if (camio_byte_ring_free_space(&engine->input) < size) {
        /* Never block, never overwrite: count the loss; the next chunk reports it. */
        count_lost(engine, count);
        return;
    }
    info.dropped_frames_before = engine->dropped_pending;
    engine->dropped_pending = 0;
    uint64_t head = atomic_load_explicit(&engine->input.head, memory_order_relaxed);
    camio_byte_ring_copy_in(&engine->input, head, &info, sizeof info);
    uint64_t at = head + sizeof info;
    for (uint32_t c = 0; c < engine->input_channels; c++) {
        copy_samples(engine, source, c, from, count, at);
        at += count * sizeof(float);
    }
    atomic_store_explicit(&engine->input.head, head + size, memory_order_release);
    /* The bridge is woken once enough frames wait for it (every chunk by
     * default), or the ring is half full, whatever its consumers asked. */
    engine->frames_unannounced += count;
    uint32_t wake_frames = atomic_load_explicit(&engine->wake_frames, memory_order_relaxed);
    if (engine->frames_unannounced >= wake_frames ||
        camio_byte_ring_readable(&engine->input) > (engine->input.mask + 1) / 2)
        *wake = true;
}

/* --- latency, published as one unit ------------------------------------- */

static void latency_to_words(const camio_latency *latency, uint32_t words[CAMIO_LATENCY_WORDS]) {
    words[0] = latency->capture;
    words[1] = latency->playback;
    words[2] = latency->external;
    words[3] = latency->feedback_cycles;
    words[4] = latency->period;
    words[5] = latency->epoch;
    words[6] = latency->periods;
}

static camio_latency latency_from_words(const uint32_t words[CAMIO_LATENCY_WORDS]) {
    return (camio_latency){.capture = words[0], .playback = words[1], .external = words[2],
                           .feedback_cycles = words[3], .period = words[4], .epoch = words[5],
                           .periods = words[6]};
}

static bool same_delay(const camio_input_delay *a, const camio_input_delay *b) {
    return a->external == b->external && a->feedback_cycles == b->feedback_cycles && a->periods == b->periods;
}

/* One writer (the driver's serialised refreshes), one reader (the process thread). */
static void latency_cell_store(camio_latency_cell *cell, const camio_latency *latency,
                               const camio_input_delay *delays, uint32_t channels) {
    uint32_t words[CAMIO_LATENCY_WORDS];
    latency_to_words(latency, words);
    camio_input_delay common = {latency->external, latency->feedback_cycles, latency->periods};
    uint32_t sequence = atomic_load_explicit(&cell->sequence, memory_order_relaxed);
    atomic_store_explicit(&cell->sequence, sequence + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < CAMIO_LATENCY_WORDS; i++) atomic_store_explicit(&cell->words[i], words[i], memory_order_relaxed);
    for (uint32_t c = 0; c < channels; c++) {
        const camio_input_delay *delay = delays ? &delays[c] : &common;
        _Atomic uint32_t *slot = &cell->channel_words[(size_t)c * CAMIO_DELAY_WORDS];
        atomic_store_explicit(&slot[0], delay->external, memory_order_relaxed);
        atomic_store_explicit(&slot[1], delay->feedback_cycles, memory_order_relaxed);
        atomic_store_explicit(&slot[2], delay->periods, memory_order_relaxed);
    }
    atomic_store_explicit(&cell->sequence, sequence + 2, memory_order_release);
}

/* False when the copy may be torn (a store was under way): then `delays`
 * holds a mixture, and the caller does not use it. */
static bool latency_cell_try_load(const camio_latency_cell *cell, camio_latency *latency, uint32_t *sequence,
                                  camio_input_delay *delays, uint32_t channels) {
    camio_latency_cell *c = (camio_latency_cell *)cell;
    uint32_t before = atomic_load_explicit(&c->sequence, memory_order_acquire);
    if (before & 1u) return false;
    uint32_t words[CAMIO_LATENCY_WORDS];
    for (int i = 0; i < CAMIO_LATENCY_WORDS; i++) words[i] = atomic_load_explicit(&c->words[i], memory_order_relaxed);
    for (uint32_t ch = 0; ch < channels; ch++) {
        _Atomic uint32_t *slot = &c->channel_words[(size_t)ch * CAMIO_DELAY_WORDS];
        delays[ch] = (camio_input_delay){atomic_load_explicit(&slot[0], memory_order_relaxed),
                                         atomic_load_explicit(&slot[1], memory_order_relaxed),
                                         atomic_load_explicit(&slot[2], memory_order_relaxed)};
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&c->sequence, memory_order_relaxed) != before) return false;
    *latency = latency_from_words(words);
    *sequence = before;
    return true;
}

/* At the start of a cycle, the latency published since the last one takes
 * over: every frame of a cycle is labelled with one latency. */
static void adopt_latency(camio_engine *engine) {
    uint32_t sequence = atomic_load_explicit(&engine->published_latency.sequence, memory_order_acquire);
    if (sequence == engine->adopted_sequence) return;
    camio_latency latency;
    if (!latency_cell_try_load(&engine->published_latency, &latency, &sequence, engine->delays_incoming,
                               engine->input_channels))
        return; /* next cycle */
    camio_input_delay *adopted = engine->delays_incoming;
    engine->delays_incoming = engine->delays;
    engine->delays = adopted;
    bool aligning = false;
    for (uint32_t c = 1; c < engine->input_channels && !aligning; c++)
        aligning = !same_delay(&adopted[c], &adopted[0]);
    if (aligning && !engine->aligning) {
        for (uint32_t c = 0; c < engine->input_channels; c++) engine->held_end[c] = INT64_MIN;
        engine->first_held_by_all = INT64_MIN;
    }
    engine->aligning = aligning;
    atomic_store_explicit(&engine->published_aligning, aligning, memory_order_relaxed);
    /* With one delay for all, capture reads it from the latency itself. */
    if (!aligning && engine->input_channels > 0) {
        latency.external = adopted[0].external;
        latency.feedback_cycles = adopted[0].feedback_cycles;
        latency.periods = adopted[0].periods;
    }
    engine->latency = latency;
    engine->adopted_sequence = sequence;
}

/* --- capture ------------------------------------------------------------ */

/* The history segment the timeline was in at absolute frame `frame`;
 * false when that segment has left the history. */
static bool find_segment(const camio_engine *engine, int64_t frame, uint64_t *index) {
    uint64_t newest = engine->history_count - 1;
    uint64_t oldest = engine->history_count > CAMIO_HISTORY ? engine->history_count - CAMIO_HISTORY : 0;
    uint64_t s = newest;
    while (s > oldest && (int64_t)engine->history[s % CAMIO_HISTORY].absolute_start > frame) s--;
    /* Before the first segment's start lie the frames before the engine
     * started (the round trip reaches back before it in the first cycles):
     * they belong to it. Once the history has wrapped, they are unknown. */
    if (oldest > 0 && (int64_t)engine->history[s % CAMIO_HISTORY].absolute_start > frame) return false;
    *index = s;
    return true;
}

/*
 * Input captured at absolute frame A was played at absolute frame A - delay.
 * The history of segments maps that to the timeline that was sounding then,
 * so takes line up across swaps and jumps.
 *
 * Which frames a cycle's input holds follows from the latency in force:
 *  - external frames of port latency, and `periods` of the server's clock
 *    (a device monitor): the input's frame i was played at
 *    absolute_start + i - external - periods * nframes;
 *  - a feedback cycle (an input fed from the engine's own outputs, directly
 *    or through other clients): the input carries the *previous executed
 *    cycle's* output; so after a stall it is still the last cycle that ran.
 *    The first cycle with a new period carries none of it (the server
 *    cleared the resized buffers) and is not captured.
 * False when the input cannot be labelled in this cycle at all.
 */
static int64_t played_start_of(const camio_engine *engine, const camio_input_delay *delay, uint32_t nframes,
                               uint64_t absolute_start) {
    if (delay->feedback_cycles > 0) return (int64_t)engine->previous_cycle_start - (int64_t)delay->external;
    return (int64_t)absolute_start - (int64_t)delay->external - (int64_t)delay->periods * (int64_t)nframes;
}

static bool played_range(const camio_engine *engine, const camio_input_delay *delay, uint32_t nframes,
                         uint64_t absolute_start, int64_t *played_start, uint32_t *valid) {
    /* A device monitor follows the server's cycles, and while the server is
     * unsteady (a burst of late catch-up cycles, a skipped cycle) it carries
     * silence or older cycles (measured on PipeWire after a stop: 18 of 39
     * burst cycles silent, one two cycles old): not labelled until the
     * server has run steadily for a while. The last cycles of a burst can
     * look steady (on time, one period on) and still feed the monitor
     * silence: with two settling cycles the server-stop test on PipeWire
     * failed 1 run in 2 (a silent cycle labelled), with three 0 runs in 16. */
    if (delay->periods > 0 && engine->steady_cycles < CAMIO_MONITOR_SETTLING_CYCLES) return false;
    *played_start = played_start_of(engine, delay, nframes, absolute_start);
    *valid = nframes;
    if (delay->feedback_cycles > 0) {
        /* Clients on the loop delay by frames of the cycles that *ran*: until
         * the last stall lies more than that far back, the played frames of
         * this input are not where the server's clock puts them (measured:
         * jack_latent_client's delay line carries audio from before the stall
         * into frames the stall skipped). Not captured; counted. */
        if (delay->external > 0 && *played_start < engine->gap_end) return false;
        /* The first cycle after a period change carries nothing of the last
         * one: jackd clears the port buffers when it resizes them (measured:
         * silence at every change, 16 to 8192). Its frames are counted lost. */
        if (nframes != engine->previous_cycle_frames) *valid = 0;
    }
    return true;
}

/* The frame time `offset` frames from this cycle's first; an aligned
 * channel's frames may have come cycles earlier, but never before the clock
 * began. */
static uint64_t captured_at(const camio_engine *engine, int64_t offset) {
    if (offset < 0 && (uint64_t)(-offset) > engine->frame_time) return 0;
    return engine->frame_time + (uint64_t)offset;
}

/* Writes played frames [cursor, end) as chunks, one per timeline segment
 * they were played in. */
static void write_played(camio_engine *engine, const capture_source *source, int64_t cursor, int64_t end,
                         uint64_t usecs, bool *wake) {
    uint64_t newest = engine->history_count - 1;
    uint64_t s;
    if (!find_segment(engine, cursor, &s)) {
        /* Played in segments the history no longer holds: count, never mislabel. */
        uint64_t oldest = engine->history_count - CAMIO_HISTORY;
        int64_t known = (int64_t)engine->history[oldest % CAMIO_HISTORY].absolute_start;
        int64_t unknown = (known < end ? known : end) - cursor;
        count_lost(engine, (uint64_t)unknown);
        atomic_fetch_add_explicit(&engine->unlabelled_total, (uint64_t)unknown, memory_order_relaxed);
        cursor += unknown;
        s = oldest;
    }
    while (cursor < end) {
        const camio_segment *segment = &engine->history[s % CAMIO_HISTORY];
        uint32_t count = (uint32_t)(end - cursor);
        /* The newest segment is still open: it takes the rest. (No end of
         * INT64_MAX here: `end - cursor` would overflow for a negative
         * cursor, and once did, into a zero-length chunk forever.) */
        if (s < newest) {
            int64_t segment_end = (int64_t)engine->history[(s + 1) % CAMIO_HISTORY].absolute_start;
            if (segment_end <= cursor) { s++; continue; }
            if (segment_end - cursor < (int64_t)count) count = (uint32_t)(segment_end - cursor);
        }
        camio_chunk_info info = {
            .starting_frame = segment->rolling
                ? segment->timeline_start + (cursor - (int64_t)segment->absolute_start)
                : segment->timeline_start,
            .playspec_id = segment->playspec_id,
            .frame_time = captured_at(engine, cursor - source->first),
            .cycle_usecs = usecs,
            .played_at = cursor,
            .channel_count = engine->input_channels,
            .frame_count = count,
            .rolling = segment->rolling,
        };
        write_chunk(engine, source, cursor, count, info, wake);
        cursor += count;
        s++;
    }
}

/* Played frames [played_start, end) are the next to capture: frames before
 * capture_next are labelled already, frames between it and played_start
 * are lost. Returns where capture starts. */
static int64_t capture_from(camio_engine *engine, int64_t played_start) {
    if (!engine->have_capture) {
        engine->capture_next = played_start;
        engine->have_capture = true;
    }
    if (played_start > engine->capture_next) {
        count_lost(engine, (uint64_t)(played_start - engine->capture_next));
        engine->capture_next = played_start; /* counted once, whatever follows */
    }
    return engine->capture_next;
}

/*
 * Channels of different delays (one input through a latent client, another
 * on a direct loop) hold the same played frame in different cycles. Each
 * channel's input goes into its ring, in the slot of the played frame it
 * carries; a played frame is captured once every channel has given it,
 * so each chunk lines up across channels. Frames come from each channel in
 * played order (a grown delay repeats none: those are not stored again), so
 * once every channel has given frames up to some point, a frame before it
 * that some channel lacks (inside that channel's stall or period-change
 * gap, a cycle it could not be labelled in, or overwritten in its ring) is
 * lost, and counted, for all channels together.
 */
static bool held_by_all(const camio_engine *engine, int64_t frame) {
    uint64_t slot = (uint64_t)frame & (engine->alignment_size - 1);
    for (uint32_t c = 0; c < engine->input_channels; c++)
        if (engine->held_frame[(size_t)c * engine->alignment_size + slot] != frame) return false;
    return true;
}

static void capture_aligned(camio_engine *engine, const float *const *inputs, uint32_t nframes,
                            uint64_t absolute_start, uint64_t usecs, bool *wake) {
    const uint64_t size = engine->alignment_size, mask = size - 1;
    for (uint32_t c = 0; c < engine->input_channels; c++) {
        int64_t played_start;
        uint32_t valid;
        if (!played_range(engine, &engine->delays[c], nframes, absolute_start, &played_start, &valid)) continue;
        int64_t to = played_start + (int64_t)valid;
        int64_t from = played_start;
        int64_t *held_end = &engine->held_end[c];
        if (*held_end != INT64_MIN && *held_end > from) from = *held_end; /* given already */
        if (engine->have_capture && engine->capture_next > from) from = engine->capture_next;
        if (to - from > (int64_t)size) from = to - (int64_t)size; /* the ring keeps only the last `size` */
        if (from >= to) continue;
        if (*held_end == INT64_MIN && from > engine->first_held_by_all) engine->first_held_by_all = from;
        float *samples = engine->alignment + (size_t)c * size;
        int64_t *frames = engine->held_frame + (size_t)c * size;
        const float *input = inputs[c] + (from - played_start);
        for (int64_t p = from; p < to; p++) {
            samples[(uint64_t)p & mask] = *input++;
            frames[(uint64_t)p & mask] = p;
        }
        *held_end = to;
    }
    /* Every channel has given what it ever will of the frames before `end`;
     * none holds a frame before `oldest` any more. */
    int64_t end = INT64_MAX, oldest = INT64_MIN;
    uint32_t most_delayed = 0;
    for (uint32_t c = 0; c < engine->input_channels; c++) {
        int64_t held_end = engine->held_end[c];
        if (held_end == INT64_MIN) return; /* a channel has given nothing yet */
        if (held_end - (int64_t)size > oldest) oldest = held_end - (int64_t)size;
        if (held_end < end) {
            end = held_end;
            most_delayed = c;
        }
    }
    /* Capture begins where the last channel to give anything began. */
    if (!engine->have_capture) capture_from(engine, engine->first_held_by_all);
    if (engine->capture_next < oldest) capture_from(engine, oldest); /* counts what lies before */
    capture_source source = {
        .ring = engine->alignment,
        .first = played_start_of(engine, &engine->delays[most_delayed], nframes, absolute_start),
    };
    int64_t cursor = engine->capture_next;
    while (cursor < end) {
        int64_t run = cursor;
        bool held = held_by_all(engine, cursor);
        while (run < end && held_by_all(engine, run) == held) run++;
        if (held) write_played(engine, &source, cursor, run, usecs, wake);
        else count_lost(engine, (uint64_t)(run - cursor));
        cursor = run;
    }
    if (end > engine->capture_next) engine->capture_next = end;
}

/*
 * capture_next is the played frame the next captured frame must have, so
 * the chunk stream stays exact whatever changes between cycles: frames a
 * cycle would label a second time (the delay grew) are not captured, frames
 * no cycle can label (the delay shrank, a stall, a period change) are
 * counted in dropped_frames_before. Within one timeline segment,
 * next.starting_frame == prev.starting_frame + prev.frame_count +
 * next.dropped_frames_before, always.
 */
static void capture(camio_engine *engine, const float *const *inputs, uint32_t nframes,
                    uint64_t absolute_start, uint64_t usecs, bool *wake) {
    if (engine->input_channels == 0 || inputs == NULL) return;
    const camio_latency *latency = &engine->latency;
    /* Just after a period change the port latency of the new period is not
     * known yet: nothing can be labelled truly, so nothing is captured; the
     * gap is counted when capture resumes. */
    if (latency->period != 0 && latency->period != nframes) return;
    /* The graph around the engine changed after this latency was measured. */
    if (latency->epoch != atomic_load_explicit(&engine->latency_epoch, memory_order_acquire)) return;
    if (engine->aligning) {
        capture_aligned(engine, inputs, nframes, absolute_start, usecs, wake);
        return;
    }
    /* One delay for all channels: straight from this cycle's buffers. */
    camio_input_delay delay = {latency->external, latency->feedback_cycles, latency->periods};
    int64_t played_start;
    uint32_t valid;
    if (!played_range(engine, &delay, nframes, absolute_start, &played_start, &valid)) return;
    int64_t cursor = capture_from(engine, played_start);
    int64_t end = played_start + (int64_t)valid;
    if (cursor >= end) return; /* nothing, or all of it labelled already */
    engine->capture_next = end;
    capture_source source = {.inputs = inputs, .first = played_start};
    write_played(engine, &source, cursor, end, usecs, wake);
}

/*
 * Frames the server's clock moved on beyond the last cycle without running
 * this one: a stall. The servers step their clock differently, and only a
 * step that means skipped time counts:
 *  - steady period: a step beyond the last cycle is a stall. A step short of
 *    it (PipeWire catching up after a stop runs cycles back to back with
 *    repeated frame times) is a debt set against the next step beyond, so
 *    the engine's clock keeps pace with the server's over the burst.
 *  - a period change from P to Q: jackd steps by Q - P (a quirk of its
 *    restart, not a stall: measured +768 at 256 -> 1024, -960 at 1024 -> 64);
 *    PipeWire skips whole cycles of the new size (P + k*Q). Only the latter
 *    is time that passed.
 *  - a step back is a clock restarting: no stall, no debt.
 */
static uint32_t clock_gap(camio_engine *engine, int32_t delta, uint32_t nframes) {
    int64_t beyond = (int64_t)delta - (int64_t)engine->last_nframes;
    if (nframes != engine->last_nframes) {
        engine->clock_debt = 0;
        return beyond > 0 && beyond % nframes == 0 ? (uint32_t)beyond : 0;
    }
    if (delta < 0) {
        engine->clock_debt = 0;
        return 0;
    }
    if (beyond < 0) {
        if (engine->clock_debt < (1u << 30)) engine->clock_debt += (uint64_t)(-beyond);
        return 0;
    }
    uint64_t paid = (uint64_t)beyond < engine->clock_debt ? (uint64_t)beyond : engine->clock_debt;
    engine->clock_debt -= paid;
    return (uint32_t)((uint64_t)beyond - paid);
}

/* Denormal floats (a clip's decaying tail, a gain far below 1) take a slow
 * path in the FPU, up to a hundred times slower: the cycle flushes them to
 * zero (FTZ, and DAZ for its inputs), and gives the thread its own mode
 * back after, so the offline driver's caller keeps IEEE semantics. */
#if defined(__x86_64__) || defined(__i386__)
static inline unsigned flush_denormals(void) {
    unsigned mode = _mm_getcsr();
    _mm_setcsr(mode | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return mode;
}
static inline void restore_float_mode(unsigned mode) { _mm_setcsr(mode); }
#elif defined(__aarch64__)
static inline unsigned flush_denormals(void) {
    uint64_t mode;
    __asm__ volatile("mrs %0, fpcr" : "=r"(mode));
    __asm__ volatile("msr fpcr, %0" : : "r"(mode | (1u << 24))); /* FZ */
    return (unsigned)mode;
}
static inline void restore_float_mode(unsigned mode) { __asm__ volatile("msr fpcr, %0" : : "r"((uint64_t)mode)); }
#else
static inline unsigned flush_denormals(void) { return 0; }
static inline void restore_float_mode(unsigned mode) { (void)mode; }
#endif

static void process_cycle(camio_engine *engine, const float *const *inputs, float *const *outputs,
                          uint32_t nframes, uint32_t frame_time, uint64_t usecs);

void camio_engine_process(camio_engine *engine, const float *const *inputs,
                          float *const *outputs, uint32_t nframes, uint32_t frame_time,
                          uint64_t usecs) {
    if (nframes == 0) return; /* no time passes; and it would divide by zero below */
    unsigned mode = flush_denormals();
    uint32_t misbehaviour = atomic_load_explicit(&engine->misbehaviour, memory_order_acquire);
    if (misbehaviour != CAMIO_BEHAVE) camio_engine_misbehave(engine, (camio_misbehaviour)misbehaviour);
    process_cycle(engine, inputs, outputs, nframes, frame_time, usecs);
    restore_float_mode(mode);
}

/* One writer (this thread); readers retry while the count is odd or moved. */
static void publish_state(camio_engine *engine) {
    camio_state_cell *cell = &engine->published_state;
    uint32_t sequence = atomic_load_explicit(&cell->sequence, memory_order_relaxed);
    atomic_store_explicit(&cell->sequence, sequence + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&cell->position, engine->position, memory_order_relaxed);
    atomic_store_explicit(&cell->rolling, engine->rolling, memory_order_relaxed);
    atomic_store_explicit(&cell->playspec_id, engine->current_id, memory_order_relaxed);
    atomic_store_explicit(&cell->frames_played, (int64_t)engine->absolute, memory_order_relaxed);
    atomic_store_explicit(&cell->sequence, sequence + 2, memory_order_release);
}

void camio_engine_transport_state(const camio_engine *engine, camio_transport_state *state) {
    camio_state_cell *cell = &((camio_engine *)engine)->published_state;
    for (;; sched_yield()) { /* a writer preempted mid-write (no realtime scheduling) gets the core */
        uint32_t before = atomic_load_explicit(&cell->sequence, memory_order_acquire);
        if (before & 1u) continue;
        state->position = atomic_load_explicit(&cell->position, memory_order_relaxed);
        state->rolling = atomic_load_explicit(&cell->rolling, memory_order_relaxed) != 0;
        state->playspec_id = atomic_load_explicit(&cell->playspec_id, memory_order_relaxed);
        state->frames_played = atomic_load_explicit(&cell->frames_played, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&cell->sequence, memory_order_relaxed) == before) return;
    }
}

/* Mixes `run` frames of a crossfade into outputs[…][offset …], a tile at a
 * time: each side into its scratch tile, then both added under their
 * weights, which depend on the frame's place in the crossfade only. */
static void mix_crossfade(camio_engine *engine, uint32_t run, float *const *outputs, uint32_t offset) {
    const camio_weighted_kernel weighted = camio_current_weighted_kernel();
    const uint32_t channels = engine->output_channels;
    const double length = engine->fade_length;
    for (uint32_t done = 0; done < run;) {
        const uint32_t n = run - done < CAMIO_TILE ? run - done : CAMIO_TILE;
        for (uint32_t c = 0; c < channels; c++) {
            memset(engine->fade_new_channels[c], 0, n * sizeof(float));
            memset(engine->fade_old_channels[c], 0, n * sizeof(float));
        }
        /* Each side's active entries are found once for the whole run, in
         * a list of its own (a loop jump fades a playspec into itself). */
        if (engine->current != NULL)
            camio_mix(engine->current, CAMIO_MIX_PLAYING, engine->position + done, n, engine->position + run,
                      engine->fade_new_channels, 0);
        if (engine->fade_playspec != NULL)
            camio_mix(engine->fade_playspec, CAMIO_MIX_FADING, engine->fade_position + done, n,
                      engine->fade_position + run, engine->fade_old_channels, 0);
        for (uint32_t i = 0; i < n; i++) {
            const uint32_t k = engine->fade_done + done + i;
            engine->fade_in_weights[i] = camio_fade_weight(engine->fade_shape, (double)k / length);
            engine->fade_out_weights[i] = camio_fade_weight(engine->fade_shape, (double)(engine->fade_length - k) / length);
        }
        for (uint32_t c = 0; c < channels; c++) {
            weighted(outputs[c] + offset + done, engine->fade_new_channels[c], 1, engine->fade_in_weights, n);
            weighted(outputs[c] + offset + done, engine->fade_old_channels[c], 1, engine->fade_out_weights, n);
        }
        done += n;
    }
}

/* Runs the shaped mixer and the crossfade once on the creating thread, for
 * every fade shape, so that their code (and libc's they reach) is mapped
 * before the process thread first needs it: a code page touched for the
 * first time in a cycle is a page fault there (the realtime-safety test
 * counts them). The engine is not shared yet; what this sets is reset. */
static void warm_up_mixer(camio_engine *engine) {
    static const float silence[2 * CAMIO_TILE];
    const float *channels[1] = {silence};
    float samples[2 * CAMIO_TILE];
    float *outputs[1] = {samples};
    const float gain = 1;
    const int64_t frames[3] = {100, 200, 300};
    const float gains[3] = {0, 1, 0.5f};
    camio_playspec *playspec = camio_playspec_create(0, 1, 1, 3, 3);
    if (playspec == NULL) return;
    camio_playspec_set_entry(playspec, 0, channels, 1, 0, 2 * CAMIO_TILE, 0, 0, &gain);
    camio_playspec_set_envelope(playspec, 0, frames, gains, 3, 1, false);
    camio_playspec_finish(playspec);
    const uint32_t output_channels = engine->output_channels;
    engine->output_channels = 1; /* the fade scratch holds at least one channel */
    for (uint32_t shape = CAMIO_FADE_LINEAR; shape <= CAMIO_FADE_EXPONENTIAL; shape++) {
        camio_playspec_set_fades(playspec, 0, 64, 64, (camio_fade_shape)shape);
        memset(samples, 0, sizeof samples);
        for (uint32_t place = 0; place < CAMIO_MIX_PLACES; place++)
            camio_mix(playspec, (camio_mix_place)place, 0, 2 * CAMIO_TILE, 2 * CAMIO_TILE, outputs, 0);
        engine->current = engine->fade_playspec = playspec;
        engine->position = engine->fade_position = engine->fade_done = 0;
        engine->fade_length = 2 * CAMIO_TILE;
        engine->fade_shape = shape;
        mix_crossfade(engine, 2 * CAMIO_TILE, outputs, 0);
    }
    engine->output_channels = output_channels;
    engine->current = engine->fade_playspec = NULL;
    engine->position = engine->fade_position = 0;
    engine->fade_done = engine->fade_length = engine->fade_shape = 0;
    camio_playspec_destroy(playspec);
}

static void process_cycle(camio_engine *engine, const float *const *inputs, float *const *outputs,
                          uint32_t nframes, uint32_t frame_time, uint64_t usecs) {
    bool wake = false;

    /* A frame time further on than the last cycle's length means cycles were
     * skipped (a stall): the timeline keeps pace with the clock; capture
     * finds the input of those frames missing and counts it. A frame time
     * that steps back or moves less than a cycle (a server restarting its
     * clock) is no stall: read as signed, never as ~4 billion frames
     * (clock_gap says which steps count). */
    if (engine->have_cycle) {
        int32_t delta = (int32_t)(frame_time - engine->last_frame_time);
        engine->frame_time += (uint64_t)(int64_t)delta;
        uint32_t gap = clock_gap(engine, delta, nframes);
        engine->absolute += gap;
        if (engine->rolling) engine->position += gap;
        if (gap > 0) engine->gap_end = (int64_t)engine->absolute;
        /* A crossfade runs on the clock too: the skipped frames were its. */
        if (engine->fading && gap > 0) {
            uint32_t left = engine->fade_length - engine->fade_done;
            uint32_t passed = gap < left ? gap : left;
            engine->fade_done += passed;
            engine->fade_position += passed;
            if (engine->fade_done == engine->fade_length) end_crossfade(engine, &wake);
        }
        /* A deadline missed, as this client sees it: the clock skipped
         * cycles (not at a period change, where PipeWire skips one), or the
         * driver found this cycle late. A run of such cycles is one stall
         * (camio_engine_stalls): jackd catches up after a stop with a
         * second of late cycles (measured: 171 after 0.2 s). */
        bool missed = (gap > 0 && nframes == engine->last_nframes) || engine->late_cycle;
        if (missed && !engine->stalled) atomic_fetch_add_explicit(&engine->stalls, 1, memory_order_relaxed);
        engine->stalled = missed;
        bool steady = delta == (int32_t)engine->last_nframes && nframes == engine->last_nframes && !engine->late_cycle;
        engine->steady_cycles = steady ? (engine->steady_cycles < UINT32_MAX ? engine->steady_cycles + 1 : UINT32_MAX) : 0;
        /* A debt belongs to one burst: once the clock has run steadily for a
         * while, a short step was a clock that moved, not cycles to repay. */
        if (engine->steady_cycles >= CAMIO_DEBT_EXPIRY_CYCLES) engine->clock_debt = 0;
    } else {
        engine->frame_time = frame_time;
        engine->have_cycle = true;
        /* Before the first cycle nothing was played: as if a cycle of silence had. */
        engine->previous_cycle_start = engine->absolute - nframes;
        engine->previous_cycle_frames = nframes;
    }
    engine->last_frame_time = frame_time;
    engine->last_nframes = nframes;
    engine->late_cycle = false;

    adopt_latency(engine);
    take_changes(engine, &wake);

    if (outputs != NULL)
        for (uint32_t c = 0; c < engine->output_channels; c++)
            memset(outputs[c], 0, nframes * sizeof(float));

    uint64_t absolute_start = engine->absolute;
    uint32_t done = 0;
    while (done < nframes) {
        apply_due_changes(engine, &wake);
        uint32_t run = nframes - done;
        /* Split the period where the head change's insert_at falls inside it. */
        if (engine->rolling && pending_count(engine) > 0) {
            const camio_change *head = &engine->pending[engine->pending_head & engine->pending_mask];
            int64_t until = head->insert_at - engine->position;
            if (until > 0 && until < (int64_t)run) run = (uint32_t)until;
        }
        if (engine->rolling && engine->fading) {
            /* And where a crossfade ends, so the rest mixes plainly. */
            uint32_t left = engine->fade_length - engine->fade_done;
            if (left < run) run = left;
            if (outputs != NULL) mix_crossfade(engine, run, outputs, done);
            engine->fade_done += run;
            engine->fade_position += run;
            engine->position += run;
            if (engine->fade_done == engine->fade_length) end_crossfade(engine, &wake);
        } else if (engine->rolling) {
            if (engine->current != NULL && outputs != NULL)
                camio_mix(engine->current, CAMIO_MIX_PLAYING, engine->position, run, engine->position + (nframes - done),
                          outputs, done);
            engine->position += run;
        }
        engine->absolute += run;
        done += run;
    }

    capture(engine, inputs, nframes, absolute_start, usecs, &wake);
    engine->previous_cycle_start = absolute_start;
    engine->previous_cycle_frames = nframes;

    publish_state(engine);
    atomic_store_explicit(&engine->last_period, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&engine->cycles, 1, memory_order_release);
    if (wake) {
        engine->frames_unannounced = 0;
        camio_engine_wake(engine);
    }
}

/* ---------------------------------------------------------------------- */
/* Shared state                                                           */
/* ---------------------------------------------------------------------- */

void camio_engine_set_latency(camio_engine *engine, const camio_latency *latency, const camio_input_delay *delays) {
    latency_cell_store(&engine->published_latency, latency, delays, engine->input_channels);
}

void camio_engine_mark_late_cycle(camio_engine *engine) { engine->late_cycle = true; }
/* The flag outlives this cycle (process_cycle clears it only as it starts
 * one), so the next cycle is the one not counted steady. */
void camio_engine_mark_late_output(camio_engine *engine) { engine->late_cycle = true; }

void camio_engine_invalidate_latency(camio_engine *engine) {
    atomic_fetch_add_explicit(&engine->latency_epoch, 1, memory_order_acq_rel);
}

uint32_t camio_engine_latency_epoch(const camio_engine *engine) {
    return atomic_load_explicit(&((camio_engine *)engine)->latency_epoch, memory_order_acquire);
}

uint64_t camio_input_delay_round_trip(const camio_input_delay *delay, uint32_t period) {
    return (uint64_t)delay->external + ((uint64_t)delay->feedback_cycles + delay->periods) * period;
}

uint64_t camio_latency_round_trip(const camio_latency *latency, uint32_t period) {
    camio_input_delay delay = {latency->external, latency->feedback_cycles, latency->periods};
    return camio_input_delay_round_trip(&delay, period);
}

#define CAMIO_LOAD(field) atomic_load_explicit(&((camio_engine *)engine)->field, memory_order_relaxed)

int64_t camio_engine_position(const camio_engine *engine) { return CAMIO_LOAD(published_state.position); }
bool camio_engine_is_rolling(const camio_engine *engine) { return CAMIO_LOAD(published_state.rolling) != 0; }
uint64_t camio_engine_playspec_id(const camio_engine *engine) { return CAMIO_LOAD(published_state.playspec_id); }
uint64_t camio_engine_dropped_input_frames(const camio_engine *engine) { return CAMIO_LOAD(dropped_total); }
uint64_t camio_engine_cycles(const camio_engine *engine) {
    return atomic_load_explicit(&((camio_engine *)engine)->cycles, memory_order_acquire);
}
uint32_t camio_engine_last_period(const camio_engine *engine) { return CAMIO_LOAD(last_period); }
int64_t camio_engine_frames_played(const camio_engine *engine) { return CAMIO_LOAD(published_state.frames_played); }
uint64_t camio_engine_unlabelled_input_frames(const camio_engine *engine) { return CAMIO_LOAD(unlabelled_total); }
uint64_t camio_engine_stalls(const camio_engine *engine) { return CAMIO_LOAD(stalls); }
void camio_engine_set_wake_frames(camio_engine *engine, uint32_t frames) {
    atomic_store_explicit(&engine->wake_frames, frames, memory_order_relaxed);
}

bool camio_engine_memory_locked(const camio_engine *engine) { return engine->memory_locked; }
bool camio_engine_is_aligning_inputs(const camio_engine *engine) { return CAMIO_LOAD(published_aligning) != 0; }
uint32_t camio_engine_alignment_frames(const camio_engine *engine) { return (uint32_t)engine->alignment_size; }
uint64_t camio_engine_lost_notices(const camio_engine *engine) { return CAMIO_LOAD(lost_notices); }
uint32_t camio_engine_input_channels(const camio_engine *engine) { return engine->input_channels; }
uint64_t camio_engine_input_ring_bytes(const camio_engine *engine) { return engine->input.mask + 1; }
uint32_t camio_engine_output_channels(const camio_engine *engine) { return engine->output_channels; }

void camio_engine_wake(camio_engine *engine) { sem_post(&engine->wake); }

void camio_engine_wait(camio_engine *engine) {
    while (sem_wait(&engine->wake) != 0 && errno == EINTR) {
    }
    /* Every post since is covered by this wake: the bridge drains all there
     * is. Without this, a bridge that fell behind (a stall) would then run
     * once for every cycle it missed. A post after this loop wakes it again. */
    while (sem_trywait(&engine->wake) == 0) {
    }
}
