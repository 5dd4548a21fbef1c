/*
 * camio.h — the realtime core of SwiftAMIO.
 *
 * Three kinds of functions live here, and the comment on each says which:
 *   [any]     may be called from any thread,
 *   [control] non-realtime, single producer: the Swift side serialises these,
 *   [bridge]  non-realtime, single consumer: only the bridge thread (or the
 *             offline renderer's caller) calls these,
 *   [rt]      the process thread; never allocates, locks, prints or blocks.
 *
 * Names are the Swift API's words in snake_case with a camio_ prefix.
 */
#ifndef CAMIO_H
#define CAMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/* ------------------------------------------------------------------------ */
/* Compiled playspecs                                                       */
/* ------------------------------------------------------------------------ */

/// A playspec compiled into flat C arrays: one allocation, entries sorted by
/// play_at, and over them a max-end tree, so the mixer finds the entries
/// active in a window in O(active × log N).
typedef struct camio_playspec camio_playspec;

/// [control] Allocates a playspec with room for `entry_count` entries mixing
/// into `output_channels` outputs, and for gain envelopes of
/// `envelope_points` breakpoints holding `envelope_gains` gains in all.
/// Returns NULL when out of memory.
camio_playspec *_Nullable camio_playspec_create(uint64_t id, uint32_t entry_count, uint32_t output_channels,
                                                uint64_t envelope_points, uint64_t envelope_gains);

/// [control] Fills entry `index`. `channels` points at `clip_channels`
/// planar Float32 buffers that must outlive the playspec (the Swift side keeps
/// the clip alive until the playspec is retired). `gains` holds
/// `output_channels` values and is copied.
void camio_playspec_set_entry(camio_playspec *playspec, uint32_t index,
                              const float *const _Nonnull *_Nonnull channels,
                              uint32_t clip_channels, int64_t frame_a, int64_t frame_b,
                              int64_t play_at, int64_t repeat_interval,
                              const float *gains);

/// The curve of a fade: its weight s(x) at x in [0, 1], s(0) = 0, s(1) = 1.
typedef enum camio_fade_shape {
    /// s(x) = x: a fade-out and a fade-in of one length overlapping sum to 1.
    CAMIO_FADE_LINEAR = 0,
    /// s(x) = sin(x·π/2): their squares sum to 1 (constant power).
    CAMIO_FADE_EQUAL_POWER = 1,
    /// Linear in decibels over 60 dB: s(x) = (10^(3(x−1)) − 10^−3) / (1 − 10^−3).
    CAMIO_FADE_EXPONENTIAL = 2,
} camio_fade_shape;

/// [any] s(x) of `shape` (x clamped to [0, 1]), as the mixer computes it.
float camio_fade_weight(uint32_t shape, double x);

/// [control] Gives entry `index` (after set_entry) a fade-in of `fade_in`
/// and a fade-out of `fade_out` frames, at every occurrence. At occurrence
/// frame p of an occurrence of L frames (the crop, cut at the repeat
/// interval) the weight is s(p / fade_in) for p < fade_in and
/// s((L − p) / fade_out) for L − p < fade_out, else 1. The caller has
/// checked fade_in, fade_out ≥ 0 and fade_in + fade_out ≤ L.
void camio_playspec_set_fades(camio_playspec *playspec, uint32_t index, int64_t fade_in, int64_t fade_out,
                              camio_fade_shape shape);

/// [control] Gives entry `index` (after set_entry) a gain envelope of
/// `count` breakpoints (copied into the playspec's envelope storage): at
/// `frames[i]` (strictly increasing; timeline frames, or with
/// `per_occurrence` frames from each occurrence's first frame) the gain is
/// `gains[i * width + o]` for output o (width 1: one gain for every output).
/// Between breakpoints it is interpolated linearly, before the first and
/// after the last it holds. It multiplies the entry's gains and fades.
/// Returns false (and sets nothing) when the storage create reserved is
/// exhausted or `width` is neither 1 nor output_channels.
bool camio_playspec_set_envelope(camio_playspec *playspec, uint32_t index, const int64_t *frames,
                                 const float *gains, uint32_t count, uint32_t width, bool per_occurrence);

