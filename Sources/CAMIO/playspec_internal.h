#ifndef CAMIO_PLAYSPEC_INTERNAL_H
#define CAMIO_PLAYSPEC_INTERNAL_H

#include "camio.h"
#include "kernels.h"

#include <stdatomic.h>

struct camio_clip_progress {
    _Atomic int64_t ready;      /* written by the loader, read by the mixer */
    /* On a line of its own: the mixer adds to it while the loader publishes. */
    _Alignas(64) _Atomic uint64_t starved;
};

typedef struct camio_entry {
    const camio_target *targets;  /* target_count outputs it feeds, inside the playspec block */
    int64_t frame_a;              /* first clip frame of the crop */
    int64_t length;               /* frames per occurrence: the crop, cut at repeat_interval */
    int64_t play_at;              /* timeline frame where clip frame frame_a sounds */
    int64_t repeat_interval;      /* 0 = once */
    int64_t end;                  /* timeline frame after the last sample (INT64_MAX if repeating) */
    uint32_t target_count;        /* outputs with a clip channel and a nonzero gain */
    uint32_t order;               /* index given by the caller: ties in play_at keep it */
    /* Fades at each occurrence's start and end, and a gain envelope (see
     * camio_playspec_set_fades and _set_envelope); `shaped` says there is
     * either, so a plain entry costs one test. */
    int64_t fade_in, fade_out;
    const int64_t *envelope_frames; /* envelope_count, strictly increasing, in the block */
    const float *envelope_gains;    /* envelope_count * envelope_width, point-major */
    uint32_t envelope_count;
    uint32_t envelope_width;        /* 1 (one gain for every output) or output_channels */
    uint8_t fade_shape;             /* camio_fade_shape */
    bool envelope_per_occurrence;   /* frames from each occurrence's start, not timeline frames */
    bool shaped;
    /* A clip still being written (camio_playspec_set_progress), else NULL:
     * only its ready frames are read. */
    camio_clip_progress *progress;
} camio_entry;

typedef struct camio_active_list {
    uint32_t *indices;            /* entry_count of them, after the tree */
    uint32_t count;
    int64_t from, until;          /* empty until the first mix */
} camio_active_list;

struct camio_playspec {
    uint64_t id;
    uint32_t entry_count;
    uint32_t output_channels;
    size_t block_size;            /* this struct and everything after it, one allocation */
    bool memory_locked;           /* by finish (camio_pin_memory) */
    /* entry_count * output_channels targets after the entries; entry i's are
     * at i * output_channels, however the sort moves the entry itself. */
    camio_target *target_storage;
    /* A max-end tree over the entries in play_at order, built by finish:
     * node 1 is the root, node n's children are 2n and 2n+1, leaf i is node
     * tree_leaves + i and holds entry i's end (INT64_MIN for an empty slot);
     * each inner node the largest end below it. The mixer descends only
     * into subtrees holding an entry that ends after the window starts, so
     * a window costs O(active entries × log N), not O(entries started). */
    uint32_t tree_leaves;         /* a power of two, at least entry_count */
    int64_t *max_end;             /* 2 * tree_leaves values, after the targets */
    /* For each place the playspec is mixed at (camio_mix_place), the
     * entries active in [from, until), in play_at order, written by the one
     * thread that mixes (the process thread). A period split into runs by
     * changes finds them once, for the whole period, and each run reuses
     * them; a crossfade of the playspec with itself (a loop jump) keeps one
     * list per side instead of finding both again for every tile. */
    camio_active_list active[CAMIO_MIX_PLACES];
    /* Envelope breakpoints, handed out in turn by set_envelope, after the
     * active list; and the shaped mixer's per-tile weights (pinned with the
     * rest, so no first touch of a stack page happens in a late cycle). */
    int64_t *envelope_frame_storage;
    float *envelope_gain_storage;
    uint64_t envelope_point_capacity, envelope_points_used;
    uint64_t envelope_gain_capacity, envelope_gains_used;
    float *tile_weights;          /* CAMIO_TILE: fades (and a shared envelope) of one tile */
    float *target_weights;        /* CAMIO_TILE: those times one output's envelope */
    camio_entry entries[];
};

#endif
