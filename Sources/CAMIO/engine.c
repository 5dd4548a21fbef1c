/*
 * The engine: schedule, transport, mixer and capture, driven one process cycle
 * at a time by a driver (JACK or offline). Everything the process thread
 * touches is allocated in camio_engine_create.
 */
#include "engine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

camio_engine *camio_engine_create(const camio_engine_config *config) {
    if (config->input_channels > 4096 || config->output_channels > 4096) return NULL;
    camio_engine *engine = calloc(1, sizeof(camio_engine));
    if (engine == NULL) return NULL;
    engine->input_channels = config->input_channels;
    engine->output_channels = config->output_channels;

    uint64_t capacity = camio_next_power_of_two(config->change_capacity < 64 ? 64 : config->change_capacity);
    uint64_t ring_frames = config->input_ring_frames < 1024 ? 1024 : config->input_ring_frames;
    uint64_t channels = config->input_channels ? config->input_channels : 1;
    /* Room for the samples plus one header per 16 frames, the smallest chunk that is likely. */
    uint64_t ring_bytes = ring_frames * channels * sizeof(float) +
                          (ring_frames / 16 + 1) * sizeof(camio_chunk_info);
    engine->pending = calloc(capacity, sizeof(camio_change));
    bool ok = engine->pending != NULL &&
              camio_spsc_init(&engine->changes, (uint32_t)capacity, sizeof(camio_change)) &&
              camio_spsc_init(&engine->notices, (uint32_t)capacity, sizeof(camio_notice)) &&
              camio_byte_ring_init(&engine->input, ring_bytes) &&
              sem_init(&engine->wake, 0, 0) == 0;
    if (!ok) {
        camio_spsc_free(&engine->changes);
        camio_spsc_free(&engine->notices);
        camio_byte_ring_free(&engine->input);
        free(engine->pending);
        free(engine);
        return NULL;
    }
    engine->pending_mask = capacity - 1;
    engine->history[0] = (camio_segment){0};
    engine->history_count = 1;
    return engine;
}

void camio_engine_destroy(camio_engine *engine) {
    if (engine == NULL) return;
    /* Playspecs belong to the control side, which frees every one it created. */
    camio_spsc_free(&engine->changes);
    camio_spsc_free(&engine->notices);
    camio_byte_ring_free(&engine->input);
    sem_destroy(&engine->wake);
    free(engine->pending);
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
    camio_segment *segment = &engine->history[engine->history_count % CAMIO_HISTORY];
    segment->absolute_start = engine->absolute;
    segment->timeline_start = engine->position;
    segment->playspec_id = engine->current_id;
    segment->rolling = engine->rolling;
    engine->history_count++;
}

static inline uint64_t pending_count(const camio_engine *engine) {
    return engine->pending_tail - engine->pending_head;
}

static inline bool is_due(const camio_engine *engine, const camio_change *change) {
    return (change->flags & CAMIO_CHANGE_IMMEDIATE) || change->insert_at <= engine->position;
}

static void apply_change(camio_engine *engine, const camio_change *change, bool *wake) {
    int64_t old_position = engine->position;
    int64_t new_position;
    if (change->flags & CAMIO_CHANGE_IMMEDIATE)
        new_position = (change->flags & CAMIO_CHANGE_KEEP_POSITION) ? old_position : change->start_from;
    else
        new_position = change->start_from + (old_position - change->insert_at);

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

    camio_notice notice = {
        .change_id = change->id,
        .kind = CAMIO_NOTICE_APPLIED,
        .frame = old_position,
        .position = new_position,
        .retired = retired,
    };
    push_notice(engine, &notice, wake);
}

/* Moves queued changes into the pending FIFO, superseding where asked. */
static void take_changes(camio_engine *engine, bool *wake) {
    camio_change change;
    while (pending_count(engine) <= engine->pending_mask &&
           camio_spsc_pop(&engine->changes, &change)) {
        if (change.flags & CAMIO_CHANGE_SUPERSEDE) {
            while (pending_count(engine) > 0) {
                camio_change *old = &engine->pending[engine->pending_head & engine->pending_mask];
                engine->pending_head++;
                camio_notice notice = {
                    .change_id = old->id,
                    .kind = CAMIO_NOTICE_SUPERSEDED,
                    .frame = engine->position,
                    .position = engine->position,
                    .retired = (old->flags & CAMIO_CHANGE_HAS_PLAYSPEC) ? old->playspec : NULL,
                };
                push_notice(engine, &notice, wake);
            }
        }
        /* Seeks and transport commands are "now": they do not wait behind a
         * playspec change that is pending for a later frame. */
        bool transport_only = (change.flags & CAMIO_CHANGE_IMMEDIATE) &&
                              !(change.flags & CAMIO_CHANGE_HAS_PLAYSPEC);
        if (transport_only) {
            apply_change(engine, &change, wake);
            continue;
        }
        engine->pending[engine->pending_tail & engine->pending_mask] = change;
        engine->pending_tail++;
    }
}

