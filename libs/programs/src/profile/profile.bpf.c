// SPDX-License-Identifier: GPL-2.0
/* profile: on-CPU sampling, after the manner of libbpf-tools' profile. A CPU-clock perf event on
 * every CPU (frequency from the attach plan) runs this program in the context of whatever task is
 * on that CPU; each sample counts one for its process and its user and kernel stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/filter.bpf.h"
#include "profile/profile.h"

/* Samples of the idle task (pid 0) are counted only when asked for. */
const volatile bool include_idle = false;

/* Shared between CPUs: per-CPU values would multiply its preallocated entries by the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct profile_key);
	__type(value, __u64);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 10240);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static const __u64 zero = 0;

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	struct profile_key key = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 *count;

	key.pid = pid_tgid >> 32;
	if (!include_idle && (__u32)pid_tgid == 0)
		return 0;
	if (!ft_tgid_matches(key.pid))
		return 0;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	if (!ft_comm_matches(key.comm) || !ft_current_in_scope())
		return 0;

	key.kernel_stack_id = bpf_get_stackid(ctx, &stacks, 0);
	key.user_stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	count = bpf_map_lookup_elem(&samples, &key);
	if (!count) {
		/* A lost creation race is harmless: the winner's entry is incremented instead. */
		bpf_map_update_elem(&samples, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&samples, &key);
		if (!count)
			return 0;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
