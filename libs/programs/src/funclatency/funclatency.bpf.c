// SPDX-License-Identifier: GPL-2.0
/* funclatency: time spent in one user-space function, from its entry (uprobe) to its return
 * (uretprobe) on the same thread, as a log2 histogram in µs, after the manner of libbpf-tools'
 * funclatency. The probes' target is chosen at attach time by the manifest's attach plan. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/log2_hist.bpf.h"
#include "common/filter.bpf.h"
#include "funclatency/funclatency.h"

/* Entry times (ns since boot) by tid. A recursive call overwrites its caller's: only the
 * innermost call is timed, as in libbpf-tools. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FUNCLATENCY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

SEC("uprobe")
int func_entry(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u64 now;

	if (!ft_filter_current(pid_tgid >> 32))
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int func_exit(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *entered, *count;
	__u32 slot;

	/* Only calls that passed the filter on entry have a start time. */
	entered = bpf_map_lookup_elem(&start, &tid);
	if (!entered)
		return 0;
	slot = log2_slot((bpf_ktime_get_ns() - *entered) / 1000);
	bpf_map_delete_elem(&start, &tid);
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
