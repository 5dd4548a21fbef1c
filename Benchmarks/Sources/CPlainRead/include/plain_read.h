#ifndef PLAIN_READ_H
#define PLAIN_READ_H

#include <stddef.h>
#include <stdint.h>

/// Reads `count` bytes from `bytes` once, front to back, and returns their
/// sum as 64-bit words (the tail bytes added one by one): the simplest loop
/// that touches every byte, which the compiler vectorises, so it runs at
/// the memory's streaming bandwidth. The mixer's clip bandwidth is measured
/// against it.
uint64_t plain_read_sum(const void *bytes, size_t count);

#endif
