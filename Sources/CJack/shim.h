#ifndef CJACK_SHIM_H
#define CJACK_SHIM_H
#include <jack/jack.h>
#include <jack/types.h>
#endif
