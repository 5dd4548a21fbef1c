/*
 * Compiled playspecs and the mixer.
 *
 * An entry sounds clip frames [frame_a, frame_a + length) from timeline frame
 * play_at on; with a repeat interval R it starts again at play_at + k*R for
 * every k >= 0, and an occurrence longer than R is cut where the next one
 * starts (a looper's "restart", never two copies of one entry at once).
 * For a window of the timeline the active part of each occurrence is found
 * with one division, so the cost does not grow with the repeat history, and
 * the entries active in it are found through a max-end tree, so it does not
 * grow with the entries that played before it either.
 */
#include "playspec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Weights are computed as written, never fused into a multiply-add: the
 * same on every machine and at every optimisation level. */
#pragma clang fp contract(off)

/* Vector types for the envelope (see kernels.c: vector code at -O0 too). */
typedef double camio_d4 __attribute__((ext_vector_type(4)));
typedef float camio_f4 __attribute__((ext_vector_type(4)));
typedef int64_t camio_i4 __attribute__((ext_vector_type(4)));

camio_playspec *camio_playspec_create(uint64_t id, uint32_t entry_count, uint32_t output_channels,
                                      uint64_t envelope_points, uint64_t envelope_gains) {
    uint64_t leaves = 1;
    while (leaves < entry_count) leaves <<= 1;
    /* Breakpoints beyond 2^32 or gains beyond 2^40 are no playspec anyone
     * means; refusing them keeps every size below far from overflow. */
    if (envelope_points > UINT32_MAX || envelope_gains > ((uint64_t)1 << 40)) return NULL;
    size_t entries_size = sizeof(camio_entry) * (size_t)entry_count;
    size_t targets_size = sizeof(camio_target) * (size_t)entry_count * (size_t)output_channels;
    size_t tree_size = sizeof(int64_t) * 2 * (size_t)leaves;
    size_t active_size = sizeof(uint32_t) * (size_t)entry_count * CAMIO_MIX_PLACES;
    /* The frames need 8-byte alignment: the active list may end on 4. */
    size_t envelope_offset = (active_size + 7) & ~(size_t)7;
    size_t envelope_size = sizeof(int64_t) * (size_t)envelope_points + sizeof(float) * (size_t)envelope_gains;
    size_t weights_size = 2 * CAMIO_TILE * sizeof(float);
    size_t block_size = sizeof(camio_playspec) + entries_size + targets_size + tree_size + envelope_offset +
                        envelope_size + weights_size;
    camio_playspec *playspec = camio_alloc_pages(block_size);
    if (playspec == NULL) return NULL;
    playspec->block_size = block_size;
    playspec->id = id;
    playspec->entry_count = entry_count;
    playspec->output_channels = output_channels;
    playspec->target_storage = (camio_target *)((uint8_t *)playspec->entries + entries_size);
    playspec->tree_leaves = (uint32_t)leaves;
    playspec->max_end = (int64_t *)((uint8_t *)playspec->target_storage + targets_size);
    uint32_t *indices = (uint32_t *)((uint8_t *)playspec->max_end + tree_size);
    for (uint32_t place = 0; place < CAMIO_MIX_PLACES; place++)
        playspec->active[place] = (camio_active_list){.indices = indices + (size_t)place * entry_count};
    playspec->envelope_frame_storage = (int64_t *)((uint8_t *)indices + envelope_offset);
    playspec->envelope_gain_storage = (float *)(playspec->envelope_frame_storage + envelope_points);
    playspec->envelope_point_capacity = envelope_points;
    playspec->envelope_gain_capacity = envelope_gains;
    playspec->tile_weights = playspec->envelope_gain_storage + envelope_gains;
    playspec->target_weights = playspec->tile_weights + CAMIO_TILE;
    return playspec;
}