/// How far a clip whose samples are still being written has come: a file
/// still being decoded or converted while it already plays. Frames
/// [0, ready) of every channel are final; the mixer plays only those, as
/// silence beyond, and counts the frames it wanted that were not ready.
typedef struct camio_clip_progress camio_clip_progress;

/// [control] A progress with nothing ready; NULL when out of memory.
camio_clip_progress *_Nullable camio_clip_progress_create(void);

/// [control] Frees a progress no playspec refers to any more.
void camio_clip_progress_destroy(camio_clip_progress *_Nullable progress);

/// [control] Publishes frames [0, ready) (never fewer than before): every
/// sample below `ready` was written before the call (a release store, which
/// the mixer's acquire load pairs with).
void camio_clip_progress_publish(camio_clip_progress *progress, int64_t ready);

/// [any] The frames published so far.
int64_t camio_clip_progress_ready(const camio_clip_progress *progress);

/// [any] Frames the mixer wanted before they were ready and played as
/// silence, summed over the entries (and crossfade sides) that wanted them.
uint64_t camio_clip_progress_starved(const camio_clip_progress *progress);

/// [control] Entry `index` (after set_entry) plays a clip still being
/// written: the mixer reads only its frames below `progress`'s ready count.
/// The progress must outlive the playspec, as the samples do.
void camio_playspec_set_progress(camio_playspec *playspec, uint32_t index, camio_clip_progress *progress);

/// [control] Orders the entries for the mixer and makes the playspec's
/// memory resident (camio_pin_memory). Call once, after the last set_entry
/// and before the playspec is submitted.
void camio_playspec_finish(camio_playspec *playspec);

/// [control] Frees a playspec that is not (or no longer) known to the engine.
void camio_playspec_destroy(camio_playspec *_Nullable playspec);

/// [any] The id given at creation.
uint64_t camio_playspec_id(const camio_playspec *playspec);

/// [any] Whether finish could lock the playspec's memory in RAM (it is made
/// resident either way; see camio_pin_memory).
bool camio_playspec_memory_locked(const camio_playspec *playspec);

/// Where on the timeline a playspec is mixed: the timeline playing, or the
/// one a crossfade fades out (which may be the same playspec elsewhere).
typedef enum camio_mix_place {
    CAMIO_MIX_PLAYING = 0,
    CAMIO_MIX_FADING = 1,
    CAMIO_MIX_PLACES = 2,
} camio_mix_place;

/// [rt] Adds timeline frames [frame, frame + nframes) of `playspec` into
/// `outputs[c][offset ...]` for every output channel c. Does not clear.
/// `horizon` (at least frame + nframes) is as far as the caller expects to
/// mix on from `frame` without a jump, usually the period's end: the entries
/// active up to it are found once and reused by the runs a period is split
/// into. The playspec keeps that list, one per `place`, so only one thread
/// may mix it.
void camio_mix(camio_playspec *playspec, camio_mix_place place, int64_t frame, uint32_t nframes, int64_t horizon,
               float *const _Nonnull *_Nonnull outputs, uint32_t offset);

/// [any] The name of the mixing kernel in use: "avx2" on a CPU that has it,
/// else "baseline". Every kernel gives identical samples.
const char *camio_mix_kernel_name(void);

/// [any] Test hook: mixes with the kernel called `name` from now on, if this
/// CPU can run it; returns whether it could. Safe while engines process:
/// every kernel gives identical samples, so a switch mid-period changes none.
bool camio_use_mix_kernel(const char *name);

/// [control] Makes `size` bytes at `memory` resident before the process
/// thread reads them: writes every page once (keeping its contents), so no
/// first touch faults, then locks in RAM (mlock) the pages wholly inside the
/// block, never one it shares with another allocation. Returns whether they
/// are locked (RLIMIT_MEMLOCK allows it); when not, they are still resident,
/// only not kept from swap.
bool camio_pin_memory(void *_Nullable memory, size_t size);

/// [control] camio_pin_memory without the writes, for memory another
/// thread is writing (a clip that plays while it loads, whose every page its
/// loader writes before the process thread may read it): only locks the
/// inner pages (mlock populates them without changing a byte). Returns
/// whether they are locked; undo with camio_unpin_memory.
bool camio_lock_memory(void *_Nullable memory, size_t size);

/// [control] `size` zeroed bytes on pages of their own (page-aligned, rounded
/// up to whole pages), so camio_pin_memory locks all of it; free() frees it.
/// NULL when out of memory.
void *_Nullable camio_alloc_pages(size_t size);

