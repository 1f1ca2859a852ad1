/* Shared by funclatency.bpf.c and funclatency.ts: the histogram's shape. */
#ifndef __FUNCLATENCY_H
#define __FUNCLATENCY_H

#include "common/types.h"

/* log2 slots of a u64 latency in µs: slot i counts [2^i, 2^(i+1)), slot 0 [0, 2). */
#define FUNCLATENCY_SLOTS 64

#endif
