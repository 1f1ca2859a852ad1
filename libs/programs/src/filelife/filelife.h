/* One record per unlink/unlinkat of a file, shared by filelife.bpf.c and the layout in filelife.ts. */
#ifndef __FILELIFE_H
#define __FILELIFE_H

#include "common/types.h"

#define FILELIFE_PATH_LEN 256

struct filelife_event {
	__u64 time_ns;   /* when the unlink began, CLOCK_MONOTONIC ns */
	__u64 age_ns;    /* since this program saw the path created (O_CREAT open or creat); 0 when it did not */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;       /* 0, or -errno */
	__s32 dirfd;     /* unlinkat's dirfd (-100 is AT_FDCWD); -100 for unlink */
	__u32 syscall;   /* the syscall number: unlink or unlinkat */
	char comm[FT_COMM_LEN];
	char path[FILELIFE_PATH_LEN]; /* as passed: relative paths are relative to dirfd; cut at 255 bytes */
};

/* Key of the creations map: the path exactly as passed, zero-filled after its NUL. */
struct filelife_path_key {
	char path[FILELIFE_PATH_LEN];
};

#endif