/// [any] The bytes camio_alloc_pages(size) takes: `size` rounded up to whole
/// pages (0 if that overflows). Pin a block from it with this size.
size_t camio_page_rounded(size_t size);

/// [control] Unlocks what camio_pin_memory locked; call before freeing it.
void camio_unpin_memory(void *_Nullable memory, size_t size);

/* ------------------------------------------------------------------------ */
/* Checksums                                                                */
/* ------------------------------------------------------------------------ */

/// [any] A 64-bit checksum of the `count` bytes at `bytes` (which may be
/// unaligned; NULL only when `count` is 0), started from `seed`: the same
/// bytes and seed give the same value in every build and run. Not
/// cryptographic: it detects corruption (a changed word, a truncation, a
/// different length), it does not resist tampering. Several GB/s, also in a
/// debug build (clang vector types, see checksum.c).
uint64_t camio_checksum(const void *_Nullable bytes, size_t count, uint64_t seed);

/* ------------------------------------------------------------------------ */
/* The engine: schedule, transport, mixer, capture                          */
/* ------------------------------------------------------------------------ */

typedef struct camio_engine camio_engine;

typedef struct camio_engine_config {
    uint32_t input_channels;
    uint32_t output_channels;
    /// Changes that may be outstanding at once (rounded up to a power of 2, at least 64).
    uint32_t change_capacity;
    /// Frames (of all input channels) the capture ring holds at least, in
    /// chunks of 16 frames or more; its bytes are rounded up to a power of two
    /// (camio_engine_input_ring_bytes).
    uint32_t input_ring_frames;
    /// Frames of each input channel kept to bring channels of different
    /// delays into line (rounded up to a power of 2): delays that differ by
    /// up to this less one period are compensated; beyond that, the input is
    /// counted as lost, never labelled out of line. Allocated at creation.
    uint32_t alignment_frames;
} camio_engine_config;

/// [control] Returns NULL when the configuration is impossible or memory is short.
camio_engine *_Nullable camio_engine_create(const camio_engine_config *config);

/// [control] Frees the engine. Only after the process thread has stopped for
/// good. Playspecs belong to the control side, which frees every one it made.
void camio_engine_destroy(camio_engine *_Nullable engine);

enum {
    /// Apply as soon as the change reaches the head of the pending list,
    /// at position start_from (insert_at is ignored).
    CAMIO_CHANGE_IMMEDIATE = 1u << 0,
    /// With IMMEDIATE: keep the current position (start_from is ignored).
    CAMIO_CHANGE_KEEP_POSITION = 1u << 1,
    /// Every still-pending change is superseded when this one arrives.
    CAMIO_CHANGE_SUPERSEDE = 1u << 2,
    /// The change carries a playspec (NULL playspec then means "silence").
    CAMIO_CHANGE_HAS_PLAYSPEC = 1u << 3,
    /// The change sets the transport; CAMIO_CHANGE_ROLLING says to what.
    CAMIO_CHANGE_SET_ROLLING = 1u << 4,
    CAMIO_CHANGE_ROLLING = 1u << 5,
};

/// A change of the timeline. Changes apply in the order they are queued.
/// One with IMMEDIATE and no HAS_PLAYSPEC (a seek or transport command)
/// applies at the start of the cycle that takes it off the queue: after
/// every pending change that is due by then, never waiting for one pending
/// for a later frame. A seek then skips (CAMIO_NOTICE_SKIPPED) every pending
/// change whose insert_at lies before the new position: a loop jump the
/// seek moved past is not fired late.
///
/// With `crossfade_frames` > 0, a change applied while the transport rolls
/// (and keeps rolling) starts a crossfade: for k = 0 … crossfade_frames − 1
/// frames after it, the output is s(k/X)·new + s((X−k)/X)·old (s of
/// `crossfade_shape`), where old is what played before the change, going
/// on from where it was. The old timeline is output only: input is labelled
/// by the new one. One crossfade runs at a time: a change that replaces the
/// playspec, seeks or stops the transport ends a running one at once (its
/// tail stops), then starts its own. A replaced playspec is retired when
/// the crossfade that still plays it ends (CAMIO_NOTICE_RELEASED).
typedef struct camio_change {
    uint64_t id;
    camio_playspec *_Nullable playspec;
    int64_t insert_at;
    int64_t start_from;
    uint32_t flags;
    uint32_t crossfade_frames;
    uint32_t crossfade_shape; /* camio_fade_shape */
    uint32_t reserved;
} camio_change;

