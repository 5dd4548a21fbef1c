/*
 * The JACK driver: a client whose process callback runs the engine.
 *
 * Threads. The process callback runs on the client's process thread; the
 * others on a notification thread (jack2: the client channel's thread;
 * PipeWire: the client's thread loop), except where they do not: jack2 calls
 * the buffer-size callback on the process thread as it starts, and the
 * shutdown callback from the process thread when its wait for a cycle fails
 * (JackClient::Error). The callbacks only store into atomics and wake the
 * bridge thread, which does any work that may call back into the server.
 *
 * Closing. jack_client_close stops and joins the threads it calls back on
 * (jack2 cancels its notification and process threads and joins them;
 * PipeWire stops its thread loop and data loop), with one exception: a jack2
 * process thread in JackClient::Error has marked the client inactive before
 * it calls the shutdown callback, and jack_deactivate and jack_client_close
 * then neither cancel nor join it, so that callback may run while close runs
 * or after it has returned. Every callback but process therefore goes
 * through a gate:
 *  - It is given not a pointer but a token: a slot of a static table and the
 *    generation of that slot's current use. A callback that comes after its
 *    client closed finds the slot free or in its next use and returns having
 *    read only the table, which is never freed.
 *  - Entering counts the callback in, in the same atomic word as the
 *    generation and a closing bit: close sets the bit, then waits until no
 *    callback is in flight, and only then deactivates, closes the client and
 *    lets camio_jack_destroy free what the callbacks use. The wait cannot
 *    deadlock: callbacks take no lock and wait for nothing (the process
 *    thread in on_shutdown included), and close is never called from one.
 *  - jack2 cancels its threads asynchronously (PTHREAD_CANCEL_ASYNCHRONOUS):
 *    a callback cancelled after counting itself in would hold close forever,
 *    and a process cycle cut in half would leave the engine's transport cell
 *    half written, its readers spinning. So callbacks run with cancellation
 *    disabled and a pending cancel takes effect as they return
 *    (pthread_setcancelstate sets a flag in the thread's own descriptor: no
 *    lock, no system call, fit for the process thread).
 * The process callback needs no gate: deactivation stops its thread (both
 * libraries join it) before anything it uses is freed, and a jack2 thread in
 * JackClient::Error never calls it again.
 *
 * The control calls (connect, port queries, set_buffer_size, close) are
 * serialised by the caller: jack2's client sends every request down one
 * socket with no lock of its own, and requests of two threads would
 * interleave. And each call that sends requests blocks SIGPIPE on its
 * thread while it does (see "Requests to the server"): a request to a jack2
 * server that has just died would otherwise end the process.
 */
#include <jack/jack.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camio.h"

#define CAMIO_REASON_SIZE 512

struct camio_jack {
    jack_client_t *client;
    camio_engine *engine;
    uint32_t input_count;
    uint32_t output_count;
    jack_port_t **inputs;
    jack_port_t **outputs;
    const float **input_buffers; /* per-cycle scratch, sized once */
    float **output_buffers;
    char client_name[256];

    _Atomic uint32_t sample_rate;
    _Atomic uint32_t buffer_size;
    _Atomic uint64_t xruns;
    _Atomic uint64_t graph_generation;
    _Atomic uint64_t graph_orders; /* graph-order notices: the server runs a new graph */
    _Atomic uint32_t shutdown_claimed;
    _Atomic uint32_t shut_down;
    _Atomic uint64_t process_thread;
    /* The callbacks' argument (see "Callback gates"); valid while has_gate. */
    uintptr_t gate_token;
    bool has_gate;
    uint32_t latency_period; /* the period the last refresh measured at (refreshes are serialised) */
    char shutdown_reason[CAMIO_REASON_SIZE];
};

/* libjack reports errors through a process-wide function. Keep the last message
 * of the calling thread so camio_jack_open can return it instead of printing. */
static _Thread_local char last_jack_message[512];
static void remember_jack_message(const char *message) {
    /* libjack ends a failed open with shared-memory bookkeeping noise; the
     * message before it ("jack server is not running …") is the one to show. */
    if (strstr(message, "JackShm") != NULL) return;
    snprintf(last_jack_message, sizeof last_jack_message, "%s", message);
}
static void ignore_jack_info(const char *message) { (void)message; }
static pthread_once_t install_handlers_once = PTHREAD_ONCE_INIT;
static void install_handlers(void) {
    jack_set_error_function(remember_jack_message);
    jack_set_info_function(ignore_jack_info);
}

static void copy_message(char *destination, size_t size, const char *message) {
    if (destination != NULL && size > 0) snprintf(destination, size, "%s", message);
}

/* ---------------------------------------------------------------------- */
/* Callback gates (see the top of the file)                               */
/* ---------------------------------------------------------------------- */

/* Clients open at once in one process: jack2 serves at most 256 per server
 * (CLIENT_NUM), and libjack one server per process. */
#define CAMIO_GATE_SLOTS 1024u
#define CAMIO_GATE_SLOT_BITS 16
/* A gate's state: callbacks in flight (bits 0-30), closing (bit 31), and the
 * generation (bits 32-63), odd while a client uses the slot. A late callback
 * could only be taken for another client's if 2^31 clients had used its
 * slot since. */
#define CAMIO_GATE_IN_FLIGHT 0x7fffffffull
#define CAMIO_GATE_CLOSING (1ull << 31)
#define CAMIO_GATE_GENERATION_SHIFT 32

_Static_assert(sizeof(uintptr_t) >= 8, "a token holds a 32-bit generation and a slot");

typedef struct camio_gate {
    _Atomic uint64_t state;
    _Atomic(camio_jack *) jack;
} camio_gate;

static camio_gate gates[CAMIO_GATE_SLOTS];

