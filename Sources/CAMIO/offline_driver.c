/*
 * The offline driver: the same engine, clocked by the caller instead of JACK.
 * Frame time advances by exactly the frames rendered, so there are no stalls
 * unless the caller makes one, and the output is what JACK would have played
 * for the same cycles.
 */
#include "engine_internal.h"

void camio_offline_render(camio_engine *engine, const float *const *inputs,
                          float *const *outputs, uint32_t nframes, uint32_t sample_rate,
                          int32_t clock_step) {
    uint32_t frame_time = engine->have_cycle ? engine->last_frame_time + engine->last_nframes : 0;
    uint64_t next_frame = engine->have_cycle ? engine->frame_time + engine->last_nframes : 0;
    frame_time += (uint32_t)clock_step;
    next_frame += (uint64_t)(int64_t)clock_step;
    uint64_t usecs = sample_rate ? next_frame * 1000000u / sample_rate : 0;
    camio_engine_process(engine, inputs, outputs, nframes, frame_time, usecs);
}
