/*
 * The yardstick of SwiftAMIO's idle cost: the least a JACK client can do
 * that has the same work shape as a rolling AudioInterface with no clips
 * whose input is consumed. Its process callback clears its outputs, copies
 * its input ports into a lock-free single-producer/single-consumer ring
 * (a header and the period's samples, planar, as the engine's capture ring)
 * and posts a semaphore; a reader thread woken by it copies every period out.
 *
 * Usage: PlainJackClient SERVER-NAME
 * Prints "ready" once it runs and its ports are connected to the server's
 * physical ones. Each line read from standard input is answered with
 * "cpu MICROSECONDS", the CPU time (user + system, all threads) the process
 * has used; end of input closes the client, which then prints
 * "consumed FRAMES overflows COUNT".
 */
#define _GNU_SOURCE
#include <jack/jack.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { CHANNELS = 2 };
/// Holds about 5 s of stereo input at 48 kHz: the reader never falls behind that far.
#define RING_BYTES ((uint64_t)1 << 21)
/// The largest period jackd allows.
#define MAXIMUM_PERIOD 8192

static jack_port_t *inputs[CHANNELS];
static jack_port_t *outputs[CHANNELS];

/// The ring: monotonic byte counts, so full and empty never look alike.
static unsigned char ring[RING_BYTES];
static _Alignas(64) _Atomic uint64_t ring_written;
static _Alignas(64) _Atomic uint64_t ring_read;
static _Atomic uint64_t overflows;
static sem_t wake;
static _Atomic bool stopping;
static uint64_t consumed_frames;

static void ring_put(uint64_t at, const void *bytes, uint64_t count) {
    uint64_t offset = at & (RING_BYTES - 1), first = RING_BYTES - offset < count ? RING_BYTES - offset : count;
    memcpy(ring + offset, bytes, first);
    memcpy(ring, (const unsigned char *)bytes + first, count - first);
}

static void ring_get(uint64_t at, void *bytes, uint64_t count) {
    uint64_t offset = at & (RING_BYTES - 1), first = RING_BYTES - offset < count ? RING_BYTES - offset : count;
    memcpy(bytes, ring + offset, first);
    memcpy((unsigned char *)bytes + first, ring, count - first);
}

static int process(jack_nframes_t frames, void *context) {
    (void)context;
    for (int channel = 0; channel < CHANNELS; channel++)
        memset(jack_port_get_buffer(outputs[channel], frames), 0, frames * sizeof(float));
    uint64_t samples = (uint64_t)frames * sizeof(float);
    uint64_t needed = sizeof(uint32_t) + CHANNELS * samples;
    uint64_t written = atomic_load_explicit(&ring_written, memory_order_relaxed);
    uint64_t read = atomic_load_explicit(&ring_read, memory_order_acquire);
    if (RING_BYTES - (written - read) < needed) {
        atomic_fetch_add_explicit(&overflows, 1, memory_order_relaxed);
    } else {
        uint32_t header = frames;
        ring_put(written, &header, sizeof header);
        for (int channel = 0; channel < CHANNELS; channel++)
            ring_put(written + sizeof header + channel * samples, jack_port_get_buffer(inputs[channel], frames), samples);
        atomic_store_explicit(&ring_written, written + needed, memory_order_release);
    }
    sem_post(&wake);
    return 0;
}

static void *read_periods(void *context) {
    (void)context;
    static float period[CHANNELS * MAXIMUM_PERIOD];
    while (!atomic_load_explicit(&stopping, memory_order_acquire)) {
        while (sem_wait(&wake) != 0) {}
        uint64_t read = atomic_load_explicit(&ring_read, memory_order_relaxed);
        while (read < atomic_load_explicit(&ring_written, memory_order_acquire)) {
            uint32_t frames;
            ring_get(read, &frames, sizeof frames);
            ring_get(read + sizeof frames, period, (uint64_t)CHANNELS * frames * sizeof(float));
            consumed_frames += frames;
            read += sizeof frames + (uint64_t)CHANNELS * frames * sizeof(float);
            atomic_store_explicit(&ring_read, read, memory_order_release);
        }
    }
    return NULL;
}

static long long cpu_microseconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000
        + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SERVER-NAME\n", argv[0]);
        return 2;
    }
    jack_status_t status;
    jack_client_t *client = jack_client_open("plain-c-client", JackNoStartServer | JackServerName, &status, argv[1]);
    if (client == NULL) {
        fprintf(stderr, "PlainJackClient: cannot open a client of server %s (status 0x%x)\n", argv[1], status);
        return 1;
    }
    char name[32];
    for (int channel = 0; channel < CHANNELS; channel++) {
        snprintf(name, sizeof name, "in_%d", channel + 1);
        inputs[channel] = jack_port_register(client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        snprintf(name, sizeof name, "out_%d", channel + 1);
        outputs[channel] = jack_port_register(client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (inputs[channel] == NULL || outputs[channel] == NULL) {
            fprintf(stderr, "PlainJackClient: cannot register ports\n");
            return 1;
        }
    }
    sem_init(&wake, 0, 0);
    pthread_t reader;
    if (pthread_create(&reader, NULL, read_periods, NULL) != 0) return 1;
    jack_set_process_callback(client, process, NULL);
    if (jack_activate(client) != 0) {
        fprintf(stderr, "PlainJackClient: cannot activate\n");
        return 1;
    }
    // The same connections as AudioInterface(connectPhysicalPorts: true) makes.
    char physical[64];
    for (int channel = 0; channel < CHANNELS; channel++) {
        snprintf(physical, sizeof physical, "system:capture_%d", channel + 1);
        jack_connect(client, physical, jack_port_name(inputs[channel]));
        snprintf(physical, sizeof physical, "system:playback_%d", channel + 1);
        jack_connect(client, jack_port_name(outputs[channel]), physical);
    }
    printf("ready\n");
    fflush(stdout);

    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        printf("cpu %lld\n", cpu_microseconds());
        fflush(stdout);
    }

    jack_deactivate(client);
    jack_client_close(client);
    atomic_store_explicit(&stopping, true, memory_order_release);
    sem_post(&wake);
    pthread_join(reader, NULL);
    printf("consumed %llu overflows %llu\n", (unsigned long long)consumed_frames,
           (unsigned long long)atomic_load(&overflows));
    return 0;
}
