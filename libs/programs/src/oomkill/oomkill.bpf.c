// SPDX-License-Identifier: GPL-2.0
/* oomkill: one event per OOM kill, after the manner of libbpf-tools' oomkill, from the mark_victim
 * tracepoint (typed, tp_btf) instead of a kprobe on oom_kill_process: it passes the victim's
 * task, so the filter (pid, comm, cgroup scope) applies to the victim, wherever the allocation
 * that ran out came from. Fires for the global OOM killer and for memory-cgroup OOMs alike. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "oomkill/oomkill.h"

/* enum mm_counter_type of include/linux/mm_types_task.h. */
#define MM_FILEPAGES 0
#define MM_ANONPAGES 1
#define MM_SHMEMPAGES 3

/* Names struct oomkill_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct oomkill_event *const oomkill_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Kernels from 6.2 keep the rss counters as percpu_counters; count is their approximate sum. */
static __always_inline __u64 rss_pages(struct mm_struct *mm, int counter)
{
	__s64 count = BPF_CORE_READ(mm, rss_stat[counter].count);

	return count > 0 ? count : 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task, uid_t uid)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct oomkill_event *e;
	struct mm_struct *mm;

	if (!ft_filter_task(task))
		return 0;
	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	/* The OOM killer holds a reference on the victim's mm while it marks it. */
	mm = BPF_CORE_READ(task, mm);
	e->total_vm_pages = mm ? BPF_CORE_READ(mm, total_vm) : 0;
	e->anon_rss_pages = mm ? rss_pages(mm, MM_ANONPAGES) : 0;
	e->file_rss_pages = mm ? rss_pages(mm, MM_FILEPAGES) : 0;
	e->shmem_rss_pages = mm ? rss_pages(mm, MM_SHMEMPAGES) : 0;
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->uid = uid;
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	e->trigger_pid = id >> 32;
	e->trigger_tid = (__u32)id;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_get_current_comm(&e->trigger_comm, sizeof(e->trigger_comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
