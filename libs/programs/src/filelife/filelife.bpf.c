// SPDX-License-Identifier: GPL-2.0
/* filelife: files deleted, with their age when known, after the manner of libbpf-tools' filelife
 * but on syscall tracepoints only (no kprobes on vfs_create/vfs_unlink here). One event per
 * unlink/unlinkat of a file (rmdir-style AT_REMOVEDIR is skipped) with the path and result.
 *
 * The age is cheap but approximate: a successful open(O_CREAT)/creat records its path string and
 * time in an LRU map; an unlink of the same string (as passed, not resolved: "./a" and "/tmp/a"
 * differ) reports the time since. An O_CREAT open of a file that already existed counts as its
 * creation, and the first such open seen wins. Files created before the program started, through
 * other syscalls (openat2, mknod, rename, link) or by a task outside the filter, get age 0. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "filelife/filelife.h"

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_CREAT 0100

/* A syscall in flight: an O_CREAT open or an unlink, keyed by tid. */
struct pending_call {
	__u64 time_ns;
	const char *path;
	__s32 dirfd;
	__u32 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending SEC(".maps");

/* Creation times by path; LRU, so paths created and never deleted age out instead of filling it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct filelife_path_key);
	__type(value, __u64);
} created SEC(".maps");

/* A zero-filled path key is 256 bytes: built here rather than on the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filelife_path_key);
} scratch SEC(".maps");

/* Names struct filelife_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct filelife_event *const filelife_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline int enter_call(struct trace_event_raw_sys_enter *ctx, __s32 dirfd, const char *path)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct pending_call call = {};

	if (!ft_filter_current(id >> 32))
		return 0;
	call.time_ns = bpf_ktime_get_ns();
	call.path = path;
	call.dirfd = dirfd;
	call.syscall = ctx->id;
	bpf_map_update_elem(&pending, &tid, &call, BPF_ANY);
	return 0;
}

/* The path of a pending call as a zero-filled map key, or NULL. */
static __always_inline struct filelife_path_key *path_key(const char *path)
{
	__u32 zero = 0;
	struct filelife_path_key *key = bpf_map_lookup_elem(&scratch, &zero);

	if (!key)
		return NULL;
	__builtin_memset(key, 0, sizeof(*key));
	if (bpf_probe_read_user_str(key->path, sizeof(key->path), path) <= 0)
		return NULL;
	return key;
}

static __always_inline int exit_create(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct filelife_path_key *key;
	struct pending_call *call;

	call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	if (ret >= 0) {
		key = path_key(call->path);
		/* BPF_NOEXIST: re-opening with O_CREAT does not make a file younger. */
		if (key)
			bpf_map_update_elem(&created, key, &call->time_ns, BPF_NOEXIST);
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

static __always_inline int exit_unlink(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct filelife_path_key *key;
	struct pending_call *call;
	struct filelife_event *e;
	__u64 *born;

	call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	key = path_key(call->path);
	if (!key)
		goto cleanup;
	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		goto cleanup;
	e->time_ns = call->time_ns;
	e->age_ns = 0;
	born = bpf_map_lookup_elem(&created, key);
	if (born && *born <= call->time_ns)
		e->age_ns = call->time_ns - *born;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->dirfd = call->dirfd;
	e->syscall = call->syscall;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	__builtin_memcpy(e->path, key->path, sizeof(e->path));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	/* The path now names no file: a later file under it is a new one. */
	if (ret == 0)
		bpf_map_delete_elem(&created, key);
cleanup:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!(ctx->args[1] & O_CREAT))
		return 0;
	return enter_call(ctx, AT_FDCWD, (const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_create(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!(ctx->args[2] & O_CREAT))
		return 0;
	return enter_call(ctx, ctx->args[0], (const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_create(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int creat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(ctx, AT_FDCWD, (const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_create(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int unlink_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(ctx, AT_FDCWD, (const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_unlink")
int unlink_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_unlink(ctx->ret);
}

/* unlinkat(dirfd, path, flags): AT_REMOVEDIR makes it an rmdir, not a file's deletion. */
SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlinkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] & AT_REMOVEDIR)
		return 0;
	return enter_call(ctx, ctx->args[0], (const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int unlinkat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_unlink(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
