/* Map key of profile, shared by profile.bpf.c and the key layout in profile.ts. */
#ifndef __PROFILE_H
#define __PROFILE_H

#include "common/types.h"

/* Frames kept per stack: the kernel's PERF_MAX_STACK_DEPTH. */
#define PROFILE_MAX_STACK_DEPTH 127

struct profile_key {
	__u32 pid;             /* tgid: whose mappings symbolize the user stack */
	__s32 user_stack_id;   /* id in the `stacks` map, or -errno when none was taken (kernel threads: -EFAULT) */
	__s32 kernel_stack_id; /* -EFAULT when the sample hit user mode */
	char comm[FT_COMM_LEN];
};

#endif