static void apply_due_changes(camio_engine *engine, bool *wake) {
    while (pending_count(engine) > 0) {
        camio_change *head = &engine->pending[engine->pending_head & engine->pending_mask];
        if (!is_due(engine, head)) return;
        engine->pending_head++;
        apply_change(engine, head, wake);
    }
}

static void write_chunk(camio_engine *engine, const float *const *inputs, uint32_t offset,
                        uint32_t count, camio_chunk_info info, bool *wake) {
    uint64_t sample_bytes = (uint64_t)engine->input_channels * count * sizeof(float);
    uint64_t size = sizeof(camio_chunk_info) + sample_bytes;
    if (camio_byte_ring_free_space(&engine->input) < size) {
        /* Never block, never overwrite: count the loss; the next chunk reports it. */
        engine->dropped_pending += count;
        atomic_fetch_add_explicit(&engine->dropped_total, count, memory_order_relaxed);
        return;
    }
    info.dropped_frames_before = engine->dropped_pending;
    engine->dropped_pending = 0;
    uint64_t head = atomic_load_explicit(&engine->input.head, memory_order_relaxed);
    camio_byte_ring_copy_in(&engine->input, head, &info, sizeof info);
    uint64_t at = head + sizeof info;
    for (uint32_t c = 0; c < engine->input_channels; c++) {
        camio_byte_ring_copy_in(&engine->input, at, inputs[c] + offset, count * sizeof(float));
        at += count * sizeof(float);
    }
    atomic_store_explicit(&engine->input.head, head + size, memory_order_release);
    *wake = true;
}

/*
 * Input captured at absolute frame A was played, round_trip frames earlier, at
 * absolute frame A - round_trip. The history of segments maps that to the
 * timeline that was sounding then, so takes line up across swaps and jumps.
 *
 * An input fed straight from the engine's own output is one *cycle* late, not
 * one period of frames: when JACK skips cycles (a stall), what arrives is still
 * the last cycle's output. So that part of the delay is counted in cycles.
 */
static void capture(camio_engine *engine, const float *const *inputs, uint32_t nframes,
                    uint64_t absolute_start, uint64_t usecs, bool *wake) {
    if (engine->input_channels == 0 || inputs == NULL) return;
    int64_t external = (int64_t)atomic_load_explicit(&engine->latency_capture, memory_order_relaxed) +
                       (int64_t)atomic_load_explicit(&engine->latency_playback, memory_order_relaxed);
    bool self_fed = atomic_load_explicit(&engine->latency_self_fed, memory_order_relaxed) != 0;
    int64_t delayed = (self_fed ? (int64_t)engine->previous_cycle_start : (int64_t)absolute_start) - external;
    uint64_t newest = engine->history_count - 1;
    uint64_t oldest = engine->history_count > CAMIO_HISTORY ? engine->history_count - CAMIO_HISTORY : 0;
    uint64_t s = newest;
    while (s > oldest && (int64_t)engine->history[s % CAMIO_HISTORY].absolute_start > delayed) s--;

    /* In the first cycles `delayed` reaches back before the engine started
     * (it is negative): those frames belong to the first segment, stopped at
     * timeline frame 0, like the frames after it until the first change. */
    uint32_t offset = 0;
    int64_t cursor = delayed;
    while (offset < nframes) {
        const camio_segment *segment = &engine->history[s % CAMIO_HISTORY];
        uint32_t count = nframes - offset;
        /* The newest segment is still open: it takes the rest of the period.
         * (No end of INT64_MAX here: `end - cursor` would overflow for a
         * negative cursor, and once did, into a zero-length chunk forever.) */
        if (s < newest) {
            int64_t end = (int64_t)engine->history[(s + 1) % CAMIO_HISTORY].absolute_start;
            if (end <= cursor) { s++; continue; } /* an empty run: a swap and a seek on one frame */
            if (end - cursor < (int64_t)count) count = (uint32_t)(end - cursor);
        }
        camio_chunk_info info = {
            .starting_frame = segment->rolling
                ? segment->timeline_start + (cursor - (int64_t)segment->absolute_start)
                : segment->timeline_start,
            .playspec_id = segment->playspec_id,
            .frame_time = engine->frame_time + offset,
            .cycle_usecs = usecs,
            .channel_count = engine->input_channels,
            .frame_count = count,
            .rolling = segment->rolling,
        };
        write_chunk(engine, inputs, offset, count, info, wake);
        offset += count;
        cursor += count;
        s++;
    }
}

