/*
 * The mixer's inner loop: one run of an entry added into its outputs.
 *
 * Internal to the C core. Every variant computes exactly
 *     output[i] += gain * source[i]    (a multiply, then an add, rounded each)
 * in the same order, so they give identical samples: which one a machine
 * runs never changes a render, and an offline render made on one machine
 * equals what JACK plays on another.
 */
#ifndef CAMIO_KERNELS_H
#define CAMIO_KERNELS_H

#include <stdint.h>

/* One output an entry feeds: the clip channel it reads (its planar buffer,
 * stored here so the mixer never chases the clip's pointer array) and its
 * gain. An entry's targets are in output order; a mono clip feeding N
 * outputs has N targets with one source. */
typedef struct camio_target {
    const float *source;
    float gain;
    uint32_t output;
} camio_target;

/* Adds `count` frames of each target's source, from clip frame `clip_frame`
 * on, times its gain, into outputs[target.output][out_offset ...]. The run is
 * taken in tiles small enough for L1, every target of a tile before the next:
 * a source that feeds several outputs is read from memory once. */
typedef void (*camio_fan_out_kernel)(const camio_target *targets, uint32_t target_count,
                                     int64_t clip_frame, uint32_t count,
                                     float *const *outputs, uint32_t out_offset);

/* Adds `count` frames of `source` times `gain` times weights[i] into
 * destination[i]: a run under a fade or an envelope, or one side of a
 * crossfade (gain 1). Computes (gain * weights[i]) * source[i], then the
 * add, each rounded, in every variant. */
typedef void (*camio_weighted_kernel)(float *destination, const float *source, float gain,
                                      const float *weights, uint32_t count);

/* Frames per tile: every target's slice of a tile is mixed before the next
 * tile, so a source feeding several outputs is still in L1 the second time;
 * the shaped mixer and the crossfade compute their weights a tile at a time. */
enum { CAMIO_TILE = 256 };

/* [rt] The kernels chosen for this CPU (see camio_use_mix_kernel). */
camio_fan_out_kernel camio_current_kernel(void);
camio_weighted_kernel camio_current_weighted_kernel(void);

#endif
