// SPDX-License-Identifier: GPL-2.0
/* offcputime: time tasks spend off CPU, by process and by the user and kernel stacks they were
 * switched out in, after the manner of libbpf-tools' offcputime. At sched_switch the task
 * switched out is still current, so bpf_get_stackid() (allowed in tp_btf programs, as in raw
 * tracepoints) takes its stacks; the time until it is switched back in is added to its key. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/filter.bpf.h"
#include "offcputime/offcputime.h"

/* Blocks shorter than this, or longer than max_block_ns, are not counted. */
const volatile __u64 min_block_ns = 1000;
const volatile __u64 max_block_ns = ~0ULL;

/* What a switched-out task is waiting with: its key and when it left the CPU. */
struct off_cpu {
	struct offcputime_key key;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct off_cpu);
} start SEC(".maps");

/* Off-CPU µs per key. Shared between CPUs, added to atomically: per-CPU values would multiply
 * its 10240 preallocated entries by the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct offcputime_key);
	__type(value, __u64);
} offcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 10240);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, OFFCPUTIME_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static const __u64 zero = 0;

/* Only the first three arguments are read; kernels from 6.3 on pass prev_state after them. */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(prev, pid);
	struct off_cpu *off, leaving = {};
	__u64 now = bpf_ktime_get_ns(), delta_ns, *total;

	/* The idle task (tid 0) is not waiting for anything when it is switched out. */
	if (tid && ft_filter_task(prev)) {
		leaving.key.pid = BPF_CORE_READ(prev, tgid);
		BPF_CORE_READ_STR_INTO(&leaving.key.comm, prev, comm);
		leaving.key.kernel_stack_id = bpf_get_stackid(ctx, &stacks, 0);
		leaving.key.user_stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		leaving.start_ns = now;
		bpf_map_update_elem(&start, &tid, &leaving, BPF_ANY);
	}

	tid = BPF_CORE_READ(next, pid);
	off = bpf_map_lookup_elem(&start, &tid);
	if (!off)
		return 0;
	delta_ns = now - off->start_ns;
	if (delta_ns < min_block_ns || delta_ns > max_block_ns)
		goto done;
	total = bpf_map_lookup_elem(&offcpu, &off->key);
	if (!total) {
		/* A lost creation race is harmless: the winner's entry is added to instead. */
		bpf_map_update_elem(&offcpu, &off->key, &zero, BPF_NOEXIST);
		total = bpf_map_lookup_elem(&offcpu, &off->key);
		if (!total)
			goto done;
	}
	__sync_fetch_and_add(total, delta_ns / 1000);
done:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
