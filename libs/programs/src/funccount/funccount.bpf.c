// SPDX-License-Identifier: GPL-2.0
/* funccount: calls of one user-space function, per process, after the manner of libbpf-tools'
 * funccount on a uprobe. The probe's target (binary and function) is chosen at attach time by the
 * manifest's attach plan, so the section names no path. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/filter.bpf.h"
#include "funccount/funccount.h"

/* Shared between CPUs: per-CPU values would multiply its preallocated entries by the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct funccount_key);
	__type(value, __u64);
} calls SEC(".maps");

static const __u64 zero = 0;

SEC("uprobe")
int func_entry(struct pt_regs *ctx)
{
	struct funccount_key key = {};
	__u64 *count;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	if (!ft_tgid_matches(key.pid))
		return 0;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	if (!ft_comm_matches(key.comm) || !ft_current_in_scope())
		return 0;

	count = bpf_map_lookup_elem(&calls, &key);
	if (!count) {
		/* A lost creation race is harmless: the winner's entry is incremented instead. */
		bpf_map_update_elem(&calls, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&calls, &key);
		if (!count)
			return 0;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
