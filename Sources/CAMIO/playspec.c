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
    size_t targets_size = sizeof(camio_target) * (size_t)entry_count * (size_t)output_channels;
    size_t tree_size = sizeof(int64_t) * 2 * (size_t)leaves;
    size_t active_size = sizeof(uint32_t) * (size_t)entry_count;
    size_t block_size = sizeof(camio_playspec) + entries_size + targets_size + tree_size + active_size;
    camio_playspec *playspec = camio_alloc_pages(block_size);
    if (playspec == NULL) return NULL;
    playspec->block_size = block_size;
    playspec->id = id;
    playspec->entry_count = entry_count;
    playspec->output_channels = output_channels;
    playspec->target_storage = (camio_target *)((uint8_t *)playspec->entries + entries_size);
    playspec->tree_leaves = (uint32_t)leaves;
    playspec->max_end = (int64_t *)((uint8_t *)playspec->target_storage + targets_size);
    playspec->active = (uint32_t *)((uint8_t *)playspec->max_end + tree_size);
    playspec->active_from = playspec->active_until = 0;
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

/* Mixes `entry` over the part of [frame, window_end) it sounds in. */
static void mix_entry(const camio_entry *entry, camio_fan_out_kernel kernel, int64_t frame,
                      int64_t window_end, float *const *outputs, uint32_t offset) {
    int64_t t = frame > entry->play_at ? frame : entry->play_at;
    if (entry->repeat_interval == 0) {
        int64_t stop = entry->end < window_end ? entry->end : window_end;
        if (t >= stop) return;
        kernel(entry->targets, entry->target_count, entry->frame_a + (t - entry->play_at),
               (uint32_t)(stop - t), outputs, offset + (uint32_t)(t - frame));
        return;
    }
    int64_t interval = entry->repeat_interval;
    int64_t phase = (t - entry->play_at) % interval;
    while (t < window_end) {
        if (phase < entry->length) {
            int64_t run = entry->length - phase;
            if (run > window_end - t) run = window_end - t;
            kernel(entry->targets, entry->target_count, entry->frame_a + phase, (uint32_t)run,
                   outputs, offset + (uint32_t)(t - frame));
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
static void find_active(camio_playspec *playspec, int64_t from, int64_t until) {
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
            playspec->active[count++] = top.first;
            continue;
        }
        uint32_t half = top.size / 2;
        stack[depth++] = (subtree){2 * top.node + 1, top.first + half, half};
        stack[depth++] = (subtree){2 * top.node, top.first, half};
    }
    playspec->active_count = count;
    playspec->active_from = from;
    playspec->active_until = until;
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

void camio_mix(camio_playspec *playspec, int64_t frame, uint32_t nframes, int64_t horizon,
               float *const *outputs, uint32_t offset) {
    const int64_t window_end = frame + nframes;
    if (frame < playspec->active_from || window_end > playspec->active_until)
        find_active(playspec, frame, horizon > window_end ? horizon : window_end);
    const camio_fan_out_kernel kernel = camio_current_kernel();
    const uint32_t count = playspec->active_count;
    for (uint32_t i = 0; i < count && i < CAMIO_PREFETCH_AHEAD; i++)
        prefetch_run(&playspec->entries[playspec->active[i]], frame, nframes);
    for (uint32_t i = 0; i < count; i++) {
        if (i + CAMIO_PREFETCH_AHEAD < count)
            prefetch_run(&playspec->entries[playspec->active[i + CAMIO_PREFETCH_AHEAD]], frame, nframes);
        mix_entry(&playspec->entries[playspec->active[i]], kernel, frame, window_end, outputs, offset);
    }
}
