/* Map key of funccount, shared by funccount.bpf.c and the key layout in funccount.ts. */
#ifndef __FUNCCOUNT_H
#define __FUNCCOUNT_H

#include "common/types.h"

struct funccount_key {
	__u32 pid; /* tgid */
	char comm[FT_COMM_LEN];
};

#endif
