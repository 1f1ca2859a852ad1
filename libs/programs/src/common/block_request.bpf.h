/* Block requests followed from submission to completion, shared by biolatency and biosnoop.
 *
 * Which task an I/O belongs to is only known when it is submitted: issue may run in a kworker or
 * the block plug's flush, and completion runs in interrupt or softirq context on whatever CPU.
 * So the filter (pid, comm, cgroup scope, disk) is applied once, in block_io_start, where current
 * is the submitter (blk_mq_submit_bio -> blk_account_io_start); a request that qualifies gets an
 * entry keyed by its address, and issue and completion only ever act on requests with an entry.
 * Without a task filter, requests issued with no submission seen (flushes, requests submitted
 * before attach) are taken at issue too, attributed to no task (pid 0). block_io_start is a
 * tracepoint since 6.5; tp_btf gives the request itself. */
#ifndef __FLEETTRACE_BLOCK_REQUEST_BPF_H
#define __FLEETTRACE_BLOCK_REQUEST_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/filter.bpf.h"

/* Disk traced, as the kernel's dev_t (major << 20 | minor) of the whole disk; 0 for every disk. */
const volatile __u32 filter_dev = 0;

struct block_request {
	__u64 start_ns; /* submitted (block_io_start); 0 when first seen at issue */
	__u64 issue_ns; /* issued to the driver; 0 until then */
	__u32 pid;      /* the submitter's tgid; 0 when unknown */
	__u32 dev;      /* major << 20 | minor of the whole disk */
	char comm[FT_COMM_LEN];
};

/* Requests in flight are bounded by the queues' depths: a few thousand on a busy host. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct block_request);
} requests SEC(".maps");

static __always_inline __u32 request_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline bool no_task_filter(void)
{
	return !filter_cgroup_id && !filter_tgid && !filter_comm_len;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	__u64 key = (__u64)rq;
	__u64 id = bpf_get_current_pid_tgid();
	struct block_request req = {};

	/* Request structs are reused: whatever a previous user of this address left (one merged away
	 * without completing) must not be counted for the new one. */
	bpf_map_delete_elem(&requests, &key);
	req.dev = request_dev(rq);
	if (filter_dev && req.dev != filter_dev)
		return 0;
	req.pid = id >> 32;
	if (!ft_tgid_matches(req.pid))
		return 0;
	bpf_get_current_comm(&req.comm, sizeof(req.comm));
	if (!ft_comm_matches(req.comm) || !ft_current_in_scope())
		return 0;
	req.start_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&requests, &key, &req, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct block_request *req = bpf_map_lookup_elem(&requests, &key);

	if (!req) {
		struct block_request unseen = {};

		if (!no_task_filter())
			return 0;
		unseen.dev = request_dev(rq);
		if (filter_dev && unseen.dev != filter_dev)
			return 0;
		unseen.issue_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&requests, &key, &unseen, BPF_ANY);
		return 0;
	}
	/* A requeued request is issued again: its latency counts from the last issue. */
	req->issue_ns = bpf_ktime_get_ns();
	return 0;
}

#endif