static uint32_t gate_slot(uintptr_t token) { return (uint32_t)(token & ((1u << CAMIO_GATE_SLOT_BITS) - 1)); }
static uint64_t gate_generation(uintptr_t token) { return token >> CAMIO_GATE_SLOT_BITS; }

/* [control] Takes a free slot for `jack`; false when every one is in use. */
static bool gate_open(camio_jack *jack) {
    for (uint32_t slot = 0; slot < CAMIO_GATE_SLOTS; slot++) {
        camio_gate *gate = &gates[slot];
        uint64_t state = atomic_load(&gate->state);
        uint64_t generation = state >> CAMIO_GATE_GENERATION_SHIFT;
        if (generation & 1) continue;
        generation = (generation + 1) & 0xffffffffu;
        /* Taken closed, so that no callback enters before the pointer is there. */
        uint64_t taken = generation << CAMIO_GATE_GENERATION_SHIFT;
        if (!atomic_compare_exchange_strong(&gate->state, &state, taken | CAMIO_GATE_CLOSING)) continue;
        atomic_store_explicit(&gate->jack, jack, memory_order_relaxed);
        atomic_store_explicit(&gate->state, taken, memory_order_release);
        jack->gate_token = (uintptr_t)(generation << CAMIO_GATE_SLOT_BITS) | slot;
        jack->has_gate = true;
        return true;
    }
    return false;
}

/* [any] The client the token was given for, counted in as a callback in
 * flight; NULL when it is closing or gone (nothing else is touched then). */
static camio_jack *_Nullable gate_enter(void *_Nullable argument) {
    uintptr_t token = (uintptr_t)argument;
    uint32_t slot = gate_slot(token);
    if (slot >= CAMIO_GATE_SLOTS) return NULL;
    camio_gate *gate = &gates[slot];
    uint64_t state = atomic_load_explicit(&gate->state, memory_order_relaxed);
    do {
        if ((state >> CAMIO_GATE_GENERATION_SHIFT) != gate_generation(token) || (state & CAMIO_GATE_CLOSING))
            return NULL;
    } while (!atomic_compare_exchange_weak_explicit(&gate->state, &state, state + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    return atomic_load_explicit(&gate->jack, memory_order_relaxed);
}

/* [any] After a successful gate_enter: everything the callback did happens
 * before close frees. */
static void gate_leave(void *_Nullable argument) {
    atomic_fetch_sub_explicit(&gates[gate_slot((uintptr_t)argument)].state, 1, memory_order_release);
}

/* [control] Refuses every later callback and waits for those in flight. */
static void gate_close(camio_jack *jack) {
    if (!jack->has_gate) return;
    camio_gate *gate = &gates[gate_slot(jack->gate_token)];
    atomic_fetch_or(&gate->state, CAMIO_GATE_CLOSING);
    /* Callbacks are a few atomic stores long; a sleep, not a spin, in case
     * the one in flight has been preempted. */
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 50 * 1000};
    while (atomic_load_explicit(&gate->state, memory_order_acquire) & CAMIO_GATE_IN_FLIGHT) nanosleep(&pause, NULL);
}

/* [control] After gate_close and jack_client_close: the slot is free for
 * another client, under another generation than any token given out for it. */
static void gate_free(camio_jack *jack) {
    if (!jack->has_gate) return;
    camio_gate *gate = &gates[gate_slot(jack->gate_token)];
    uint64_t next = (gate_generation(jack->gate_token) + 1) & 0xffffffffu;
    atomic_store_explicit(&gate->jack, NULL, memory_order_relaxed);
    atomic_store_explicit(&gate->state, next << CAMIO_GATE_GENERATION_SHIFT, memory_order_release);
    jack->has_gate = false;
}

/* Enters a callback: cancellation off (see the top of the file), then the
 * gate. NULL when the callback must return at once. */
static camio_jack *_Nullable callback_begin(void *_Nullable argument, int *cancel_state) {
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, cancel_state);
    camio_jack *jack = gate_enter(argument);
    if (jack == NULL) pthread_setcancelstate(*cancel_state, NULL);
    return jack;
}

static void callback_end(void *_Nullable argument, int cancel_state) {
    gate_leave(argument);
    pthread_setcancelstate(cancel_state, NULL);
}

/* ---------------------------------------------------------------------- */
/* Callbacks                                                              */
/* ---------------------------------------------------------------------- */

static _Atomic(camio_cycle_hook) cycle_hook;

void camio_set_cycle_hook(camio_cycle_hook hook) { atomic_store(&cycle_hook, hook); }

/* Writes 64 KiB of the calling thread's stack below this frame once, so
 * that a deeper call chain in a later cycle (a crossfade of shaped entries,
 * a sanitizer's larger frames) finds its stack pages mapped: a first touch
 * there would be a page fault in the middle of a cycle. */
__attribute__((noinline)) static void prefault_stack(void) {
    volatile uint8_t pages[64 * 1024];
    for (size_t i = 0; i < sizeof pages; i += 512) pages[i] = 0;
}

