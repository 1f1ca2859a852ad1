/* One record per exit, shared by exitsnoop.bpf.c and the layout in exitsnoop.ts. */
#ifndef __EXITSNOOP_H
#define __EXITSNOOP_H

#include "common/types.h"

struct exitsnoop_event {
	__u64 time_ns;     /* when the task exited, CLOCK_MONOTONIC ns */
	__u64 start_ns;    /* when it started (task->start_time), CLOCK_MONOTONIC ns */
	__u64 lifetime_ns; /* time_ns - start_ns */
	__u32 pid;         /* tgid */
	__u32 tid;
	__u32 ppid;        /* the real parent's tgid */
	__u32 exit_code;   /* (status >> 8) & 0xff: what exit() was given; 0 when killed by a signal */
	__u32 signal;      /* status & 0x7f: the signal that killed it, 0 for a normal exit */
	__u32 core_dumped; /* 1 when the killing signal dumped core */
	char comm[FT_COMM_LEN];
};

#endif
