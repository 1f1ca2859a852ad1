// SPDX-License-Identifier: GPL-2.0
/* sigsnoop: one event per signal generated, after the manner of libbpf-tools' sigsnoop, from the
 * signal_generate tracepoint (typed, tp_btf) rather than the kill/tkill syscalls, so signals the
 * kernel raises (SIGCHLD, SIGSEGV, SIGPIPE, OOM kills) count too. The sender is current; the
 * target is the tracepoint's task. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "sigsnoop/sigsnoop.h"

/* Only signals to this process (tgid); 0 for any. */
const volatile __u32 target_tgid = 0;
/* Only this signal; 0 for any. */
const volatile __u32 target_signal = 0;
/* Only signals that were not delivered (ignored, already pending, ...). */
const volatile bool failed_only = false;

#define SI_USER 0
#define SI_KERNEL 0x80

/* Names struct sigsnoop_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct sigsnoop_event *const sigsnoop_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The special siginfo pointers of include/linux/sched/signal.h. */
static __always_inline int siginfo_code(struct kernel_siginfo *info)
{
	if ((unsigned long)info == 0)
		return SI_USER;
	if ((unsigned long)info == 1)
		return SI_KERNEL;
	return BPF_CORE_READ(info, si_code);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u32 target = BPF_CORE_READ(task, tgid);
	struct sigsnoop_event *e;
	char comm[FT_COMM_LEN];

	if (target_signal && sig != target_signal)
		return 0;
	if (failed_only && result == 0)
		return 0;
	if (target_tgid && target != target_tgid)
		return 0;
	/* pid and comm select the sender, as kill(1)'s caller; the scope takes a signal that crosses
	 * it either way: sent from inside it, or to a task inside it. */
	if (!ft_tgid_matches(tgid))
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (!ft_comm_matches(comm))
		return 0;
	if (!ft_current_in_scope() && !(filter_cgroup_id && ft_task_in_scope(task)))
		return 0;

	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->pid = tgid;
	e->tid = (__u32)id;
	e->target_pid = target;
	e->target_tid = BPF_CORE_READ(task, pid);
	e->sig = sig;
	e->code = siginfo_code(info);
	e->result = result;
	e->group = group;
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->target_comm, task, comm);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