void camio_engine_process(camio_engine *engine, const float *const *inputs,
                          float *const *outputs, uint32_t nframes, uint32_t frame_time,
                          uint64_t usecs) {
    bool wake = false;

    /* A frame time further on than the last cycle's length means cycles were
     * skipped (a stall): the timeline keeps pace with the clock and the input
     * of those frames is lost, and counted. */
    if (engine->have_cycle) {
        uint32_t delta = frame_time - engine->last_frame_time;
        engine->frame_time += delta;
        if (delta > engine->last_nframes) {
            uint32_t gap = delta - engine->last_nframes;
            engine->absolute += gap;
            if (engine->rolling) engine->position += gap;
            engine->dropped_pending += gap;
            atomic_fetch_add_explicit(&engine->dropped_total, gap, memory_order_relaxed);
        }
    } else {
        engine->frame_time = frame_time;
        engine->have_cycle = true;
        /* Before the first cycle nothing was played: as if a cycle of silence had. */
        engine->previous_cycle_start = engine->absolute - nframes;
    }
    engine->last_frame_time = frame_time;
    engine->last_nframes = nframes;

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
        if (engine->rolling) {
            if (engine->current != NULL && outputs != NULL)
                camio_mix(engine->current, engine->position, run, outputs, done);
            engine->position += run;
        }
        engine->absolute += run;
        done += run;
    }

    capture(engine, inputs, nframes, absolute_start, usecs, &wake);
    engine->previous_cycle_start = absolute_start;

    atomic_store_explicit(&engine->published_position, engine->position, memory_order_relaxed);
    atomic_store_explicit(&engine->published_rolling, engine->rolling, memory_order_relaxed);
    atomic_store_explicit(&engine->published_playspec_id, engine->current_id, memory_order_relaxed);
    atomic_store_explicit(&engine->last_period, nframes, memory_order_relaxed);
    atomic_fetch_add_explicit(&engine->cycles, 1, memory_order_release);
    if (wake) camio_engine_wake(engine);
}

/* ---------------------------------------------------------------------- */
/* Shared state                                                           */
/* ---------------------------------------------------------------------- */

void camio_engine_set_latency(camio_engine *engine, uint32_t capture_latency,
                              uint32_t playback_latency, bool self_fed) {
    atomic_store(&engine->latency_capture, capture_latency);
    atomic_store(&engine->latency_playback, playback_latency);
    atomic_store(&engine->latency_self_fed, self_fed ? 1u : 0u);
}

uint32_t camio_engine_round_trip(const camio_engine *engine, uint32_t period) {
    camio_engine *e = (camio_engine *)engine;
    uint32_t total = atomic_load_explicit(&e->latency_capture, memory_order_relaxed) +
                     atomic_load_explicit(&e->latency_playback, memory_order_relaxed);
    if (atomic_load_explicit(&e->latency_self_fed, memory_order_relaxed)) total += period;
    return total;
}

#define CAMIO_LOAD(field) atomic_load_explicit(&((camio_engine *)engine)->field, memory_order_relaxed)

int64_t camio_engine_position(const camio_engine *engine) { return CAMIO_LOAD(published_position); }
bool camio_engine_is_rolling(const camio_engine *engine) { return CAMIO_LOAD(published_rolling) != 0; }
uint64_t camio_engine_playspec_id(const camio_engine *engine) { return CAMIO_LOAD(published_playspec_id); }
uint64_t camio_engine_dropped_input_frames(const camio_engine *engine) { return CAMIO_LOAD(dropped_total); }
uint64_t camio_engine_cycles(const camio_engine *engine) {
    return atomic_load_explicit(&((camio_engine *)engine)->cycles, memory_order_acquire);
}
uint32_t camio_engine_last_period(const camio_engine *engine) { return CAMIO_LOAD(last_period); }
uint32_t camio_engine_latency_capture(const camio_engine *engine) { return CAMIO_LOAD(latency_capture); }
uint32_t camio_engine_latency_playback(const camio_engine *engine) { return CAMIO_LOAD(latency_playback); }
bool camio_engine_latency_self_fed(const camio_engine *engine) { return CAMIO_LOAD(latency_self_fed) != 0; }
uint64_t camio_engine_lost_notices(const camio_engine *engine) { return CAMIO_LOAD(lost_notices); }
uint32_t camio_engine_input_channels(const camio_engine *engine) { return engine->input_channels; }
uint32_t camio_engine_output_channels(const camio_engine *engine) { return engine->output_channels; }

void camio_engine_wake(camio_engine *engine) { sem_post(&engine->wake); }

void camio_engine_wait(camio_engine *engine) {
    while (sem_wait(&engine->wake) != 0 && errno == EINTR) {
    }
}
