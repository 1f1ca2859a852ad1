// SPDX-License-Identifier: GPL-2.0
/* syscount: syscalls counted per syscall number and per process, after the manner of libbpf-tools'
 * syscount. Counted on entry, so syscalls that never return (exit, execve) count too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common/filter.bpf.h"
#include "syscount/syscount.h"

/* Comfortably above the ~460 syscall numbers of any ABI. */
#define MAX_SYSCALLS 1024
/* Processes beyond this many are not counted in `processes`; they still count in `syscalls`. */
#define MAX_PROCESSES 10240

/* Per-CPU: the hottest syscalls are made on every CPU at once, and a shared counter would bounce
 * between their caches. A few hundred keys times the CPUs stays small. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, struct syscount_syscall_key);
	__type(value, __u64);
} syscalls SEC(".maps");

/* Shared between CPUs: per-CPU values would multiply 10240 preallocated entries by the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCESSES);
	__type(key, struct syscount_process_key);
	__type(value, __u64);
} processes SEC(".maps");

static const __u64 zero = 0;

/* Adds one to a counter, creating it on first use; a lost creation race is harmless because the
 * winner's entry is incremented instead. Atomic because `processes` is shared between CPUs. */
static __always_inline void increment(void *map, const void *key)
{
	__u64 *count = bpf_map_lookup_elem(map, key);

	if (!count) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(map, key);
		if (!count)
			return;
	}
	__sync_fetch_and_add(count, 1);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct syscount_syscall_key syscall_key = {};
	struct syscount_process_key process_key = {};

	/* A ptrace-skipped syscall enters with id -1: it is not a syscall. */
	if (ctx->id < 0)
		return 0;
	/* Every syscall of the host passes here: check pid first, it costs nothing. The comm filter
	 * needs the comm, which the process key needs anyway. */
	process_key.pid = bpf_get_current_pid_tgid() >> 32;
	if (!ft_tgid_matches(process_key.pid))
		return 0;
	bpf_get_current_comm(&process_key.comm, sizeof(process_key.comm));
	if (!ft_comm_matches(process_key.comm) || !ft_current_in_scope())
		return 0;

	syscall_key.syscall = ctx->id;
	increment(&syscalls, &syscall_key);
	increment(&processes, &process_key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