void camio_playspec_set_entry(camio_playspec *playspec, uint32_t index,
                              const float *const *channels, uint32_t clip_channels,
                              int64_t frame_a, int64_t frame_b, int64_t play_at,
                              int64_t repeat_interval, const float *gains) {
    if (index >= playspec->entry_count) return;
    camio_entry *entry = &playspec->entries[index];
    camio_target *targets = playspec->target_storage + (size_t)index * playspec->output_channels;
    /* A mono clip feeds every output; a wider one output c from its channel c
     * (outputs beyond its channels stay silent). A zero gain feeds nothing. */
    uint32_t target_count = 0;
    for (uint32_t c = 0; c < playspec->output_channels; c++) {
        uint32_t source = clip_channels == 1 ? 0 : c;
        if (source >= clip_channels || gains[c] == 0.0f) continue;
        targets[target_count++] = (camio_target){channels[source], gains[c], c};
    }
    int64_t length = frame_b - frame_a;
    if (repeat_interval > 0 && length > repeat_interval) length = repeat_interval;
    entry->targets = targets;
    entry->target_count = target_count;
    entry->frame_a = frame_a;
    entry->length = length;
    entry->play_at = play_at;
    entry->repeat_interval = repeat_interval;
    entry->end = repeat_interval > 0 ? INT64_MAX : play_at + length;
    entry->order = index;
    entry->fade_in = entry->fade_out = 0;
    entry->envelope_count = 0;
    entry->shaped = false;
    entry->progress = NULL;
}

camio_clip_progress *camio_clip_progress_create(void) {
    camio_clip_progress *progress = aligned_alloc(_Alignof(camio_clip_progress), sizeof(camio_clip_progress));
    if (progress == NULL) return NULL;
    atomic_init(&progress->ready, 0);
    atomic_init(&progress->starved, 0);
    return progress;
}

void camio_clip_progress_destroy(camio_clip_progress *progress) { free(progress); }

void camio_clip_progress_publish(camio_clip_progress *progress, int64_t ready) {
    if (ready > atomic_load_explicit(&progress->ready, memory_order_relaxed))
        atomic_store_explicit(&progress->ready, ready, memory_order_release);
}

int64_t camio_clip_progress_ready(const camio_clip_progress *progress) {
    return atomic_load_explicit(&((camio_clip_progress *)progress)->ready, memory_order_acquire);
}

uint64_t camio_clip_progress_starved(const camio_clip_progress *progress) {
    return atomic_load_explicit(&((camio_clip_progress *)progress)->starved, memory_order_relaxed);
}

void camio_playspec_set_progress(camio_playspec *playspec, uint32_t index, camio_clip_progress *progress) {
    if (index >= playspec->entry_count) return;
    playspec->entries[index].progress = progress;
}

void camio_playspec_set_fades(camio_playspec *playspec, uint32_t index, int64_t fade_in, int64_t fade_out,
                              camio_fade_shape shape) {
    if (index >= playspec->entry_count) return;
    camio_entry *entry = &playspec->entries[index];
    entry->fade_in = fade_in > 0 ? fade_in : 0;
    entry->fade_out = fade_out > 0 ? fade_out : 0;
    entry->fade_shape = (uint8_t)shape;
    entry->shaped = entry->fade_in > 0 || entry->fade_out > 0 || entry->envelope_count > 0;
}

bool camio_playspec_set_envelope(camio_playspec *playspec, uint32_t index, const int64_t *frames,
                                 const float *gains, uint32_t count, uint32_t width, bool per_occurrence) {
    if (index >= playspec->entry_count || count == 0) return false;
    if (width != 1 && width != playspec->output_channels) return false;
    uint64_t gain_count = (uint64_t)count * width;
    if (count > playspec->envelope_point_capacity - playspec->envelope_points_used ||
        gain_count > playspec->envelope_gain_capacity - playspec->envelope_gains_used)
        return false;
    int64_t *frame_copy = playspec->envelope_frame_storage + playspec->envelope_points_used;
    float *gain_copy = playspec->envelope_gain_storage + playspec->envelope_gains_used;
    memcpy(frame_copy, frames, sizeof(int64_t) * count);
    memcpy(gain_copy, gains, sizeof(float) * gain_count);
    playspec->envelope_points_used += count;
    playspec->envelope_gains_used += gain_count;
    camio_entry *entry = &playspec->entries[index];
    entry->envelope_frames = frame_copy;
    entry->envelope_gains = gain_copy;
    entry->envelope_count = count;
    entry->envelope_width = width;
    entry->envelope_per_occurrence = per_occurrence;
    entry->shaped = true;
    return true;
}

