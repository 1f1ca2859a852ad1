/* One record per execve/execveat, shared by execsnoop.bpf.c and the layout in execsnoop.ts.
 * Field order keeps every member naturally aligned; the layout test checks it against the BTF. */
#ifndef __EXECSNOOP_H
#define __EXECSNOOP_H

#include "common/types.h"

#define EXECSNOOP_FILENAME_LEN 256
/* At most this many argv entries are read... */
#define EXECSNOOP_MAX_ARGS 16
/* ...each at most this many bytes, NUL included... */
#define EXECSNOOP_ARG_LEN 128
/* ...joined by spaces into this buffer: a power of two, so offsets into it can be masked for the
 * verifier. An argument is copied only while a whole EXECSNOOP_ARG_LEN still fits. */
#define EXECSNOOP_ARGS_LEN 1024

struct execsnoop_event {
	__u64 time_ns;   /* when the exec began, CLOCK_MONOTONIC ns: the runner converts it to epoch time with process.hrtime, which reads the same clock */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 ppid;      /* the real parent's tgid */
	__u32 uid;
	__s32 retval;    /* 0, or -errno for a failed exec */
	__u16 args_count;    /* argv entries in args */
	__u8 args_truncated; /* 1 when an argument was cut short or argv had more entries */
	__u8 filename_truncated;
	char comm[FT_COMM_LEN]; /* after the exec: the new program's name (the caller's if it failed) */
	char filename[EXECSNOOP_FILENAME_LEN];
	char args[EXECSNOOP_ARGS_LEN]; /* argv[0..args_count) joined by single spaces */
};

#endif
