/* The log2 slot every latency histogram of the catalog counts in: slot i holds values in
 * [2^i, 2^(i+1)), slot 0 also 0 — the layout HistOutputSpec and histFromEntries read. */
#ifndef __FLEETTRACE_LOG2_HIST_BPF_H
#define __FLEETTRACE_LOG2_HIST_BPF_H

#include "vmlinux.h"

/* Binary search for the highest set bit: six steps, no loop for the verifier to walk. */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	if (v >> 32) { v >>= 32; slot += 32; }
	if (v >> 16) { v >>= 16; slot += 16; }
	if (v >> 8) { v >>= 8; slot += 8; }
	if (v >> 4) { v >>= 4; slot += 4; }
	if (v >> 2) { v >>= 2; slot += 2; }
	if (v >> 1) slot += 1;
	return slot;
}

#endif