/// [control] Queues a change. Returns false when the queue is full; the caller
/// bounds outstanding changes by the configured capacity so this cannot happen.
bool camio_engine_submit(camio_engine *engine, const camio_change *change);

enum {
    CAMIO_NOTICE_APPLIED = 1,
    CAMIO_NOTICE_SUPERSEDED = 2,
    /// A seek moved the timeline past the change's insert_at before the
    /// timeline reached it: it is dropped, never fired late.
    CAMIO_NOTICE_SKIPPED = 3,
    /// No change's: a crossfade has ended and `retired` (the playspec that
    /// played under it) left the engine. change_id is 0.
    CAMIO_NOTICE_RELEASED = 4,
};

/// One per change, exactly: it was applied, superseded or skipped. `retired` is the
/// playspec that left the engine with it (the replaced one when applied, the
/// change's own when superseded), for the control side to free; NULL when
/// applied with a crossfade, which retires it later (CAMIO_NOTICE_RELEASED).
typedef struct camio_notice {
    uint64_t change_id;
    uint32_t kind;
    uint32_t reserved;
    /// Old-timeline frame at which the change took effect.
    int64_t frame;
    /// New-timeline position from that frame on.
    int64_t position;
    camio_playspec *_Nullable retired;
} camio_notice;

/// [bridge] Takes the next notice; false when there is none.
bool camio_engine_next_notice(camio_engine *engine, camio_notice *notice);

/// Header of one captured chunk: a contiguous run of one timeline under one
/// playspec. The samples follow planar: channel 0's frames, then channel 1's …
typedef struct camio_chunk_info {
    int64_t starting_frame;
    uint64_t playspec_id;
    /// JACK frame time (extended to 64 bits) of the chunk's first frame (where
    /// the inputs' delays differ: as the most delayed input captured it).
    uint64_t frame_time;
    /// JACK's microsecond time of the start of the cycle that captured it.
    uint64_t cycle_usecs;
    uint64_t dropped_frames_before;
    /// The engine's frame counter (camio_engine_frames_played) when the
    /// chunk's first frame was played: it only ever grows from chunk to
    /// chunk, whatever the timeline does.
    int64_t played_at;
    uint32_t channel_count;
    uint32_t frame_count;
    uint32_t rolling;
    uint32_t reserved;
} camio_chunk_info;

/// [bridge] Reads the next chunk's header without consuming it.
bool camio_engine_peek_chunk(camio_engine *engine, camio_chunk_info *info);

/// [bridge] Copies the peeked chunk's samples (channel_count * frame_count
/// floats, planar) into `samples` and consumes the chunk.
void camio_engine_consume_chunk(camio_engine *engine, float *samples);

/// [rt] One process cycle, with denormals flushed to zero (the thread's
/// float mode is restored before it returns). `frame_time` is JACK's 32-bit frame time of the
/// cycle's first frame (a jump beyond the previous cycle's length is a stall:
/// the timeline follows it and the lost input is counted; a step back, or
/// less than a cycle on, is no stall, and a server's quirks at a period
/// change are told apart from skipped time); `usecs` its microsecond time. Input
/// and output arrays hold the configured channel counts.
void camio_engine_process(camio_engine *engine,
                          const float *const _Nonnull *_Nullable inputs,
                          float *const _Nonnull *_Nullable outputs,
                          uint32_t nframes, uint32_t frame_time, uint64_t usecs);

/// [rt] Before camio_engine_process: the cycle about to run started more than
/// a period ago by the real clock (a server catching up after a stop runs
/// its missed cycles back to back). A device monitor's input is not trusted
/// in such cycles, nor until three steady ones have followed.
void camio_engine_mark_late_cycle(camio_engine *engine);

/// [rt] After camio_engine_process: the cycle just run ended after the next
/// one was due, so its output may have missed the server's next cycle
/// (jackd reports that as an xrun, PipeWire does not). A device monitor's
/// next input is not trusted, nor until three steady cycles have followed.
void camio_engine_mark_late_output(camio_engine *engine);

