#ifndef CAMIO_PLAYSPEC_INTERNAL_H
#define CAMIO_PLAYSPEC_INTERNAL_H

#include "camio.h"

typedef struct camio_entry {
    const float *const *channels; /* clip_channels planar buffers, owned by the clip */
    const float *gains;           /* output_channels gains, inside the playspec block */
    int64_t frame_a;              /* first clip frame of the crop */
    int64_t length;               /* frames per occurrence: the crop, cut at repeat_interval */
    int64_t play_at;              /* timeline frame where clip frame frame_a sounds */
    int64_t repeat_interval;      /* 0 = once */
    int64_t end;                  /* timeline frame after the last sample (INT64_MAX if repeating) */
    uint32_t clip_channels;
    uint32_t order;               /* index given by the caller: ties in play_at keep it */
} camio_entry;

struct camio_playspec {
    uint64_t id;
    uint32_t entry_count;
    uint32_t output_channels;
    float *gain_storage;          /* entry_count * output_channels floats, after the entries */
    camio_entry entries[];
};

#endif
