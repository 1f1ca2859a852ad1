/* Map key of offcputime, shared by offcputime.bpf.c and the key layout in offcputime.ts. */
#ifndef __OFFCPUTIME_H
#define __OFFCPUTIME_H

#include "common/types.h"

/* Frames kept per stack: the kernel's PERF_MAX_STACK_DEPTH. */
#define OFFCPUTIME_MAX_STACK_DEPTH 127

struct offcputime_key {
	__u32 pid;             /* tgid: whose mappings symbolize the user stack */
	__s32 user_stack_id;   /* id in the `stacks` map, or -errno when none was taken (kernel threads: -EFAULT) */
	__s32 kernel_stack_id;
	char comm[FT_COMM_LEN];
};

#endif
