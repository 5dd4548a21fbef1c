#include "plain_read.h"

#include <string.h>

uint64_t plain_read_sum(const void *bytes, size_t count) {
    const unsigned char *start = bytes;
    size_t words = count / sizeof(uint64_t);
    uint64_t sum = 0;
    // Integer addition is associative, so the compiler may split this into
    // vector lanes; a float sum would be one serial chain and time the adder,
    // not the memory.
    for (size_t index = 0; index < words; index++) {
        uint64_t word;
        memcpy(&word, start + index * sizeof word, sizeof word);
        sum += word;
    }
    for (size_t index = words * sizeof(uint64_t); index < count; index++) sum += start[index];
    return sum;
}
