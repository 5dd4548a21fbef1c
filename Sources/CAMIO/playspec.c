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

#include <stdlib.h>
#include <string.h>

camio_playspec *camio_playspec_create(uint64_t id, uint32_t entry_count, uint32_t output_channels) {
    uint64_t leaves = 1;
    while (leaves < entry_count) leaves <<= 1;
    size_t entries_size = sizeof(camio_entry) * (size_t)entry_count;
    /* The tree's int64 values after the gains, kept 8-byte aligned. */
    size_t gains_size = (sizeof(float) * (size_t)entry_count * (size_t)output_channels + 7) & ~(size_t)7;
    size_t tree_size = sizeof(int64_t) * 2 * (size_t)leaves;
    camio_playspec *playspec = calloc(1, sizeof(camio_playspec) + entries_size + gains_size + tree_size);
    if (playspec == NULL) return NULL;
    playspec->id = id;
    playspec->entry_count = entry_count;
    playspec->output_channels = output_channels;
    playspec->gain_storage = (float *)((uint8_t *)playspec->entries + entries_size);
    playspec->tree_leaves = (uint32_t)leaves;
    playspec->max_end = (int64_t *)((uint8_t *)playspec->gain_storage + gains_size);
    return playspec;
}

void camio_playspec_set_entry(camio_playspec *playspec, uint32_t index,
                              const float *const *channels, uint32_t clip_channels,
                              int64_t frame_a, int64_t frame_b, int64_t play_at,
                              int64_t repeat_interval, const float *gains) {
    if (index >= playspec->entry_count) return;
    camio_entry *entry = &playspec->entries[index];
    float *entry_gains = playspec->gain_storage + (size_t)index * playspec->output_channels;
    memcpy(entry_gains, gains, sizeof(float) * playspec->output_channels);
    int64_t length = frame_b - frame_a;
    if (repeat_interval > 0 && length > repeat_interval) length = repeat_interval;
    entry->channels = channels;
    entry->gains = entry_gains;
    entry->frame_a = frame_a;
    entry->length = length;
    entry->play_at = play_at;
    entry->repeat_interval = repeat_interval;
    entry->end = repeat_interval > 0 ? INT64_MAX : play_at + length;
    entry->clip_channels = clip_channels;
    entry->order = index;
}

static int compare_play_at(const void *a, const void *b) {
    const camio_entry *x = a, *y = b;
    /* Stable, so the sum is taken in a fixed order and renders are reproducible. */
    if (x->play_at != y->play_at) return (x->play_at > y->play_at) - (x->play_at < y->play_at);
    return (x->order > y->order) - (x->order < y->order);
}

void camio_playspec_finish(camio_playspec *playspec) {
    /* The gains stay where they are; each entry carries its own pointer. */
    qsort(playspec->entries, playspec->entry_count, sizeof(camio_entry), compare_play_at);
    uint32_t leaves = playspec->tree_leaves;
    int64_t *max_end = playspec->max_end;
    for (uint32_t i = 0; i < leaves; i++) {
        const camio_entry *entry = &playspec->entries[i];
        max_end[leaves + i] = i < playspec->entry_count && entry->length > 0 ? entry->end : INT64_MIN;
    }
    for (uint32_t node = leaves - 1; node >= 1; node--) {
        int64_t left = max_end[2 * node], right = max_end[2 * node + 1];
        max_end[node] = left > right ? left : right;
    }
}

void camio_playspec_destroy(camio_playspec *playspec) { free(playspec); }

uint64_t camio_playspec_id(const camio_playspec *playspec) { return playspec->id; }

/* A contiguous multiply-add: restrict lets the compiler vectorise it. */
static inline void add_scaled(float *restrict destination, const float *restrict source,
                              float gain, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) destination[i] += gain * source[i];
}

static inline void mix_run(const camio_entry *entry, uint32_t output_channels,
                           float *const *outputs, uint32_t out_offset, int64_t clip_frame,
                           uint32_t count) {
    bool mono = entry->clip_channels == 1;
    for (uint32_t c = 0; c < output_channels; c++) {
        float gain = entry->gains[c];
        if (gain == 0.0f) continue;
        if (!mono && c >= entry->clip_channels) break;
        const float *source = entry->channels[mono ? 0 : c] + clip_frame;
        add_scaled(outputs[c] + out_offset, source, gain, count);
    }
}

/* Mixes `entry`, which starts before the window's end and ends after its start. */
static void mix_entry(const camio_playspec *playspec, const camio_entry *entry, int64_t frame,
                      int64_t window_end, float *const *outputs, uint32_t offset) {
    int64_t t = frame > entry->play_at ? frame : entry->play_at;
    if (entry->repeat_interval == 0) {
        int64_t stop = entry->end < window_end ? entry->end : window_end;
        mix_run(entry, playspec->output_channels, outputs, offset + (uint32_t)(t - frame),
                entry->frame_a + (t - entry->play_at), (uint32_t)(stop - t));
        return;
    }
    int64_t interval = entry->repeat_interval;
    int64_t phase = (t - entry->play_at) % interval;
    while (t < window_end) {
        if (phase < entry->length) {
            int64_t run = entry->length - phase;
            if (run > window_end - t) run = window_end - t;
            mix_run(entry, playspec->output_channels, outputs, offset + (uint32_t)(t - frame),
                    entry->frame_a + phase, (uint32_t)run);
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

void camio_mix(const camio_playspec *playspec, int64_t frame, uint32_t nframes,
               float *const *outputs, uint32_t offset) {
    const int64_t window_end = frame + nframes;
    const uint32_t started = started_before(playspec, window_end);
    if (started == 0) return;
    /* Depth-first over the max-end tree, left before right, so entries mix
     * in play_at order (the sum's order, which renders must reproduce).
     * Each stack entry is a node and the first leaf index it covers. */
    typedef struct { uint32_t node, first, size; } subtree;
    subtree stack[2 * 33]; /* one pending right sibling per level, and two */
    uint32_t depth = 0;
    stack[depth++] = (subtree){1, 0, playspec->tree_leaves};
    while (depth > 0) {
        subtree top = stack[--depth];
        if (top.first >= started || playspec->max_end[top.node] <= frame) continue;
        if (top.size == 1) {
            mix_entry(playspec, &playspec->entries[top.first], frame, window_end, outputs, offset);
            continue;
        }
        uint32_t half = top.size / 2;
        stack[depth++] = (subtree){2 * top.node + 1, top.first + half, half};
        stack[depth++] = (subtree){2 * top.node, top.first, half};
    }
}

