/*
 * The mixer's kernels, written with clang's vector types rather than left to
 * the auto-vectoriser: `swift build` compiles C at -O0, where a plain loop
 * stays one scalar multiply-add per sample (4096 clips then need more than
 * a period's time), while vector types become vector instructions at every
 * optimisation level.
 *
 * One body, compiled twice: once for the baseline x86-64 (SSE2: an 8-float
 * vector is two registers) and once with AVX2 enabled (one register). The
 * CPU is asked once, when the library loads. FMA is deliberately not used:
 * a fused multiply-add rounds once where the baseline rounds twice, and the
 * two kernels must give identical samples (see kernels.h). The mixer is
 * bound by memory bandwidth, not arithmetic, so fusing would buy nothing.
 */
#include "kernels.h"
#include "camio.h"

#include <stdatomic.h>
#include <string.h>

#pragma clang fp contract(off)

/* Eight floats; loads and stores through it may be unaligned (JACK's port
 * buffers and a run's clip position promise only float alignment). */
typedef float camio_v8 __attribute__((ext_vector_type(8)));
typedef camio_v8 camio_v8_unaligned __attribute__((aligned(4)));

static inline __attribute__((always_inline)) void
add_scaled_vector(float *restrict destination, const float *restrict source, float gain, uint32_t count) {
    camio_v8 g = gain;
    uint32_t i = 0;
    /* Four vectors per step: at -O0 the loop's own overhead is then a
     * quarter of what it would be per vector. */
    for (; i + 32 <= count; i += 32) {
        camio_v8_unaligned *d = (camio_v8_unaligned *)(destination + i);
        const camio_v8_unaligned *s = (const camio_v8_unaligned *)(source + i);
        camio_v8 s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
        camio_v8 d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
        d[0] = d0 + g * s0;
        d[1] = d1 + g * s1;
        d[2] = d2 + g * s2;
        d[3] = d3 + g * s3;
    }
    for (; i + 8 <= count; i += 8) {
        camio_v8_unaligned *d = (camio_v8_unaligned *)(destination + i);
        *d = *d + g * *(const camio_v8_unaligned *)(source + i);
    }
    for (; i < count; i++) destination[i] = destination[i] + gain * source[i];
}

static inline __attribute__((always_inline)) void
fan_out_body(const camio_target *targets, uint32_t target_count, int64_t clip_frame, uint32_t count,
             float *const *outputs, uint32_t out_offset) {
    for (uint32_t tile = 0; tile < count; tile += CAMIO_TILE) {
        uint32_t frames = count - tile < CAMIO_TILE ? count - tile : CAMIO_TILE;
        for (uint32_t t = 0; t < target_count; t++) {
            const camio_target *target = &targets[t];
            add_scaled_vector(outputs[target->output] + out_offset + tile,
                              target->source + clip_frame + tile, target->gain, frames);
        }
    }
}

static inline __attribute__((always_inline)) void
weighted_body(float *restrict destination, const float *restrict source, float gain,
              const float *restrict weights, uint32_t count) {
    camio_v8 g = gain;
    uint32_t i = 0;
    for (; i + 16 <= count; i += 16) {
        camio_v8_unaligned *d = (camio_v8_unaligned *)(destination + i);
        const camio_v8_unaligned *s = (const camio_v8_unaligned *)(source + i);
        const camio_v8_unaligned *w = (const camio_v8_unaligned *)(weights + i);
        camio_v8 s0 = s[0], s1 = s[1], w0 = w[0], w1 = w[1];
        camio_v8 d0 = d[0], d1 = d[1];
        d[0] = d0 + (g * w0) * s0;
        d[1] = d1 + (g * w1) * s1;
    }
    for (; i + 8 <= count; i += 8) {
        camio_v8_unaligned *d = (camio_v8_unaligned *)(destination + i);
        *d = *d + (g * *(const camio_v8_unaligned *)(weights + i)) * *(const camio_v8_unaligned *)(source + i);
    }
    for (; i < count; i++) destination[i] = destination[i] + (gain * weights[i]) * source[i];
}

static void weighted_baseline(float *destination, const float *source, float gain, const float *weights,
                              uint32_t count) {
    weighted_body(destination, source, gain, weights, count);
}

static void fan_out_baseline(const camio_target *targets, uint32_t target_count, int64_t clip_frame,
                             uint32_t count, float *const *outputs, uint32_t out_offset) {
    fan_out_body(targets, target_count, clip_frame, count, outputs, out_offset);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void
fan_out_avx2(const camio_target *targets, uint32_t target_count, int64_t clip_frame, uint32_t count,
             float *const *outputs, uint32_t out_offset) {
    fan_out_body(targets, target_count, clip_frame, count, outputs, out_offset);
}

__attribute__((target("avx2"))) static void
weighted_avx2(float *destination, const float *source, float gain, const float *weights, uint32_t count) {
    weighted_body(destination, source, gain, weights, count);
}
#endif

typedef struct {
    const char *name;
    camio_fan_out_kernel kernel;
    camio_weighted_kernel weighted;
    bool (*supported)(void);
} kernel_choice;

static bool always(void) { return true; }
#if defined(__x86_64__)
static bool cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

/* Best last; the first runs everywhere, so it is also what a library whose
 * constructor has not run yet uses. */
static const kernel_choice kernels[] = {
    {"baseline", fan_out_baseline, weighted_baseline, always},
#if defined(__x86_64__)
    {"avx2", fan_out_avx2, weighted_avx2, cpu_has_avx2},
#endif
};
enum { KERNEL_COUNT = sizeof kernels / sizeof kernels[0] };

/* An index into kernels[]; relaxed atomics, so a test's choice is no data
 * race even though the process thread reads it every run. */
static _Atomic uint32_t chosen_kernel;

__attribute__((constructor)) static void choose_kernel(void) {
    for (uint32_t i = KERNEL_COUNT; i-- > 0;)
        if (kernels[i].supported()) {
            atomic_store_explicit(&chosen_kernel, i, memory_order_relaxed);
            return;
        }
}

camio_fan_out_kernel camio_current_kernel(void) {
    return kernels[atomic_load_explicit(&chosen_kernel, memory_order_relaxed)].kernel;
}

camio_weighted_kernel camio_current_weighted_kernel(void) {
    return kernels[atomic_load_explicit(&chosen_kernel, memory_order_relaxed)].weighted;
}

const char *camio_mix_kernel_name(void) {
    return kernels[atomic_load_explicit(&chosen_kernel, memory_order_relaxed)].name;
}

bool camio_use_mix_kernel(const char *name) {
    for (uint32_t i = 0; i < KERNEL_COUNT; i++)
        if (strcmp(kernels[i].name, name) == 0 && kernels[i].supported()) {
            atomic_store_explicit(&chosen_kernel, i, memory_order_relaxed);
            return true;
        }
    return false;
}