/// How one input's delay from the engine's outputs is made up. Input
/// captured at absolute frame A was played `external + periods * nframes`
/// frames earlier, or, with a feedback cycle, `external` frames before the
/// previous executed cycle's start.
typedef struct camio_input_delay {
    /// Frames of delay besides whole cycles: capture + playback for a path
    /// through the physical ports, or what the clients on a feedback loop add.
    uint32_t external;
    /// Whole process cycles in the loop: 1 when the input is fed from one of
    /// the engine's own outputs, directly or through other clients (the
    /// server breaks such a loop with one cycle of delay: the input carries
    /// the previous *executed* cycle's output; the first cycle with a new
    /// period carries nothing, as jackd clears the buffers it resizes).
    uint32_t feedback_cycles;
    /// Periods of delay counted in the server's clock: 1 for an input fed
    /// through a sound device's monitor (PipeWire's sink monitor ports carry
    /// what the sink received one server cycle earlier: after a skipped
    /// cycle that is silence, not our last output).
    uint32_t periods;
} camio_input_delay;

/// The delay from the engine's outputs back to its inputs, as the driver
/// finds it in the graph. Captured input is labelled with the timeline frame
/// that was sounding this long before it arrived.
typedef struct camio_latency {
    /// Largest capture latency of the inputs, as JACK reports it (frames).
    uint32_t capture;
    /// Largest playback latency of the outputs, as JACK reports it (frames).
    uint32_t playback;
    /// The delay of the input with the longest round trip (see
    /// camio_input_delay); every input's, unless each has its own.
    uint32_t external;
    uint32_t feedback_cycles;
    uint32_t periods;
    /// The period the `external` figures were measured at; 0 when they hold
    /// at any period (all are 0). While the period differs (just after a
    /// period change) the engine cannot label input and captures none; the
    /// frames are counted as lost.
    uint32_t period;
    /// camio_engine_latency_epoch() when the driver began to measure. While a
    /// later invalidation is outstanding the figures may describe a graph
    /// that is gone: the engine captures nothing (and counts it) until a
    /// measurement of the current epoch arrives.
    uint32_t epoch;
} camio_latency;

/// [any] Says that the graph around the engine is changing (a connection of
/// one of its ports): until the driver publishes a latency measured after
/// this call, input is not captured but counted as lost, never labelled with
/// a delay that may no longer hold. Async-signal-safe: one atomic increment.
void camio_engine_invalidate_latency(camio_engine *engine);

/// [any] The invalidation count, for camio_latency.epoch.
uint32_t camio_engine_latency_epoch(const camio_engine *engine);

/// [control] Publishes the latency for the process thread, which adopts it
/// at the start of its next cycle (never in the middle of one, and never
/// half of it: the figures and every channel's delay travel together).
/// `delays` holds one entry per input channel, or is NULL when every input
/// has the delay of `latency`. Where the inputs' delays differ, the engine
/// holds the earlier ones back so that each chunk's frames line up across
/// channels (alignment_frames). Callers serialise calls.
void camio_engine_set_latency(camio_engine *engine, const camio_latency *latency,
                              const camio_input_delay *_Nullable delays);

/// [any] Round trip in frames of `delay` at the given period.
uint64_t camio_input_delay_round_trip(const camio_input_delay *delay, uint32_t period);

/// [any] Round trip in frames of `latency` (its longest) at the given period.
uint64_t camio_latency_round_trip(const camio_latency *latency, uint32_t period);

/// Where the transport stands at the end of a cycle: the four figures of
/// one cycle, never a mixture of two.
typedef struct camio_transport_state {
    int64_t position;
    uint64_t playspec_id;
    /// camio_engine_frames_played at the same moment.
    int64_t frames_played;
    bool rolling;
} camio_transport_state;

/// [any] The transport as the last cycle left it, read consistently (a
/// sequence count: the reader tries again while the process thread writes).
void camio_engine_transport_state(const camio_engine *engine, camio_transport_state *state);

