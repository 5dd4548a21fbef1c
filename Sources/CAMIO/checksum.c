/*
 * A 64-bit checksum for the conversion cache: the samples of a cached clip
 * (hundreds of megabytes) are checked on every load, so it has to run at
 * memory speed, and `swift build` compiles C at -O0. Clang's vector types
 * keep the main loop vector instructions at every optimisation level (as
 * in kernels.c): eight 64-bit lanes, each a multiply-rotate-multiply
 * accumulator over every eighth word. Every step of a lane is a bijection
 * of its accumulator for a given word (an odd multiplier, a rotation), so
 * a change to any one word always changes that lane, and the final mixing
 * folds every lane, the length and the remaining bytes into the result.
 *
 * The constants are odd 64-bit numbers with well-spread bits (the ones the
 * xxHash family uses); the arithmetic is unsigned, so wrapping is defined.
 * Integer arithmetic only: the value does not depend on the CPU or the
 * compiler's choices.
 */
#include "camio.h"

#include <string.h>

typedef uint64_t camio_u64x4 __attribute__((ext_vector_type(4)));
typedef camio_u64x4 camio_u64x4_unaligned __attribute__((aligned(1)));

static const uint64_t prime1 = 0x9e3779b185ebca87ULL;
static const uint64_t prime2 = 0xc2b2ae3d27d4eb4fULL;
static const uint64_t prime3 = 0x165667b19e3779f9ULL;
static const uint64_t prime4 = 0x85ebca77c2b2ae63ULL;

static inline uint64_t rotate(uint64_t x, int by) { return (x << by) | (x >> (64 - by)); }

static inline uint64_t round_word(uint64_t accumulator, uint64_t word) {
    return rotate(accumulator + word * prime2, 31) * prime1;
}

/* Folds `word` into the running value `h`. */
static inline uint64_t fold(uint64_t h, uint64_t word) { return rotate(h ^ round_word(0, word), 27) * prime1 + prime4; }

uint64_t camio_checksum(const void *bytes, size_t count, uint64_t seed) {
    const unsigned char *p = bytes;
    size_t i = 0;
    camio_u64x4 a = {seed + prime1 + prime2, seed + prime2, seed, seed - prime1};
    camio_u64x4 b = a ^ prime3;
    /* 64 bytes a step: two independent vectors, so their multiplies overlap. */
    for (; i + 64 <= count; i += 64) {
        const camio_u64x4_unaligned *v = (const camio_u64x4_unaligned *)(p + i);
        camio_u64x4 x = v[0], y = v[1];
        a += x * prime2;
        b += y * prime2;
        a = (a << 31) | (a >> 33);
        b = (b << 31) | (b >> 33);
        a *= prime1;
        b *= prime1;
    }
    uint64_t h = seed + prime4 + (uint64_t)count * prime3;
    for (int lane = 0; lane < 4; lane++) {
        h = (h ^ round_word(0, a[lane])) * prime1 + prime4;
        h = (h ^ round_word(0, b[lane])) * prime1 + prime4;
    }
    for (; i + 8 <= count; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        h = fold(h, word);
    }
    if (i < count) {
        uint64_t word = 0;
        memcpy(&word, p + i, count - i);
        h = fold(h, word);
    }
    h ^= h >> 33;
    h *= prime2;
    h ^= h >> 29;
    h *= prime3;
    h ^= h >> 32;
    return h;
}
