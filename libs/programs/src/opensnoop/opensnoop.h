/* One record per open, openat or openat2, shared by opensnoop.bpf.c and the layout in opensnoop.ts. */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#include "common/types.h"

#define OPENSNOOP_PATH_LEN 256

struct opensnoop_event {
	__u64 time_ns;   /* when the open began, CLOCK_MONOTONIC ns */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;       /* the new fd, or -errno */
	__u32 flags;     /* O_* flags as passed */
	__u32 mode;      /* creation mode as passed (meaningful with O_CREAT/O_TMPFILE) */
	__s32 dirfd;     /* openat/openat2's dirfd (-100 is AT_FDCWD); -100 for open */
	__u32 syscall;   /* the syscall number: open, openat or openat2 */
	char comm[FT_COMM_LEN];
	char path[OPENSNOOP_PATH_LEN]; /* as passed: relative paths are relative to dirfd; cut at 255 bytes */
};

#endif