/// [any] Published state, updated by the process thread once per cycle
/// (each on its own; camio_engine_transport_state reads them together).
int64_t camio_engine_position(const camio_engine *engine);
bool camio_engine_is_rolling(const camio_engine *engine);
uint64_t camio_engine_playspec_id(const camio_engine *engine);
uint64_t camio_engine_dropped_input_frames(const camio_engine *engine);
uint64_t camio_engine_cycles(const camio_engine *engine);
/// Frames played since the engine was created, stall gaps included, at the
/// end of the last cycle: the clock of camio_chunk_info.played_at.
int64_t camio_engine_frames_played(const camio_engine *engine);
uint32_t camio_engine_last_period(const camio_engine *engine);
/// Input frames lost because the segments they were played in had left the
/// history (more timeline changes within one round trip than it holds); they
/// are also in camio_engine_dropped_input_frames.
uint64_t camio_engine_unlabelled_input_frames(const camio_engine *engine);
/// Stalls the engine saw: runs of cycles that missed their deadline, each
/// run counted once. A cycle missed it when the server's clock skipped
/// cycles before it (not at a period change, where PipeWire skips one),
/// it started more than a period late, or the cycle before it ended after it
/// was due. Counted whatever the server reports: PipeWire's JACK reports
/// none of these as xruns.
uint64_t camio_engine_stalls(const camio_engine *engine);
/// Whether the inputs' delays differ, so that captured input goes through
/// the alignment rings (as of the latency last adopted).
bool camio_engine_is_aligning_inputs(const camio_engine *engine);
/// Frames each alignment ring holds (alignment_frames rounded up to a power of 2).
uint32_t camio_engine_alignment_frames(const camio_engine *engine);

/// [control] The bridge is woken for captured input once `frames` frames
/// wait in the ring (0, the default: after every chunk), or the ring is half
/// full. Changes' notices and JACK's callbacks wake it at once regardless.
/// For consumers that take input in large pieces: fewer wakes, less CPU.
void camio_engine_set_wake_frames(camio_engine *engine, uint32_t frames);

/// [any] Whether all the memory the process thread touches (rings, change
/// list, alignment buffers) is locked in RAM. It is resident either way
/// (written once at creation); unlocked only when RLIMIT_MEMLOCK forbids.
bool camio_engine_memory_locked(const camio_engine *engine);

/// What a deliberately unsafe process thread does each cycle (test hook):
/// one of the things the realtime rules forbid, so that a test can show
/// its detector catches it.
typedef enum camio_misbehaviour {
    CAMIO_BEHAVE = 0,
    CAMIO_MISBEHAVE_ALLOCATE,  /* malloc and free */
    CAMIO_MISBEHAVE_LOCK,      /* pthread_mutex_lock and unlock */
    CAMIO_MISBEHAVE_WAIT,      /* sem_wait on a posted semaphore, pthread_cond_timedwait past its
                                  deadline, nanosleep and poll for no time */
    CAMIO_MISBEHAVE_READ,      /* read(2) from /dev/zero */
    CAMIO_MISBEHAVE_WRITE,     /* write(2) to /dev/null */
    CAMIO_MISBEHAVE_MAP,       /* mmap and munmap a page */
    CAMIO_MISBEHAVE_FAULT,     /* touch a page never touched before */
} camio_misbehaviour;

/// [control] Test hook: from the next cycle on, the process thread does
/// `misbehaviour` once per cycle (CAMIO_BEHAVE stops it). Returns false if
/// what it needs (a file, a mapping) could not be set up. Never call it
/// outside tests.
bool camio_engine_misbehave_for_testing(camio_engine *engine, camio_misbehaviour misbehaviour);
/// Notices that could not be queued (never expected; a non-zero value is a bug).
uint64_t camio_engine_lost_notices(const camio_engine *engine);
uint32_t camio_engine_input_channels(const camio_engine *engine);
/// The capture ring's size in bytes; a chunk of n frames takes
/// sizeof(camio_chunk_info) + n * input_channels * sizeof(float) of it.
uint64_t camio_engine_input_ring_bytes(const camio_engine *engine);
uint32_t camio_engine_output_channels(const camio_engine *engine);

/// [rt/any] Wakes the bridge thread (a semaphore post; async-signal-safe).
void camio_engine_wake(camio_engine *engine);
/// [bridge] Sleeps until woken; the wakes posted meanwhile count as one (the
/// caller drains every queue on each return). Never polls.
void camio_engine_wait(camio_engine *engine);

/* ------------------------------------------------------------------------ */
/* Offline driver                                                           */
/* ------------------------------------------------------------------------ */