/* sin(y) for y in [0, π/2], by its Taylor series to y^15 (the first term
 * left out is below 2e-11), and 2^f for f in [0, 1) by e^(f ln 2) to the
 * 12th power (below 1e-12): plain double arithmetic, so a weight is the same
 * on every machine (libm's sin and exp differ between libraries and
 * versions, and a render must not), and cheap enough for every frame of a
 * crossfade; nor is a call into libm through a lazily bound PLT slot made
 * on the process thread (its first one faults). */
static inline double sine_quarter(double y) {
    double y2 = y * y;
    double sum = 1.0 / 1307674368000.0; /* 1/15! */
    sum = sum * -y2 + 1.0 / 6227020800.0;
    sum = sum * -y2 + 1.0 / 39916800.0;
    sum = sum * -y2 + 1.0 / 362880.0;
    sum = sum * -y2 + 1.0 / 5040.0;
    sum = sum * -y2 + 1.0 / 120.0;
    sum = sum * -y2 + 1.0 / 6.0;
    sum = sum * -y2 + 1.0;
    return sum * y;
}

static inline double two_to_the(double w) {
    /* floor(w) without libm (a call through a lazily bound PLT slot would
     * fault on the process thread the first time): w lies in [-10, 0]. */
    double whole = (double)(int)w;
    if (whole > w) whole -= 1;
    double z = (w - whole) * 0.6931471805599453; /* f · ln 2 */
    double term = 1.0, series = 1.0;
    for (int k = 1; k <= 12; k++) {
        term *= z / k;
        series += term;
    }
    /* 2^whole exactly: whole lies in [-10, 0] here. */
    double scale = 1.0;
    for (int k = 0; k > (int)whole; k--) scale *= 0.5;
    return series * scale;
}

float camio_fade_weight(uint32_t shape, double x) {
    if (!(x > 0)) return 0; /* NaN too */
    if (x >= 1) return 1;
    switch (shape) {
    case CAMIO_FADE_EQUAL_POWER: return (float)sine_quarter(x * (M_PI / 2));
    case CAMIO_FADE_EXPONENTIAL: {
        /* 10^(3(x−1)) = 2^(3 log2(10) (x−1)), lifted so that s(0) is 0. */
        const double floor_gain = 1e-3;
        return (float)((two_to_the(9.965784284662087 * (x - 1)) - floor_gain) / (1 - floor_gain));
    }
    default: return (float)x;
    }
}

static int compare_play_at(const void *a, const void *b) {
    const camio_entry *x = a, *y = b;
    /* Stable, so the sum is taken in a fixed order and renders are reproducible. */
    if (x->play_at != y->play_at) return (x->play_at > y->play_at) - (x->play_at < y->play_at);
    return (x->order > y->order) - (x->order < y->order);
}

void camio_playspec_finish(camio_playspec *playspec) {
    /* The targets stay where they are; each entry carries its own pointer. */
    qsort(playspec->entries, playspec->entry_count, sizeof(camio_entry), compare_play_at);
    uint32_t leaves = playspec->tree_leaves;
    int64_t *max_end = playspec->max_end;
    for (uint32_t i = 0; i < leaves; i++) {
        const camio_entry *entry = &playspec->entries[i];
        bool sounds = i < playspec->entry_count && entry->length > 0 && entry->target_count > 0;
        max_end[leaves + i] = sounds ? entry->end : INT64_MIN;
    }
    for (uint32_t node = leaves - 1; node >= 1; node--) {
        int64_t left = max_end[2 * node], right = max_end[2 * node + 1];
        max_end[node] = left > right ? left : right;
    }
    /* The process thread reads all of it and writes the active list. */
    playspec->memory_locked = camio_pin_memory(playspec, camio_page_rounded(playspec->block_size));
}

