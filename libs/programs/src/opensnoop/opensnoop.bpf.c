// SPDX-License-Identifier: GPL-2.0
/* opensnoop: one event per open/openat/openat2 with its path, flags and result, after the manner
 * of libbpf-tools' opensnoop. Entry keeps the arguments in a pending map (only for tasks the
 * filter selects); exit adds the result, reads the path (still the caller's memory) and emits. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "opensnoop/opensnoop.h"

#define AT_FDCWD -100

/* Emit only opens that failed. */
const volatile bool failed_only = false;

struct pending_open {
	__u64 time_ns;
	const char *path;
	__u32 flags;
	__u32 mode;
	__s32 dirfd;
	__u32 syscall;
};

/* Keyed by tid: one open in flight per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct pending_open);
} pending SEC(".maps");

/* Names struct opensnoop_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct opensnoop_event *const opensnoop_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

static __always_inline int enter_open(struct trace_event_raw_sys_enter *ctx, __s32 dirfd, const char *path,
				      __u32 flags, __u32 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct pending_open open = {};

	if (!ft_filter_current(id >> 32))
		return 0;
	open.time_ns = bpf_ktime_get_ns();
	open.path = path;
	open.flags = flags;
	open.mode = mode;
	open.dirfd = dirfd;
	open.syscall = ctx->id;
	bpf_map_update_elem(&pending, &tid, &open, BPF_ANY);
	return 0;
}

static __always_inline int exit_open(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct pending_open *open;
	struct opensnoop_event *e;

	open = bpf_map_lookup_elem(&pending, &tid);
	if (!open)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;
	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	e->time_ns = open->time_ns;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = open->flags;
	e->mode = open->mode;
	e->dirfd = open->dirfd;
	e->syscall = open->syscall;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), open->path) < 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
cleanup:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/* open(path, flags, mode) */
SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(ctx, AT_FDCWD, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

/* openat(dirfd, path, flags, mode) */
SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(ctx, ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

/* openat2(dirfd, path, struct open_how *how, size): flags and mode live in user memory. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return enter_open(ctx, ctx->args[0], (const char *)ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