/// [control] Runs one cycle of `nframes` without JACK, with a frame time that
/// advances by exactly the frames rendered and microseconds derived from
/// `sample_rate`. Inputs may be NULL when the engine has no input channels.
/// `clock_step` moves the frame time on by that many frames more before the
/// cycle (a stall of a server that skipped cycles), or back when negative
/// (a server restarting its clock); 0 for contiguous cycles.
void camio_offline_render(camio_engine *engine, const float *const _Nonnull *_Nullable inputs,
                          float *const _Nonnull *_Nullable outputs, uint32_t nframes,
                          uint32_t sample_rate, int32_t clock_step);

/* ------------------------------------------------------------------------ */
/* JACK driver                                                              */
/* ------------------------------------------------------------------------ */

typedef struct camio_jack camio_jack;

/// [control] Opens a client (never starts a server). On failure returns NULL,
/// stores JACK's status bits in `status` and a message in `error`.
camio_jack *_Nullable camio_jack_open(const char *client_name, const char *_Nullable server_name,
                                      uint32_t *status, char *error, size_t error_size);

/// [control] Registers `in_1…` and `out_1…`, installs the callbacks and
/// activates the client with `engine` as its process cycle. Returns 0 or a
/// negative code with a message in `error` (-EMFILE when 1024 clients are
/// open in the process: each takes a slot of the table that guards the
/// callbacks against close).
int camio_jack_start(camio_jack *jack, camio_engine *engine, char *error, size_t error_size);

/// [control] Deactivates (the process thread stops) and closes the client.
/// Safe after the server went away, and more than once. When it returns no
/// callback of the client is running, and one that libjack still makes
/// (jack2's process thread after JackClient::Error, which jack_client_close
/// does not join) returns at once having touched only static memory, also
/// after camio_jack_destroy. Callers serialise it with the other [control]
/// calls on the client. The queries below keep answering with their last
/// values until camio_jack_destroy.
void camio_jack_close(camio_jack *_Nullable jack);

/// [control] Closes the client if it is open and frees `jack`.
void camio_jack_destroy(camio_jack *_Nullable jack);

/// [control] Deactivates the client: after it returns, the engine is no longer processed.
void camio_jack_deactivate(camio_jack *jack);

/// [any] Test hook: the argument the client's callbacks other than process
/// were installed with (a token, not a pointer); it stays harmless to pass
/// after camio_jack_destroy.
void *_Nullable camio_jack_callback_argument(const camio_jack *jack);

/// [any] Test hook: calls the info-shutdown callback with `argument` as
/// libjack does, from any thread, at any time: before, during or after
/// close, as jack2's unjoined process thread may.
void camio_jack_call_shutdown_callback(void *_Nullable argument, const char *reason);

/// [any] The client's name as JACK gave it (it may differ from the one asked for).
const char *camio_jack_client_name(const camio_jack *jack);
uint32_t camio_jack_sample_rate(const camio_jack *jack);
uint32_t camio_jack_buffer_size(const camio_jack *jack);
uint64_t camio_jack_xruns(const camio_jack *jack);
/// Bumped by every latency, connection or graph callback.
uint64_t camio_jack_graph_generation(const camio_jack *jack);
bool camio_jack_is_shut_down(const camio_jack *jack);
/// Copies JACK's shutdown reason (empty when none) into `reason`.
void camio_jack_shutdown_reason(const camio_jack *jack, char *reason, size_t size);
/// The process thread's id as an integer (0 before the first cycle).
uint64_t camio_jack_process_thread(const camio_jack *jack);

/// Called on the process thread as each cycle's work begins (true) and ends
/// (false). A test hook: a probe counting forbidden calls on the thread can
/// tell the engine's work from the JACK library's between cycles.
typedef void (*camio_cycle_hook)(bool entering);
/// [control] Installs `hook` for every client of the process (NULL removes it).
void camio_set_cycle_hook(camio_cycle_hook _Nullable hook);

/// [control] Full port name of input (is_input) or output port `index`; NULL
/// when out of range.
const char *_Nullable camio_jack_port_name(const camio_jack *jack, bool is_input, uint32_t index);

/* The [control] calls below talk to the server through the client: callers
 * serialise them with each other and with camio_jack_close (jack2 sends
 * every request of a client down one socket with no lock of its own). Those
 * that send requests (as do open, start, deactivate and close) block SIGPIPE
 * on the calling thread meanwhile: a request to a jack2 server that has just
 * died would otherwise end the process. */