static int on_process(jack_nframes_t nframes, void *argument) {
    camio_jack *jack = argument;
    /* The first cycle on a thread (a server may move the client to another). */
    if (atomic_load_explicit(&jack->process_thread, memory_order_relaxed) != (uint64_t)pthread_self()) prefault_stack();
    camio_cycle_hook hook = atomic_load_explicit(&cycle_hook, memory_order_relaxed);
    if (hook != NULL) hook(true);
    /* A whole cycle or none (see the top of the file). */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    atomic_store_explicit(&jack->process_thread, (uint64_t)pthread_self(), memory_order_relaxed);
    for (uint32_t c = 0; c < jack->input_count; c++)
        jack->input_buffers[c] = jack_port_get_buffer(jack->inputs[c], nframes);
    for (uint32_t c = 0; c < jack->output_count; c++)
        jack->output_buffers[c] = jack_port_get_buffer(jack->outputs[c], nframes);
    jack_nframes_t frame_time = 0;
    jack_time_t usecs = 0, next_usecs = 0;
    float period_usecs = 0;
    if (jack_get_cycle_times(jack->client, &frame_time, &usecs, &next_usecs, &period_usecs) != 0) {
        frame_time = jack_last_frame_time(jack->client);
    } else {
        /* A cycle that began more than a period ago is one of a burst a
         * server runs to catch up after a stop (jack_get_time reads the
         * monotonic clock: no allocation, no lock, no system call). */
        jack_time_t now = jack_get_time();
        if (period_usecs > 0 && now > usecs && (float)(now - usecs) > period_usecs)
            camio_engine_mark_late_cycle(jack->engine);
    }
    camio_engine_process(jack->engine, jack->input_count ? jack->input_buffers : NULL,
                         jack->output_count ? jack->output_buffers : NULL, nframes, frame_time, usecs);
    if (hook != NULL) hook(false);
    /* A cycle that ends after the next one was due missed it with its
     * output, and PipeWire does not say so: its driver runs the next cycle
     * without it (its "graph not finished" is no xrun) and the sink's
     * monitor carries silence where it should be, or an earlier cycle
     * (measured: 11 cycles made to end 1.2 periods late, 2816 silent frames
     * that would have been labelled played). The monitor's next input is not
     * trusted. This runs after the cycle hook's end, outside the realtime
     * probe's window, so that the test's overrun hook can make the cycle
     * late; the same clock read is watched at the cycle's start. */
    if (next_usecs > 0 && jack_get_time() > next_usecs) camio_engine_mark_late_output(jack->engine);
    pthread_setcancelstate(cancel_state, NULL);
    return 0;
}

/* Only the first report is kept. The reason is written before the flag is
 * published, so a reader that sees the flag sees the whole reason. */
static void record_shutdown(camio_jack *jack, jack_status_t code, const char *_Nullable reason) {
    uint32_t unclaimed = 0;
    if (atomic_compare_exchange_strong(&jack->shutdown_claimed, &unclaimed, 1)) {
        snprintf(jack->shutdown_reason, sizeof jack->shutdown_reason, "%s (status 0x%x)",
                 reason ? reason : "server shut down", (unsigned)code);
        atomic_store(&jack->shut_down, 1);
    }
    camio_engine_wake(jack->engine);
}

/* PipeWire's libjack (0.3.65) never calls the info-shutdown callback, only
 * the plain one (measured); jack2 calls both, the notification thread and the
 * process thread each at most once (JackClient::ShutDown). Both are
 * installed, and the first report wins. */
static void on_shutdown(jack_status_t code, const char *reason, void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return;
    record_shutdown(jack, code, reason);
    callback_end(argument, cancel_state);
}

static void on_plain_shutdown(void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return;
    record_shutdown(jack, JackServerError, "the server went away");
    callback_end(argument, cancel_state);
}

static int on_xrun(void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return 0;
    atomic_fetch_add(&jack->xruns, 1);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
    return 0;
}

static int on_buffer_size(jack_nframes_t frames, void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return 0;
    atomic_store(&jack->buffer_size, frames);
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
    return 0;
}

static int on_sample_rate(jack_nframes_t rate, void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return 0;
    atomic_store(&jack->sample_rate, rate);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
    return 0;
}

static void max_range(jack_port_t **ports, uint32_t count, jack_latency_callback_mode_t mode,
                      jack_latency_range_t *range) {
    range->min = 0;
    range->max = 0;
    for (uint32_t i = 0; i < count; i++) {
        jack_latency_range_t r;
        jack_port_get_latency_range(ports[i], mode, &r);
        if (r.min > range->min) range->min = r.min;
        if (r.max > range->max) range->max = r.max;
    }
}

static void on_latency(jack_latency_callback_mode_t mode, void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return;
    /* The engine adds no latency of its own: pass what arrives straight through. */
    jack_latency_range_t range;
    if (mode == JackCaptureLatency) {
        max_range(jack->inputs, jack->input_count, JackCaptureLatency, &range);
        for (uint32_t i = 0; i < jack->output_count; i++)
            jack_port_set_latency_range(jack->outputs[i], JackCaptureLatency, &range);
    } else {
        max_range(jack->outputs, jack->output_count, JackPlaybackLatency, &range);
        for (uint32_t i = 0; i < jack->input_count; i++)
            jack_port_set_latency_range(jack->inputs[i], JackPlaybackLatency, &range);
    }
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
}

/* jack2 sends this from the cycle whose start switched to a new graph (a
 * connection's order of execution holds from that cycle on); PipeWire's
 * libjack after it has taken a link in. */
static int on_graph_order(void *argument) {
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return 0;
    atomic_fetch_add(&jack->graph_orders, 1);
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
    return 0;
}

static bool is_own_port(camio_jack *jack, jack_port_t *_Nullable port) {
    return port != NULL && jack_port_is_mine(jack->client, port);
}

static void on_port_connect(jack_port_id_t a, jack_port_id_t b, int connect, void *argument) {
    (void)connect;
    int cancel_state;
    camio_jack *jack = callback_begin(argument, &cancel_state);
    if (jack == NULL) return;
    /* A cable to or from one of our ports changes what our inputs hear
     * from now on: stop labelling input with the old delay until the
     * bridge has measured the new graph. (Port lookups by id are local
     * reads, no call into the server.) */
    if (is_own_port(jack, jack_port_by_id(jack->client, a)) || is_own_port(jack, jack_port_by_id(jack->client, b)))
        camio_engine_invalidate_latency(jack->engine);
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
    callback_end(argument, cancel_state);
}