void camio_playspec_destroy(camio_playspec *playspec) {
    if (playspec == NULL) return;
    if (playspec->memory_locked) camio_unpin_memory(playspec, camio_page_rounded(playspec->block_size));
    free(playspec);
}

bool camio_playspec_memory_locked(const camio_playspec *playspec) { return playspec->memory_locked; }

uint64_t camio_playspec_id(const camio_playspec *playspec) { return playspec->id; }

/* The fade weights of occurrence frames [phase, phase + count) into
 * `weights`; false (nothing written) when every one of them is 1. */
static bool fade_weights(const camio_entry *entry, int64_t phase, uint32_t count, float *weights) {
    const int64_t length = entry->length, fade_in = entry->fade_in, fade_out = entry->fade_out;
    /* Frames from fade_in up to length - fade_out have weight s(1) = 1. */
    const int64_t plain_until = fade_out > 0 ? length - fade_out + 1 : length;
    if (phase >= fade_in && phase + count <= plain_until) return false;
    for (uint32_t i = 0; i < count; i++) {
        int64_t p = phase + i;
        float weight = 1;
        if (p < fade_in) weight = camio_fade_weight(entry->fade_shape, (double)p / (double)fade_in);
        else if (length - p < fade_out) weight = camio_fade_weight(entry->fade_shape, (double)(length - p) / (double)fade_out);
        weights[i] = weight;
    }
    return true;
}

/* The envelope's gain for output column `column` at envelope frames
 * [from, from + count), times base[i] when there is a base, into `weights`.
 * Each value depends on its own frame only (the segment's slope times the
 * frame's distance from the segment's start), never on where a run began,
 * so a period split anywhere gives the same samples. */
static void envelope_weights(const camio_entry *entry, int64_t from, uint32_t count, uint32_t column,
                             const float *_Nullable base, float *weights) {
    const int64_t *frames = entry->envelope_frames;
    const float *gains = entry->envelope_gains;
    const uint32_t points = entry->envelope_count, width = entry->envelope_width;
    /* `next`: the first breakpoint after `from`. */
    uint32_t low = 0, high = points;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (frames[middle] <= from) low = middle + 1;
        else high = middle;
    }
    uint32_t next = low;
    uint32_t i = 0;
    while (i < count) {
        const int64_t frame = from + i;
        /* Frames up to the next breakpoint, or the rest of the window. */
        uint32_t run = count - i;
        if (next < points && frames[next] - frame < (int64_t)run) run = (uint32_t)(frames[next] - frame);
        if (next == 0 || next == points) {
            const float held = gains[(size_t)(next == 0 ? 0 : points - 1) * width + column];
            for (uint32_t r = 0; r < run; r++) weights[i + r] = held;
        } else {
            const int64_t start = frames[next - 1];
            const double first = gains[(size_t)(next - 1) * width + column];
            const double slope = (gains[(size_t)next * width + column] - first) / (double)(frames[next] - start);
            /* Each frame's distance from the segment's start is converted
             * to a double on its own, as an integer (rounded alike wherever
             * a run began, also beyond 2^53 frames), in the vector lanes
             * and in the scalar tail. */
            const int64_t offset = frame - start;
            const camio_i4 lanes = {0, 1, 2, 3};
            uint32_t r = 0;
            for (; r + 4 <= run; r += 4) {
                camio_d4 distances = __builtin_convertvector((offset + (int64_t)r) + lanes, camio_d4);
                camio_d4 values = first + slope * distances;
                camio_f4 narrowed = __builtin_convertvector(values, camio_f4);
                memcpy(weights + i + r, &narrowed, sizeof narrowed);
            }
            for (; r < run; r++) weights[i + r] = (float)(first + slope * (double)(offset + (int64_t)r));
        }
        i += run;
        if (next < points && from + i >= frames[next]) next++;
    }
    if (base != NULL)
        for (uint32_t k = 0; k < count; k++) weights[k] *= base[k];
}

/* Adds `count` frames of `entry` from occurrence frame `phase` (timeline
 * frame `frame`) into outputs[…][offset …]: the plain kernel, or, under a
 * fade or an envelope, the weighted one a tile at a time. A weight of 1
 * gives the plain kernel's samples exactly ((g·1)·x = g·x), so where a
 * run is cut never changes a sample. */
