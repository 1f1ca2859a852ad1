/* Shared by biolatency.bpf.c and biolatency.ts: the histogram's shape. */
#ifndef __BIOLATENCY_H
#define __BIOLATENCY_H

#include "common/types.h"

/* log2 slots of a u64 latency in µs: slot i counts [2^i, 2^(i+1)), slot 0 [0, 2). */
#define BIOLATENCY_SLOTS 64

#endif
