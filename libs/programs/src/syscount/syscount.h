/* Map keys of syscount, shared by syscount.bpf.c and the key layouts in syscount.ts. */
#ifndef __SYSCOUNT_H
#define __SYSCOUNT_H

#include "common/types.h"

struct syscount_syscall_key {
	__u32 syscall; /* the syscall number of the calling task's ABI */
};

struct syscount_process_key {
	__u32 pid; /* tgid */
	char comm[FT_COMM_LEN];
};

#endif