static void mix_run(camio_playspec *playspec, const camio_entry *entry, camio_fan_out_kernel kernel,
                    int64_t phase, int64_t frame, uint32_t count, float *const *outputs, uint32_t offset) {
    const int64_t clip_frame = entry->frame_a + phase;
    if (entry->progress != NULL) {
        /* Acquire: the samples below `ready` were written before it was published. */
        const int64_t ready = atomic_load_explicit(&entry->progress->ready, memory_order_acquire);
        if (clip_frame + count > ready) {
            const uint32_t available = ready > clip_frame ? (uint32_t)(ready - clip_frame) : 0;
            atomic_fetch_add_explicit(&entry->progress->starved, count - available, memory_order_relaxed);
            count = available;
            if (count == 0) return;
        }
    }
    if (!entry->shaped) {
        kernel(entry->targets, entry->target_count, clip_frame, count, outputs, offset);
        return;
    }
    const camio_weighted_kernel weighted = camio_current_weighted_kernel();
    float *tile_weights = playspec->tile_weights, *target_weights = playspec->target_weights;
    for (uint32_t done = 0; done < count;) {
        const uint32_t n = count - done < CAMIO_TILE ? count - done : CAMIO_TILE;
        const bool faded = fade_weights(entry, phase + done, n, tile_weights);
        const int64_t envelope_frame = (entry->envelope_per_occurrence ? phase : frame) + done;
        if (entry->envelope_count == 0 && !faded) {
            kernel(entry->targets, entry->target_count, clip_frame + done, n, outputs, offset + done);
        } else if (entry->envelope_count == 0 || entry->envelope_width == 1) {
            const float *weights = tile_weights;
            if (entry->envelope_count > 0) {
                envelope_weights(entry, envelope_frame, n, 0, faded ? tile_weights : NULL, target_weights);
                weights = target_weights;
            }
            for (uint32_t t = 0; t < entry->target_count; t++) {
                const camio_target *target = &entry->targets[t];
                weighted(outputs[target->output] + offset + done, target->source + clip_frame + done, target->gain,
                         weights, n);
            }
        } else {
            for (uint32_t t = 0; t < entry->target_count; t++) {
                const camio_target *target = &entry->targets[t];
                envelope_weights(entry, envelope_frame, n, target->output, faded ? tile_weights : NULL, target_weights);
                weighted(outputs[target->output] + offset + done, target->source + clip_frame + done, target->gain,
                         target_weights, n);
            }
        }
        done += n;
    }
}

/* Mixes `entry` over the part of [frame, window_end) it sounds in. */
static void mix_entry(camio_playspec *playspec, const camio_entry *entry, camio_fan_out_kernel kernel, int64_t frame,
                      int64_t window_end, float *const *outputs, uint32_t offset) {
    int64_t t = frame > entry->play_at ? frame : entry->play_at;
    if (entry->repeat_interval == 0) {
        int64_t stop = entry->end < window_end ? entry->end : window_end;
        if (t >= stop) return;
        mix_run(playspec, entry, kernel, t - entry->play_at, t, (uint32_t)(stop - t), outputs, offset + (uint32_t)(t - frame));
        return;
    }
    int64_t interval = entry->repeat_interval;
    int64_t phase = (t - entry->play_at) % interval;
    while (t < window_end) {
        if (phase < entry->length) {
            int64_t run = entry->length - phase;
            if (run > window_end - t) run = window_end - t;
            mix_run(playspec, entry, kernel, phase, t, (uint32_t)run, outputs, offset + (uint32_t)(t - frame));
            t += run;
            phase += run;
        } else {
            t += interval - phase;
            phase = 0;
        }
    }
}

/* The number of entries that start before `window_end` (they are sorted by play_at). */
static uint32_t started_before(const camio_playspec *playspec, int64_t window_end) {
    uint32_t low = 0, high = playspec->entry_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (playspec->entries[middle].play_at < window_end) low = middle + 1;
        else high = middle;
    }
    return low;
}

