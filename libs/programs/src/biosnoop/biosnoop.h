/* One record per completed block request, shared by biosnoop.bpf.c and the layout in biosnoop.ts. */
#ifndef __BIOSNOOP_H
#define __BIOSNOOP_H

#include "common/types.h"

struct biosnoop_event {
	__u64 time_ns;    /* completion, CLOCK_MONOTONIC ns */
	__u64 latency_ns; /* issue to completion */
	__u64 queued_ns;  /* submission to issue; 0 when the submission was not seen */
	__u64 sector;     /* first 512-byte sector */
	__u32 bytes;      /* bytes completed */
	__u32 major;      /* the whole disk's */
	__u32 minor;
	__u32 pid;        /* the submitter's tgid; 0 when unknown */
	__u32 op;         /* REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard, 5 secure erase, 9 write zeroes */
	__s32 error;      /* 0, or -errno of the block status */
	char comm[FT_COMM_LEN]; /* the submitter's; empty when unknown */
};

#endif
