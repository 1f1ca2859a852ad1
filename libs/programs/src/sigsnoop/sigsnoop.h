/* One record per signal generated, shared by sigsnoop.bpf.c and the layout in sigsnoop.ts. */
#ifndef __SIGSNOOP_H
#define __SIGSNOOP_H

#include "common/types.h"

struct sigsnoop_event {
	__u64 time_ns;     /* when the signal was generated, CLOCK_MONOTONIC ns */
	__u32 pid;         /* the sender's tgid (the task that was current: the kernel for SI_KERNEL signals) */
	__u32 tid;
	__u32 target_pid;  /* the target's tgid */
	__u32 target_tid;
	__u32 sig;
	__s32 code;        /* si_code: 0 SI_USER (kill), 0x80 SI_KERNEL, -6 SI_TKILL, ... */
	__s32 result;      /* 0 delivered, 1 ignored, 2 already pending, 3 queue overflow, 4 info lost */
	__u32 group;       /* 1 when sent to the whole thread group */
	char comm[FT_COMM_LEN];        /* the sender's */
	char target_comm[FT_COMM_LEN];
};

#endif