/* Lists the entries that sound somewhere in [from, until), in play_at order. */
static void find_active(camio_playspec *playspec, camio_active_list *list, int64_t from, int64_t until) {
    const uint32_t started = started_before(playspec, until);
    uint32_t count = 0;
    /* Depth-first over the max-end tree, left before right, so entries come
     * in play_at order (the sum's order, which renders must reproduce).
     * Each stack entry is a node and the first leaf index it covers. */
    typedef struct { uint32_t node, first, size; } subtree;
    subtree stack[2 * 33]; /* one pending right sibling per level, and two */
    uint32_t depth = 0;
    if (started > 0) stack[depth++] = (subtree){1, 0, playspec->tree_leaves};
    while (depth > 0) {
        subtree top = stack[--depth];
        if (top.first >= started || playspec->max_end[top.node] <= from) continue;
        if (top.size == 1) {
            list->indices[count++] = top.first;
            continue;
        }
        uint32_t half = top.size / 2;
        stack[depth++] = (subtree){2 * top.node + 1, top.first + half, half};
        stack[depth++] = (subtree){2 * top.node, top.first, half};
    }
    list->count = count;
    list->from = from;
    list->until = until;
}

/* How many entries ahead the mixer asks for samples: thousands of clips are
 * thousands of streams, far more than the hardware prefetcher follows, and
 * each one's first lines would otherwise cost a full trip to DRAM, in turn. */
enum { CAMIO_PREFETCH_AHEAD = 8, CAMIO_PREFETCH_LINES = 32, CAMIO_FLOATS_PER_LINE = 16 };

/* Requests the samples `entry` will read for [frame, frame + nframes), up to
 * CAMIO_PREFETCH_LINES cache lines per source. A hint: it never faults. */
static inline void prefetch_run(const camio_entry *entry, int64_t frame, uint32_t nframes) {
    if (frame < entry->play_at || frame >= entry->end) return;
    int64_t phase = frame - entry->play_at;
    if (entry->repeat_interval > 0) phase %= entry->repeat_interval;
    if (phase >= entry->length) return;
    int64_t frames = entry->length - phase < nframes ? entry->length - phase : nframes;
    uint32_t lines = (uint32_t)((frames + CAMIO_FLOATS_PER_LINE - 1) / CAMIO_FLOATS_PER_LINE);
    if (lines > CAMIO_PREFETCH_LINES) lines = CAMIO_PREFETCH_LINES;
    for (uint32_t t = 0; t < entry->target_count; t++) {
        const float *source = entry->targets[t].source + entry->frame_a + phase;
        /* A mono clip's later targets read the same samples. */
        if (t > 0 && entry->targets[t - 1].source == entry->targets[t].source) continue;
        for (uint32_t line = 0; line < lines; line++) __builtin_prefetch(source + line * CAMIO_FLOATS_PER_LINE);
    }
}

void camio_mix(camio_playspec *playspec, camio_mix_place place, int64_t frame, uint32_t nframes, int64_t horizon,
               float *const *outputs, uint32_t offset) {
    const int64_t window_end = frame + nframes;
    camio_active_list *list = &playspec->active[place < CAMIO_MIX_PLACES ? place : 0];
    if (frame < list->from || window_end > list->until)
        find_active(playspec, list, frame, horizon > window_end ? horizon : window_end);
    const camio_fan_out_kernel kernel = camio_current_kernel();
    const uint32_t count = list->count;
    const uint32_t *active = list->indices;
    for (uint32_t i = 0; i < count && i < CAMIO_PREFETCH_AHEAD; i++)
        prefetch_run(&playspec->entries[active[i]], frame, nframes);
    for (uint32_t i = 0; i < count; i++) {
        if (i + CAMIO_PREFETCH_AHEAD < count)
            prefetch_run(&playspec->entries[active[i + CAMIO_PREFETCH_AHEAD]], frame, nframes);
        mix_entry(playspec, &playspec->entries[active[i]], kernel, frame, window_end, outputs, offset);
    }
}
