// SPDX-License-Identifier: GPL-2.0
/* exitsnoop: one event per process exit with its lifetime and how it ended, after the manner of
 * libbpf-tools' exitsnoop. sched_process_exit fires in do_exit() after task->exit_code is set and
 * before the task leaves its cgroup, so every field is read from the exiting task itself. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "exitsnoop/exitsnoop.h"

/* Also report threads other than the leader (by default only whole processes). */
const volatile bool trace_threads = false;
/* Report only exits with a non-zero code or a signal. */
const volatile bool failed_only = false;

/* Names struct exitsnoop_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct exitsnoop_event *const exitsnoop_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* A plain tracepoint, not tp_btf: do_exit() fires it in the exiting task, so current is the task,
 * and attaching by name spares the load a parse of the kernel's whole BTF for a BTF id (~12 ms
 * of a ~17 ms start). */
SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 tid = BPF_CORE_READ(task, pid);
	struct exitsnoop_event *e;
	int status;

	if (!trace_threads && tid != tgid)
		return 0;
	/* exit_code is the wait(2) status: exit code in bits 8-15, signal in 0-6, core in 7. */
	status = BPF_CORE_READ(task, exit_code);
	if (failed_only && status == 0)
		return 0;
	if (!ft_filter_task(task))
		return 0;

	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(task, start_time);
	e->lifetime_ns = e->time_ns - e->start_ns;
	e->pid = tgid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (status >> 8) & 0xff;
	e->signal = status & 0x7f;
	e->core_dumped = (status & 0x80) ? 1 : 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
