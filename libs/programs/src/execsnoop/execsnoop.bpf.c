// SPDX-License-Identifier: GPL-2.0
/* execsnoop: one event per exec, after the manner of libbpf-tools' execsnoop. The syscall's entry
 * records filename and argv into a pending event (they are user memory the exec is about to
 * replace); its exit adds the result and the new comm and emits the event. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "common/rate_limit.bpf.h"
#include "execsnoop/execsnoop.h"

/* Emit only execs that failed. */
const volatile bool failed_only = false;

/* An exec between its entry and its exit: the event being filled, and how many bytes of args the
 * argument copy has used so far. That count lives here, in map memory, rather than in a local on
 * purpose: a value loaded from a map is unknown to the verifier except for the bound each
 * iteration checks, so every iteration of the copy starts from the same state. Kept in a register,
 * its exact range would differ along each path through the previous arguments, and the verifier
 * would walk them all (80k instructions and ~100 ms per program, against 3k and ~2 ms). */
struct pending_exec {
	struct execsnoop_event event;
	__u32 args_len;
};

/* Template that resets a pending exec: it is far larger than the 512-byte BPF stack. */
static const struct pending_exec empty_exec = {};

/* Pending events keyed by tgid, not tid: a successful exec from a non-leader thread makes that
 * thread the leader, so only the tgid is the same on entry and exit. Execs in flight at once are
 * few (each is a thread inside execve), so a small map does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pending_exec);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* bpf_probe_read_user_str() returning the whole buffer means the string either fit exactly or
 * was cut; the byte after the last one kept tells which. */
static __always_inline __u8 user_str_cut(const char *src, long copied, long size)
{
	char next = 0;

	if (copied != size)
		return 0;
	bpf_probe_read_user(&next, 1, src + size - 1);
	return next != 0;
}

static __always_inline void read_args(struct pending_exec *p, const char *const *argv)
{
	struct execsnoop_event *e = &p->event;
	/* Read back from the map each iteration (see struct pending_exec). */
	volatile __u32 *used = &p->args_len;
	int i;

	for (i = 0; i < EXECSNOOP_MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 len = *used;
		long n;

		bpf_probe_read_user(&arg, sizeof(arg), &argv[i]);
		if (!arg)
			break;
		if (len > EXECSNOOP_ARGS_LEN - EXECSNOOP_ARG_LEN) {
			e->args_truncated = 1;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[len], EXECSNOOP_ARG_LEN, arg);
		if (n <= 0) {
			e->args_truncated = 1;
			break;
		}
		e->args_truncated |= user_str_cut(arg, n, EXECSNOOP_ARG_LEN);
		len += n;
		/* The argument's NUL becomes the separator before the next one. */
		e->args[(len - 1) & (EXECSNOOP_ARGS_LEN - 1)] = ' ';
		e->args_count++;
		*used = len;
	}
	if (i == EXECSNOOP_MAX_ARGS) {
		const char *more = NULL;

		bpf_probe_read_user(&more, sizeof(more), &argv[EXECSNOOP_MAX_ARGS]);
		if (more)
			e->args_truncated = 1;
	}
	if (*used)
		e->args[(*used - 1) & (EXECSNOOP_ARGS_LEN - 1)] = '\0';
}

static __always_inline int enter_exec(const char *filename, const char *const *argv)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct execsnoop_event *e;
	struct pending_exec *p;
	struct task_struct *task;
	long n;

	/* comm is filtered on exit, once it names the new program. */
	if (!ft_tgid_matches(tgid) || !ft_current_in_scope())
		return 0;
	/* BPF_ANY: an entry still here is stale (its exit was never seen) and is replaced. */
	if (bpf_map_update_elem(&execs, &tgid, &empty_exec, BPF_ANY))
		return 0;
	p = bpf_map_lookup_elem(&execs, &tgid);
	if (!p)
		return 0;
	e = &p->event;

	task = (struct task_struct *)bpf_get_current_task();
	e->time_ns = bpf_ktime_get_ns();
	e->pid = tgid;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	n = bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);
	e->filename_truncated = user_str_cut(filename, n, sizeof(e->filename));
	read_args(p, argv);
	return 0;
}

static __always_inline int exit_exec(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct pending_exec *p;
	struct execsnoop_event *e;

	p = bpf_map_lookup_elem(&execs, &tgid);
	if (!p)
		return 0;
	e = &p->event;
	if (failed_only && ret >= 0)
		goto cleanup;
	e->retval = ret;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (!ft_comm_matches(e->comm))
		goto cleanup;
	if (!ft_rate_allow())
		goto cleanup;
	ft_event_output(&events, e, sizeof(*e), BPF_RB_NO_WAKEUP);
cleanup:
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

/* execveat(dirfd, pathname, argv, envp, flags): the filename is as given, relative to dirfd. */
SEC("tracepoint/syscalls/sys_enter_execveat")
int execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
