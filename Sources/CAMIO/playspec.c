/*
 * Compiled playspecs and the mixer.
 *
 * An entry sounds clip frames [frame_a, frame_a + length) from timeline frame
 * play_at on; with a repeat interval R it starts again at play_at + k*R for
 * every k >= 0, and an occurrence longer than R is cut where the next one
 * starts (a looper's "restart", never two copies of one entry at once).
 * For a window of the timeline the active part of each occurrence is found
 * with one division, so the cost does not grow with the repeat history.
 */
#include "playspec_internal.h"

#include <stdlib.h>
#include <string.h>

camio_playspec *camio_playspec_create(uint64_t id, uint32_t entry_count, uint32_t output_channels) {
    size_t entries_size = sizeof(camio_entry) * (size_t)entry_count;
    size_t gains_size = sizeof(float) * (size_t)entry_count * (size_t)output_channels;
    camio_playspec *playspec = calloc(1, sizeof(camio_playspec) + entries_size + gains_size);
    if (playspec == NULL) return NULL;
    playspec->id = id;
    playspec->entry_count = entry_count;
    playspec->output_channels = output_channels;
    playspec->gain_storage = (float *)((uint8_t *)playspec->entries + entries_size);
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

void camio_mix(const camio_playspec *playspec, int64_t frame, uint32_t nframes,
               float *const *outputs, uint32_t offset) {
    const int64_t window_end = frame + nframes;
    for (uint32_t e = 0; e < playspec->entry_count; e++) {
        const camio_entry *entry = &playspec->entries[e];
        if (entry->play_at >= window_end) break; /* sorted: every later entry starts later */
        if (entry->end <= frame || entry->length <= 0) continue;
        int64_t t = frame > entry->play_at ? frame : entry->play_at;
        if (entry->repeat_interval == 0) {
            int64_t stop = entry->end < window_end ? entry->end : window_end;
            mix_run(entry, playspec->output_channels, outputs, offset + (uint32_t)(t - frame),
                    entry->frame_a + (t - entry->play_at), (uint32_t)(stop - t));
            continue;
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
}