/// [control] jack_connect(source, destination); 0 on success or when already
/// connected, else JACK's error code; `made` (if given) says whether a new
/// cable was made. Invalidates the engine's latency before and after the
/// call when one of the ports is the client's (camio_engine_invalidate_latency);
/// the caller then, for a new cable, waits until the server runs it
/// (camio_jack_await_graph), and then refreshes the latency: jack2's notice
/// of the cable, which invalidates it again, comes before the new graph's.
/// camio_jack_disconnect likewise.
int camio_jack_connect(camio_jack *jack, const char *source, const char *destination, bool *_Nullable made);
int camio_jack_disconnect(camio_jack *jack, const char *source, const char *destination);

/// [any] Graph-order notices so far: read before a connection request, for
/// camio_jack_await_graph.
uint64_t camio_jack_graph_orders(const camio_jack *jack);

/// [control] Returns once the server runs a graph changed by a request made
/// after `orders_before` was read: its graph-order notice and two cycles of
/// ours since (waiting at most the longer of 4 periods and 100 ms). What the
/// client plays from then on reaches a new destination in the same cycle,
/// never one cycle in the old order of execution (jack2 switches to a new
/// order only at a later cycle's start).
void camio_jack_await_graph(camio_jack *jack, uint64_t orders_before);

/// [control] Connects out_i to the i-th physical playback port and the i-th
/// physical capture port to in_i, as far as there are such ports. Returns the
/// number of connections made (new or already there); `new_cables` (if
/// given) counts the new ones, for camio_jack_await_graph.
int camio_jack_connect_physical(camio_jack *jack, uint32_t *_Nullable new_cables);

/// [control] Reads the latency of the client's ports, walks the graph for
/// paths from its outputs back to each of its inputs (direct cables, other
/// clients, a sink's monitor ports), and publishes the result to the engine;
/// stores it in `published` and each input's delay in `delays` (one entry
/// per input port) too when given. An input fed by no path from the
/// outputs and connected to a port has the physical round trip (its capture
/// latency plus the outputs' playback latency); an unconnected one the
/// longest of the others, so it never holds the rest back. Callers
/// serialise calls.
void camio_jack_refresh_latency(camio_jack *jack, camio_latency *_Nullable published,
                                camio_input_delay *_Nullable delays);

/// [control] The capture latency range of input port `index` (is_input), or
/// the playback latency range of output port `index`; false when out of range.
bool camio_jack_own_port_latency(camio_jack *jack, bool is_input, uint32_t index, uint32_t *min, uint32_t *max);

/// Bytes for a full port name (`client:port`, JACK allows 320 with the NUL).
#define CAMIO_PORT_NAME_SIZE 320

/// One port of the JACK graph, as `camio_jack_port_info` reports it.
typedef struct camio_port_info {
    char name[CAMIO_PORT_NAME_SIZE];
    char type[64];
    uint32_t is_input;
    uint32_t is_physical;
    uint32_t capture_latency_min, capture_latency_max;
    uint32_t playback_latency_min, playback_latency_max;
    uint32_t connection_count;
} camio_port_info;

/// [control] The names of every port in the graph, for `camio_jack_port_info`.
/// Returns the count and stores a JACK-allocated array in `names`, to be
/// released with `camio_jack_free_names`.
uint32_t camio_jack_list_ports(camio_jack *jack, const char *_Nullable *_Nullable *_Nonnull names);
void camio_jack_free_names(const char *_Nullable *_Nullable names);

/// [control] Fills `info` for the port called `name`; false if there is none.
/// The names of its connections (at most `max_connections`) go into
/// `connections`, each CAMIO_PORT_NAME_SIZE bytes.
bool camio_jack_port_info(camio_jack *jack, const char *name, camio_port_info *info,
                          char *_Nullable connections, uint32_t max_connections);

/// [any] Whether the libjack in use is PipeWire's (its version string says
/// so): PipeWire sets the period (quantum) in its own settings.
bool camio_jack_is_pipewire(void);

/// [control] Asks the server for a new period size (fires the buffer-size callback).
int camio_jack_set_buffer_size(camio_jack *jack, uint32_t frames);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif /* CAMIO_H */
