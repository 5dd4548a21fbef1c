/*
 * The JACK driver: a client whose process callback runs the engine.
 *
 * Callbacks other than process run on JACK's notification thread (or, for
 * shutdown, possibly the process thread): they only store into atomics and wake
 * the bridge thread, which does any work that may call back into the server.
 */
#include <jack/jack.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    _Atomic uint32_t shutdown_claimed;
    _Atomic uint32_t shut_down;
    _Atomic uint64_t process_thread;
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
/* Callbacks                                                              */
/* ---------------------------------------------------------------------- */

static int on_process(jack_nframes_t nframes, void *argument) {
    camio_jack *jack = argument;
    atomic_store_explicit(&jack->process_thread, (uint64_t)pthread_self(), memory_order_relaxed);
    for (uint32_t c = 0; c < jack->input_count; c++)
        jack->input_buffers[c] = jack_port_get_buffer(jack->inputs[c], nframes);
    for (uint32_t c = 0; c < jack->output_count; c++)
        jack->output_buffers[c] = jack_port_get_buffer(jack->outputs[c], nframes);
    jack_nframes_t frame_time = 0;
    jack_time_t usecs = 0, next_usecs = 0;
    float period_usecs = 0;
    if (jack_get_cycle_times(jack->client, &frame_time, &usecs, &next_usecs, &period_usecs) != 0)
        frame_time = jack_last_frame_time(jack->client);
    camio_engine_process(jack->engine, jack->input_count ? jack->input_buffers : NULL,
                         jack->output_count ? jack->output_buffers : NULL, nframes, frame_time, usecs);
    return 0;
}

static void on_shutdown(jack_status_t code, const char *reason, void *argument) {
    camio_jack *jack = argument;
    uint32_t unclaimed = 0;
    /* Only the first report is kept. The reason is written before the flag is
     * published, so a reader that sees the flag sees the whole reason. */
    if (atomic_compare_exchange_strong(&jack->shutdown_claimed, &unclaimed, 1)) {
        snprintf(jack->shutdown_reason, sizeof jack->shutdown_reason, "%s (status 0x%x)",
                 reason ? reason : "server shut down", (unsigned)code);
        atomic_store(&jack->shut_down, 1);
    }
    camio_engine_wake(jack->engine);
}

static int on_xrun(void *argument) {
    camio_jack *jack = argument;
    atomic_fetch_add(&jack->xruns, 1);
    camio_engine_wake(jack->engine);
    return 0;
}

static int on_buffer_size(jack_nframes_t frames, void *argument) {
    camio_jack *jack = argument;
    atomic_store(&jack->buffer_size, frames);
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
    return 0;
}

static int on_sample_rate(jack_nframes_t rate, void *argument) {
    camio_jack *jack = argument;
    atomic_store(&jack->sample_rate, rate);
    camio_engine_wake(jack->engine);
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
    camio_jack *jack = argument;
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
}

static void on_port_connect(jack_port_id_t a, jack_port_id_t b, int connect, void *argument) {
    (void)a; (void)b; (void)connect;
    camio_jack *jack = argument;
    atomic_fetch_add(&jack->graph_generation, 1);
    camio_engine_wake(jack->engine);
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */
/* ---------------------------------------------------------------------- */

camio_jack *camio_jack_open(const char *client_name, const char *server_name, uint32_t *status,
                            char *error, size_t error_size) {
    pthread_once(&install_handlers_once, install_handlers);
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

int camio_jack_start(camio_jack *jack, camio_engine *engine, char *error, size_t error_size) {
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
    int rc = jack_set_process_callback(jack->client, on_process, jack);
    if (rc == 0) rc = jack_set_xrun_callback(jack->client, on_xrun, jack);
    if (rc == 0) rc = jack_set_buffer_size_callback(jack->client, on_buffer_size, jack);
    if (rc == 0) rc = jack_set_sample_rate_callback(jack->client, on_sample_rate, jack);
    if (rc == 0) rc = jack_set_latency_callback(jack->client, on_latency, jack);
    if (rc == 0) rc = jack_set_port_connect_callback(jack->client, on_port_connect, jack);
    if (rc != 0) {
        copy_message(error, error_size, "cannot install JACK callbacks");
        return rc;
    }
    jack_on_info_shutdown(jack->client, on_shutdown, jack);
    rc = jack_activate(jack->client);
    if (rc != 0) {
        snprintf(error, error_size, "jack_activate failed (%d): %s", rc, last_jack_message);
        return rc;
    }
    return 0;
}

void camio_jack_deactivate(camio_jack *jack) {
    if (jack->client != NULL && !atomic_load(&jack->shut_down)) jack_deactivate(jack->client);
}

void camio_jack_close(camio_jack *jack) {
    if (jack == NULL || jack->client == NULL) return;
    if (!atomic_load(&jack->shut_down)) jack_deactivate(jack->client);
    jack_client_close(jack->client);
    jack->client = NULL;
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

const char *camio_jack_port_name(const camio_jack *jack, bool is_input, uint32_t index) {
    if (is_input) return index < jack->input_count ? jack_port_name(jack->inputs[index]) : NULL;
    return index < jack->output_count ? jack_port_name(jack->outputs[index]) : NULL;
}

int camio_jack_connect(camio_jack *jack, const char *source, const char *destination) {
    int rc = jack_connect(jack->client, source, destination);
    return rc == EEXIST ? 0 : rc;
}

int camio_jack_disconnect(camio_jack *jack, const char *source, const char *destination) {
    return jack_disconnect(jack->client, source, destination);
}

int camio_jack_connect_physical(camio_jack *jack) {
    int made = 0;
    const char **playback = jack_get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                           JackPortIsPhysical | JackPortIsInput);
    for (uint32_t i = 0; playback && playback[i] && i < jack->output_count; i++)
        if (camio_jack_connect(jack, jack_port_name(jack->outputs[i]), playback[i]) == 0) made++;
    jack_free(playback);
    const char **capture = jack_get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                          JackPortIsPhysical | JackPortIsOutput);
    for (uint32_t i = 0; capture && capture[i] && i < jack->input_count; i++)
        if (camio_jack_connect(jack, capture[i], jack_port_name(jack->inputs[i])) == 0) made++;
    jack_free(capture);
    return made;
}

void camio_jack_refresh_latency(camio_jack *jack) {
    jack_latency_range_t capture, playback;
    max_range(jack->inputs, jack->input_count, JackCaptureLatency, &capture);
    max_range(jack->outputs, jack->output_count, JackPlaybackLatency, &playback);
    bool self_fed = false;
    for (uint32_t i = 0; i < jack->input_count && !self_fed; i++)
        for (uint32_t o = 0; o < jack->output_count && !self_fed; o++)
            self_fed = jack_port_connected_to(jack->inputs[i], jack_port_name(jack->outputs[o]));
    camio_engine_set_latency(jack->engine, capture.max, playback.max, self_fed);
}

int camio_jack_set_buffer_size(camio_jack *jack, uint32_t frames) {
    return jack_set_buffer_size(jack->client, frames);
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
