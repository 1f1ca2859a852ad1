// SPDX-License-Identifier: GPL-2.0
/* runqlat: how long runnable tasks wait for a CPU, from wakeup (or preemption) to being switched
 * in, as a log2 histogram in µs, after the manner of libbpf-tools' runqlat. The filter applies to
 * the task that waits, not to whichever task is current when it is woken. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/log2_hist.bpf.h"
#include "common/filter.bpf.h"
#include "runqlat/runqlat.h"

#define TASK_RUNNING 0

/* Enqueue times (CLOCK_MONOTONIC ns) keyed by tid; an entry lives from wakeup to switch-in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

/* Per-CPU: sched_switch fires on every CPU all the time; a shared histogram would make the CPUs
 * fight over its cache lines. User space sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNQLAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

/* Kernels before 5.14 call task_struct's state field `state`. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *task)
{
	struct task_struct___pre_5_14 *old = (void *)task;

	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return BPF_CORE_READ(old, state);
}

static __always_inline void enqueue(struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	__u64 now;

	/* The idle task (tid 0) is never waiting for a CPU. */
	if (!tid || !ft_filter_task(task))
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	enqueue(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	enqueue(p);
	return 0;
}

/* Only the first three arguments are read; kernels from 6.3 on pass prev_state after them. */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	__u64 *enqueued, delta_us, *slot_count;
	__u32 slot;

	/* A task switched out while still runnable was preempted: it waits in the run queue again. */
	if (task_state(prev) == TASK_RUNNING)
		enqueue(prev);

	enqueued = bpf_map_lookup_elem(&start, &tid);
	if (!enqueued)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *enqueued) / 1000;
	bpf_map_delete_elem(&start, &tid);

	slot = log2_slot(delta_us);
	slot_count = bpf_map_lookup_elem(&hist, &slot);
	/* This CPU's slot, and programs do not nest on a CPU: a plain add is enough. */
	if (slot_count)
		*slot_count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