/* ---------------------------------------------------------------------- */
/* Requests to the server                                                 */
/* ---------------------------------------------------------------------- */

/* jack2 writes requests to the server's socket with write(). To a server
 * that has died, before the client has noticed (its notification thread
 * calls JackLibClient::ShutDown, which stops further requests), that raises
 * SIGPIPE, whose default action ends the process; jack2 blocks SIGPIPE only
 * in the thread that opened the process's first client. So every call that
 * sends requests blocks SIGPIPE on its own thread for the time of the call,
 * and takes a SIGPIPE the call raised off the thread before unblocking it
 * (the request's own error says that it failed). A SIGPIPE that was pending
 * before is left alone. */
typedef struct camio_request_guard {
    sigset_t previous_mask;
    bool pipe_was_pending;
} camio_request_guard;

static void request_begin(camio_request_guard *guard) {
    sigset_t pending;
    sigemptyset(&pending);
    guard->pipe_was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->previous_mask);
}

static void request_end(camio_request_guard *guard) {
    if (!guard->pipe_was_pending) {
        sigset_t pipe_only;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        const struct timespec now = {.tv_sec = 0, .tv_nsec = 0};
        while (sigtimedwait(&pipe_only, NULL, &now) == SIGPIPE) {}
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous_mask, NULL);
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */
/* ---------------------------------------------------------------------- */

static camio_jack *_Nullable open_client(const char *client_name, const char *_Nullable server_name,
                                         uint32_t *status, char *error, size_t error_size) {
    last_jack_message[0] = 0;
    jack_status_t jack_status = 0;
    jack_options_t options = JackNoStartServer;
    if (server_name != NULL) options |= JackServerName;
    jack_client_t *client = server_name != NULL
        ? jack_client_open(client_name, options, &jack_status, server_name)
        : jack_client_open(client_name, options, &jack_status);
    *status = (uint32_t)jack_status;
    if (client == NULL) {
        copy_message(error, error_size, last_jack_message[0] ? last_jack_message
                                                             : "jack_client_open failed");
        return NULL;
    }
    camio_jack *jack = calloc(1, sizeof(camio_jack));
    if (jack == NULL) {
        jack_client_close(client);
        copy_message(error, error_size, "out of memory");
        return NULL;
    }
    jack->client = client;
    snprintf(jack->client_name, sizeof jack->client_name, "%s", jack_get_client_name(client));
    atomic_init(&jack->sample_rate, jack_get_sample_rate(client));
    atomic_init(&jack->buffer_size, jack_get_buffer_size(client));
    return jack;
}

camio_jack *camio_jack_open(const char *client_name, const char *server_name, uint32_t *status,
                            char *error, size_t error_size) {
    pthread_once(&install_handlers_once, install_handlers);
    camio_request_guard guard;
    request_begin(&guard);
    camio_jack *jack = open_client(client_name, server_name, status, error, error_size);
    request_end(&guard);
    return jack;
}

static int start_client(camio_jack *jack, camio_engine *engine, char *error, size_t error_size) {
    jack->engine = engine;
    jack->input_count = camio_engine_input_channels(engine);
    jack->output_count = camio_engine_output_channels(engine);
    size_t in = jack->input_count ? jack->input_count : 1, out = jack->output_count ? jack->output_count : 1;
    jack->inputs = calloc(in, sizeof(jack_port_t *));
    jack->outputs = calloc(out, sizeof(jack_port_t *));
    jack->input_buffers = calloc(in, sizeof(float *));
    jack->output_buffers = calloc(out, sizeof(float *));
    if (!jack->inputs || !jack->outputs || !jack->input_buffers || !jack->output_buffers) {
        copy_message(error, error_size, "out of memory");
        return -ENOMEM;
    }
    char name[64];
    for (uint32_t i = 0; i < jack->input_count; i++) {
        snprintf(name, sizeof name, "in_%u", i + 1);
        jack->inputs[i] = jack_port_register(jack->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (jack->inputs[i] == NULL) {
            snprintf(error, error_size, "cannot register port %s: %s", name, last_jack_message);
            return -EINVAL;
        }
    }
    for (uint32_t i = 0; i < jack->output_count; i++) {
        snprintf(name, sizeof name, "out_%u", i + 1);
        jack->outputs[i] = jack_port_register(jack->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (jack->outputs[i] == NULL) {
            snprintf(error, error_size, "cannot register port %s: %s", name, last_jack_message);
            return -EINVAL;
        }
    }
    if (!jack->has_gate && !gate_open(jack)) {
        snprintf(error, error_size, "more than %u JACK clients open in this process", CAMIO_GATE_SLOTS);
        return -EMFILE;
    }
    /* Every callback but process gets the gate's token (see the top of the file). */
    void *token = (void *)jack->gate_token;
    int rc = jack_set_process_callback(jack->client, on_process, jack);
    if (rc == 0) rc = jack_set_xrun_callback(jack->client, on_xrun, token);
    if (rc == 0) rc = jack_set_buffer_size_callback(jack->client, on_buffer_size, token);
    if (rc == 0) rc = jack_set_sample_rate_callback(jack->client, on_sample_rate, token);
    if (rc == 0) rc = jack_set_latency_callback(jack->client, on_latency, token);
    if (rc == 0) rc = jack_set_port_connect_callback(jack->client, on_port_connect, token);
    if (rc == 0) rc = jack_set_graph_order_callback(jack->client, on_graph_order, token);
    if (rc != 0) {
        copy_message(error, error_size, "cannot install JACK callbacks");
        return rc;
    }
    jack_on_info_shutdown(jack->client, on_shutdown, token);
    jack_on_shutdown(jack->client, on_plain_shutdown, token);
    rc = jack_activate(jack->client);
    if (rc != 0) {
        snprintf(error, error_size, "jack_activate failed (%d): %s", rc, last_jack_message);
        return rc;
    }
    return 0;
}

int camio_jack_start(camio_jack *jack, camio_engine *engine, char *error, size_t error_size) {
    camio_request_guard guard;
    request_begin(&guard);
    int rc = start_client(jack, engine, error, error_size);
    request_end(&guard);
    return rc;
}

void camio_jack_deactivate(camio_jack *jack) {
    if (jack->client == NULL || atomic_load(&jack->shut_down)) return;
    camio_request_guard guard;
    request_begin(&guard);
    jack_deactivate(jack->client);
    request_end(&guard);
}

/* The order matters (see the top of the file): callbacks are refused and
 * drained first, so none is using the client, its ports or the engine while
 * they are torn down, and none that jack_client_close leaves running (a
 * jack2 process thread in JackClient::Error) can reach them afterwards. */
void camio_jack_close(camio_jack *jack) {
    if (jack == NULL || jack->client == NULL) return;
    gate_close(jack);
    camio_request_guard guard;
    request_begin(&guard);
    /* After the server went away jack_deactivate has no one to ask;
     * jack_client_close stops the threads all the same. */
    if (!atomic_load(&jack->shut_down)) jack_deactivate(jack->client);
    jack_client_close(jack->client);
    request_end(&guard);
    jack->client = NULL;
    gate_free(jack);
}

void camio_jack_destroy(camio_jack *jack) {
    if (jack == NULL) return;
    camio_jack_close(jack);
    free(jack->inputs);
    free(jack->outputs);
    free(jack->input_buffers);
    free(jack->output_buffers);
    free(jack);
}

/* ---------------------------------------------------------------------- */
/* Queries and connections                                                */
/* ---------------------------------------------------------------------- */

const char *camio_jack_client_name(const camio_jack *jack) { return jack->client_name; }
uint32_t camio_jack_sample_rate(const camio_jack *jack) { return atomic_load(&((camio_jack *)jack)->sample_rate); }
uint32_t camio_jack_buffer_size(const camio_jack *jack) { return atomic_load(&((camio_jack *)jack)->buffer_size); }
uint64_t camio_jack_xruns(const camio_jack *jack) { return atomic_load(&((camio_jack *)jack)->xruns); }
uint64_t camio_jack_graph_generation(const camio_jack *jack) {
    return atomic_load(&((camio_jack *)jack)->graph_generation);
}
bool camio_jack_is_shut_down(const camio_jack *jack) { return atomic_load(&((camio_jack *)jack)->shut_down) != 0; }
void camio_jack_shutdown_reason(const camio_jack *jack, char *reason, size_t size) {
    if (size == 0) return;
    if (camio_jack_is_shut_down(jack)) snprintf(reason, size, "%s", jack->shutdown_reason);
    else reason[0] = 0;
}
uint64_t camio_jack_process_thread(const camio_jack *jack) {
    return atomic_load(&((camio_jack *)jack)->process_thread);
}

void *camio_jack_callback_argument(const camio_jack *jack) { return (void *)jack->gate_token; }

void camio_jack_call_shutdown_callback(void *argument, const char *reason) {
    on_shutdown(JackFailure | JackServerError, reason, argument);
}

const char *camio_jack_port_name(const camio_jack *jack, bool is_input, uint32_t index) {
    if (is_input) return index < jack->input_count ? jack_port_name(jack->inputs[index]) : NULL;
    return index < jack->output_count ? jack_port_name(jack->outputs[index]) : NULL;
}

/* Before a cable of ours changes, not after the server reports it: the
 * cycles in between would be labelled with the delay of the old graph. */
static void invalidate_if_own(camio_jack *jack, const char *source, const char *destination) {
    if (jack->engine == NULL) return;
    if (is_own_port(jack, jack_port_by_name(jack->client, source)) ||
        is_own_port(jack, jack_port_by_name(jack->client, destination)))
        camio_engine_invalidate_latency(jack->engine);
}

/* Before and after: a refresh already under way on the bridge may have read
 * the epoch of the first invalidation and walked the graph before the cable
 * changed; the second makes its publication stale. */
static int change_cable(camio_jack *jack, const char *source, const char *destination, bool connect) {
    invalidate_if_own(jack, source, destination);
    camio_request_guard guard;
    request_begin(&guard);
    int rc = connect ? jack_connect(jack->client, source, destination) : jack_disconnect(jack->client, source, destination);
    request_end(&guard);
    invalidate_if_own(jack, source, destination);
    return rc;
}

/* jack_connect returns once the server has recorded the cable, but jack2
 * runs the new order of execution only from the start of a later cycle (one
 * that finds the previous graph finished). A client that starts playing in
 * between is run in the old order for a cycle: a recorder fed by it, run
 * first, reads its previous period then and misses one. So the caller waits
 * for the server's graph-order notice (counted since `orders_before`, read
 * before the request) and for two cycles of ours begun after the request,
 * which covers a notice of an unrelated change that came first. The caller
 * measures the latency anew only after this wait: jack2 sends the notice of
 * the new cable (which stops the labelling of input) asynchronously, ahead
 * of the graph-order notice on the same socket, so a measurement made
 * earlier would be stale by the time the wait ends. Bounded: a server that
 * runs no cycles (shut down, stalled) costs at most the longer of 4 periods
 * and 100 ms. */
void camio_jack_await_graph(camio_jack *jack, uint64_t orders_before) {
    uint64_t cycles_after = camio_engine_cycles(jack->engine);
    uint32_t rate = atomic_load(&jack->sample_rate);
    uint64_t period_ns = rate > 0 ? (uint64_t)atomic_load(&jack->buffer_size) * 1000000000u / rate : 0;
    uint64_t limit_ns = 4 * period_ns > 100000000u ? 4 * period_ns : 100000000u;
    const struct timespec step = {.tv_sec = 0, .tv_nsec = 500000};
    for (uint64_t waited = 0; waited < limit_ns; waited += (uint64_t)step.tv_nsec) {
        if (atomic_load(&jack->shut_down)) return;
        if (atomic_load(&jack->graph_orders) != orders_before && camio_engine_cycles(jack->engine) >= cycles_after + 2)
            return;
        nanosleep(&step, NULL);
    }
}

uint64_t camio_jack_graph_orders(const camio_jack *jack) {
    return atomic_load(&((camio_jack *)jack)->graph_orders);
}

int camio_jack_connect(camio_jack *jack, const char *source, const char *destination, bool *made) {
    int rc = change_cable(jack, source, destination, true);
    if (made != NULL) *made = rc == 0;
    return rc == EEXIST ? 0 : rc;
}

int camio_jack_disconnect(camio_jack *jack, const char *source, const char *destination) {
    return change_cable(jack, source, destination, false);
}

int camio_jack_connect_physical(camio_jack *jack, uint32_t *new_cables) {
    int made = 0;
    uint32_t new_count = 0;
    const char **playback = jack_get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                           JackPortIsPhysical | JackPortIsInput);
    for (uint32_t i = 0; playback && playback[i] && i < jack->output_count; i++) {
        bool new_cable = false;
        if (camio_jack_connect(jack, jack_port_name(jack->outputs[i]), playback[i], &new_cable) == 0) made++;
        if (new_cable) new_count++;
    }
    jack_free(playback);
    const char **capture = jack_get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                          JackPortIsPhysical | JackPortIsOutput);
    for (uint32_t i = 0; capture && capture[i] && i < jack->input_count; i++) {
        bool new_cable = false;
        if (camio_jack_connect(jack, capture[i], jack_port_name(jack->inputs[i]), &new_cable) == 0) made++;
        if (new_cable) new_count++;
    }
    jack_free(capture);
    if (new_cables != NULL) *new_cables = new_count;
    return made;
}

/* --- the feedback walk ---------------------------------------------------
 *
 * An input of ours is fed back when a path of connections leads to it from
 * one of our outputs: directly (out -> in), through other clients (out ->
 * effect:in, effect:out -> in), or through a sink's monitor (PipeWire:
 * out -> system:playback_FL, system:monitor_FL -> in). The server breaks
 * such a loop with one cycle of delay; the clients on it add what their
 * ports' latencies say. A client is passed from any of its input ports to
 * any of its output ports (JACK tells no more of what runs inside a client),
 * except terminal ones: a terminal output (a sound card's capture port)
 * does not carry what arrived at the client's inputs.
 *
 * Two kinds of loop delay differ after a skipped cycle, so the walk tells
 * them apart. Through clients (and a direct cable) jack2 hands the input the
 * output of the last cycle that *ran*: one feedback cycle. Through a device's
 * monitor (a physical input port passed on to a non-terminal output: PipeWire's
 * sink, system:playback_FL -> system:monitor_FL) the input carries what the
 * device received one *server* cycle earlier: one period of the server's
 * clock (measured: after a skipped cycle the monitor delivers silence).
 */

typedef struct camio_walk {
    jack_client_t *client;
    const char *own_prefix; /* "client:" */
    size_t own_prefix_length;
    const char **ports;     /* every port in the graph, sorted: a client's are adjacent */
    uint32_t port_count;
    /* Per entry of `ports`, for paths that reached it without and with a
     * device monitor on the way: the largest latency added on the way when
     * it was walked from (UINT32_MAX: never). A port reached again with more
     * latency is walked again, so each input gets its longest loop, whatever
     * order the ports come in. */
    uint32_t *walked_added[2];
    uint32_t input_count;
    /* Per input of ours: */
    uint8_t *found;         /* a loop through clients only (or a direct cable) reaches it */
    uint8_t *found_monitor; /* a loop through a device's monitor reaches it */
    uint32_t *added;        /* largest latency the clients on its loops add */
} camio_walk;

/* Which of our inputs `name` ("client:in_3" -> 2) is; -1 when none. */
static int32_t own_input_index(const camio_walk *walk, const char *name) {
    const char *port = name + walk->own_prefix_length;
    if (strncmp(port, "in_", 3) != 0) return -1;
    char *end;
    unsigned long number = strtoul(port + 3, &end, 10);
    if (*end != '\0' || number < 1 || number > walk->input_count) return -1;
    return (int32_t)(number - 1);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first sorted entry not below `key` when compared over `length` bytes. */
static uint32_t lower_bound(const camio_walk *walk, const char *key, size_t length) {
    uint32_t low = 0, high = walk->port_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        if (strncmp(walk->ports[middle], key, length) < 0) low = middle + 1;
        else high = middle;
    }
    return low;
}

static int32_t port_index(const camio_walk *walk, const char *name) {
    uint32_t i = lower_bound(walk, name, strlen(name) + 1);
    return i < walk->port_count && strcmp(walk->ports[i], name) == 0 ? (int32_t)i : -1;
}

/* Length of the client part of a full port name ("effect:in_1" -> 6). */
static size_t client_part(jack_port_t *port, const char *full) {
    const char *short_name = jack_port_short_name(port);
    size_t full_length = strlen(full), short_length = strlen(short_name);
    return short_length < full_length ? full_length - short_length - 1 : 0;
}

static uint32_t latency_max(jack_port_t *port, jack_latency_callback_mode_t mode) {
    jack_latency_range_t range;
    jack_port_get_latency_range(port, mode, &range);
    return range.max;
}

/* What a client adds between its input `in` and output `out`: the growth
 * of capture latency across it (or, where a client only sets playback
 * latency, the drop of playback latency). Differences, not absolute values:
 * on a loop the absolute figures run round the loop and mean nothing. */
static uint32_t latency_across(jack_port_t *in, jack_port_t *out) {
    uint32_t in_capture = latency_max(in, JackCaptureLatency), out_capture = latency_max(out, JackCaptureLatency);
    if (out_capture > in_capture) return out_capture - in_capture;
    uint32_t in_playback = latency_max(in, JackPlaybackLatency), out_playback = latency_max(out, JackPlaybackLatency);
    return in_playback > out_playback ? in_playback - out_playback : 0;
}

static void walk_from_output(camio_walk *walk, jack_port_t *out, uint32_t added, bool monitor, uint32_t depth);

/* Arrived at input port `name` with `added` frames of latency on the way,
 * through a device monitor if `monitor`. */
static void walk_into_input(camio_walk *walk, const char *name, uint32_t added, bool monitor, uint32_t depth) {
    if (strncmp(name, walk->own_prefix, walk->own_prefix_length) == 0) {
        int32_t input = own_input_index(walk, name);
        if (input < 0) return;
        if (monitor) walk->found_monitor[input] = 1;
        else walk->found[input] = 1;
        if (added > walk->added[input]) walk->added[input] = added;
        return;
    }
    int32_t index = port_index(walk, name);
    if (index < 0 || depth > 64) return;
    uint32_t *walked = &walk->walked_added[monitor ? 1 : 0][index];
    if (*walked != UINT32_MAX && added <= *walked) return;
    *walked = added;
    jack_port_t *in = jack_port_by_name(walk->client, name);
    if (in == NULL) return;
    bool device = (jack_port_flags(in) & JackPortIsPhysical) != 0;
    size_t client_length = client_part(in, name);
    /* The client's ports, "client:…", are adjacent in the sorted list. */
    for (uint32_t i = lower_bound(walk, name, client_length + 1); i < walk->port_count; i++) {
        const char *candidate = walk->ports[i];
        if (strncmp(candidate, name, client_length + 1) != 0) break;
        jack_port_t *out = jack_port_by_name(walk->client, candidate);
        if (out == NULL) continue;
        int flags = jack_port_flags(out);
        if (!(flags & JackPortIsOutput) || (flags & JackPortIsTerminal)) continue;
        if (client_part(out, candidate) != client_length) continue;
        walk_from_output(walk, out, added + (device ? 0 : latency_across(in, out)), monitor || device, depth + 1);
    }
}

static void walk_from_output(camio_walk *walk, jack_port_t *out, uint32_t added, bool monitor, uint32_t depth) {
    const char **linked = jack_port_get_all_connections(walk->client, out);
    for (uint32_t i = 0; linked && linked[i]; i++) walk_into_input(walk, linked[i], added, monitor, depth);
    jack_free(linked);
}

/* Input `c`'s delay as the walk found it; false when no loop reaches it. */
static bool loop_delay(const camio_walk *walk, uint32_t c, camio_input_delay *delay) {
    if (!walk->found[c] && !walk->found_monitor[c]) return false;
    /* Our own ports' figures run round the loop: what counts is the one
     * cycle the server breaks it with (or the device monitor's period), plus
     * what the clients on it add. Should an input hear both kinds of loop at
     * once, it hears a sum no one delay can label; the cable through
     * clients wins. */
    *delay = (camio_input_delay){.external = walk->added[c], .feedback_cycles = walk->found[c] ? 1 : 0,
                                 .periods = walk->found[c] ? 0 : 1};
    return true;
}

void camio_jack_refresh_latency(camio_jack *jack, camio_latency *published, camio_input_delay *delays_out) {
    /* Read before the graph: an invalidation during the walk leaves this
     * measurement stale, and the engine waits for the next one. */
    uint32_t epoch = camio_engine_latency_epoch(jack->engine);
    uint32_t period = atomic_load(&jack->buffer_size);
    /* jackd recomputes port latencies on a graph change, not on a period
     * change: our ports would still show the old period's figures, which
     * would then be tagged with the new one. Ask for the recomputation (a
     * server call: fine here, never in a notification callback). */
    if (period != jack->latency_period) {
        camio_request_guard guard;
        request_begin(&guard);
        jack_recompute_total_latencies(jack->client);
        request_end(&guard);
        jack->latency_period = period;
    }
    jack_latency_range_t capture, playback;
    max_range(jack->inputs, jack->input_count, JackCaptureLatency, &capture);
    max_range(jack->outputs, jack->output_count, JackPlaybackLatency, &playback);

    char prefix[sizeof jack->client_name + 2];
    snprintf(prefix, sizeof prefix, "%s:", jack->client_name);
    uint32_t inputs = jack->input_count;
    camio_walk walk = {.client = jack->client, .own_prefix = prefix, .own_prefix_length = strlen(prefix),
                       .input_count = inputs};
    const char **graph = jack_get_ports(jack->client, NULL, NULL, 0);
    while (graph && graph[walk.port_count]) walk.port_count++;
    walk.ports = calloc(walk.port_count ? walk.port_count : 1, sizeof(char *));
    for (int kind = 0; kind < 2; kind++) {
        walk.walked_added[kind] = malloc((walk.port_count ? walk.port_count : 1) * sizeof(uint32_t));
        for (uint32_t i = 0; walk.walked_added[kind] && i < walk.port_count; i++) walk.walked_added[kind][i] = UINT32_MAX;
    }
    walk.found = calloc(inputs ? inputs : 1, 1);
    walk.found_monitor = calloc(inputs ? inputs : 1, 1);
    walk.added = calloc(inputs ? inputs : 1, sizeof(uint32_t));
    camio_input_delay *delays = calloc(inputs ? inputs : 1, sizeof(camio_input_delay));
    uint8_t *follows = calloc(inputs ? inputs : 1, 1);
    bool walked = walk.ports != NULL && walk.walked_added[0] != NULL && walk.walked_added[1] != NULL && walk.found != NULL && walk.found_monitor != NULL &&
                  walk.added != NULL && delays != NULL && follows != NULL;
    if (walked) {
        if (walk.port_count) memcpy(walk.ports, graph, walk.port_count * sizeof(char *));
        qsort(walk.ports, walk.port_count, sizeof(char *), compare_names);
        for (uint32_t o = 0; o < jack->output_count; o++)
            walk_from_output(&walk, jack->outputs[o], 0, false, 0);
    }
    jack_free(graph);

    camio_latency latency = {.capture = capture.max, .playback = playback.max, .epoch = epoch};
    /* The physical round trip, for an input no loop reaches (and for every
     * input when the walk could not run). */
    camio_input_delay physical = {.external = capture.max + playback.max};
    camio_input_delay longest = physical;
    bool any = false;
    uint64_t longest_trip = 0;
    for (uint32_t c = 0; walked && c < inputs; c++) {
        if (!loop_delay(&walk, c, &delays[c])) {
            /* Connected to something no output of ours reaches (a capture
             * port, another client): its own capture latency plus the way
             * out. Unconnected: no delay of its own. */
            jack_latency_range_t range;
            jack_port_get_latency_range(jack->inputs[c], JackCaptureLatency, &range);
            delays[c] = (camio_input_delay){.external = range.max + playback.max};
            if (!jack_port_connected(jack->inputs[c])) {
                follows[c] = 1;
                continue;
            }
        }
        uint64_t trip = camio_input_delay_round_trip(&delays[c], period);
        if (!any || trip > longest_trip) {
            longest = delays[c];
            longest_trip = trip;
            any = true;
        }
    }
    /* An unconnected input hears silence whatever its delay: it takes the
     * longest, so it holds no other input back. */
    for (uint32_t c = 0; walked && c < inputs; c++)
        if (follows[c]) delays[c] = longest;
    latency.external = longest.external;
    latency.feedback_cycles = longest.feedback_cycles;
    latency.periods = longest.periods;
    /* Port latencies are figures of one period: tag them with the one read
     * before them (should it have changed meanwhile, the tag no longer
     * matches the cycles, and the next refresh measures again). */
    bool any_external = latency.external != 0;
    for (uint32_t c = 0; walked && c < inputs; c++) any_external = any_external || delays[c].external != 0;
    latency.period = any_external ? period : 0;
    camio_engine_set_latency(jack->engine, &latency, walked ? delays : NULL);
    if (published) *published = latency;
    if (delays_out)
        for (uint32_t c = 0; c < inputs; c++) delays_out[c] = walked ? delays[c] : longest;
    free(follows);
    free(delays);
    free(walk.added);
    free(walk.found_monitor);
    free(walk.found);
    free(walk.walked_added[0]);
    free(walk.walked_added[1]);
    free(walk.ports);
}

bool camio_jack_own_port_latency(camio_jack *jack, bool is_input, uint32_t index, uint32_t *min, uint32_t *max) {
    if (index >= (is_input ? jack->input_count : jack->output_count)) return false;
    jack_latency_range_t range;
    jack_port_get_latency_range(is_input ? jack->inputs[index] : jack->outputs[index],
                                is_input ? JackCaptureLatency : JackPlaybackLatency, &range);
    *min = range.min;
    *max = range.max;
    return true;
}

bool camio_jack_is_pipewire(void) { return strstr(jack_get_version_string(), "PipeWire") != NULL; }

int camio_jack_set_buffer_size(camio_jack *jack, uint32_t frames) {
    camio_request_guard guard;
    request_begin(&guard);
    int rc = jack_set_buffer_size(jack->client, frames);
    request_end(&guard);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The graph                                                              */
/* ---------------------------------------------------------------------- */

uint32_t camio_jack_list_ports(camio_jack *jack, const char ***names) {
    *names = jack_get_ports(jack->client, NULL, NULL, 0);
    uint32_t count = 0;
    while (*names && (*names)[count]) count++;
    return count;
}

void camio_jack_free_names(const char **names) {
    if (names) jack_free(names);
}

bool camio_jack_port_info(camio_jack *jack, const char *name, camio_port_info *info, char *connections,
                          uint32_t max_connections) {
    jack_port_t *port = jack_port_by_name(jack->client, name);
    if (port == NULL) return false;
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", jack_port_name(port));
    snprintf(info->type, sizeof info->type, "%s", jack_port_type(port));
    int flags = jack_port_flags(port);
    info->is_input = (flags & JackPortIsInput) != 0;
    info->is_physical = (flags & JackPortIsPhysical) != 0;
    jack_latency_range_t range;
    jack_port_get_latency_range(port, JackCaptureLatency, &range);
    info->capture_latency_min = range.min;
    info->capture_latency_max = range.max;
    jack_port_get_latency_range(port, JackPlaybackLatency, &range);
    info->playback_latency_min = range.min;
    info->playback_latency_max = range.max;
    const char **linked = jack_port_get_all_connections(jack->client, port);
    for (uint32_t i = 0; linked && linked[i]; i++) {
        if (connections && i < max_connections) snprintf(connections + (size_t)i * CAMIO_PORT_NAME_SIZE, CAMIO_PORT_NAME_SIZE, "%s", linked[i]);
        info->connection_count++;
    }
    jack_free(linked);
    return true;
}
