/* One record per OOM kill, shared by oomkill.bpf.c and the layout in oomkill.ts. */
#ifndef __OOMKILL_H
#define __OOMKILL_H

#include "common/types.h"

struct oomkill_event {
	__u64 time_ns;         /* when the victim was chosen, CLOCK_MONOTONIC ns */
	/* The victim's memory when it was chosen, in pages (the kernel's page size, 4 KiB on x86-64).
	 * The rss counters are the kernel's approximate per-CPU sums, as the OOM report prints them. */
	__u64 total_vm_pages;
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u32 pid;             /* the victim's tgid */
	__u32 tid;
	__u32 uid;             /* the victim's uid */
	__s32 oom_score_adj;
	__u32 trigger_pid;     /* the task whose allocation ran out of memory (current) */
	__u32 trigger_tid;
	char comm[FT_COMM_LEN];         /* the victim's */
	char trigger_comm[FT_COMM_LEN];
};

#endif
