/* Shared by runqlat.bpf.c and runqlat.ts: the histogram's shape. */
#ifndef __RUNQLAT_H
#define __RUNQLAT_H

#include "common/types.h"

/* log2 slots of a u64 latency: slot i counts [2^i, 2^(i+1)) µs, slot 0 [0, 2). With one slot per
 * bit no latency is ever clamped into the last slot. */
#define RUNQLAT_SLOTS 64

#endif
