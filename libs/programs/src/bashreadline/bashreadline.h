/* One record per line bash read, shared by bashreadline.bpf.c and the layout in bashreadline.ts. */
#ifndef __BASHREADLINE_H
#define __BASHREADLINE_H

#include "common/types.h"

/* Bytes of a line kept, NUL included; longer lines are cut. */
#define BASHREADLINE_LINE_LEN 256

struct bashreadline_event {
	__u64 time_ns; /* when readline returned, CLOCK_MONOTONIC ns */
	__u32 pid;     /* tgid */
	__u32 uid;
	char comm[FT_COMM_LEN];
	char line[BASHREADLINE_LINE_LEN];
};

#endif
