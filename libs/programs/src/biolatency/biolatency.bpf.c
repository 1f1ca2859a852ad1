// SPDX-License-Identifier: GPL-2.0
/* biolatency: block I/O latency as a log2 histogram in µs, after the manner of libbpf-tools'
 * biolatency: from issue to the driver to completion (the device's time), or with `queued` from
 * submission (block layer queueing included). Requests are selected when submitted, the only
 * time their task is known; see common/block_request.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/log2_hist.bpf.h"
#include "common/block_request.bpf.h"
#include "biolatency/biolatency.h"

/* Measure from submission instead of issue. */
const volatile bool include_queued = false;

/* Per-CPU: completions arrive on every CPU; user space sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BIOLATENCY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct block_request *req;
	__u64 from, now, *count;
	__u32 slot;

	req = bpf_map_lookup_elem(&requests, &key);
	if (!req)
		return 0;
	/* A partial completion: the request goes on, and is counted once, when it ends. */
	if (nr_bytes < BPF_CORE_READ(rq, __data_len))
		return 0;
	from = include_queued && req->start_ns ? req->start_ns : req->issue_ns;
	now = bpf_ktime_get_ns();
	bpf_map_delete_elem(&requests, &key);
	/* Submitted while the issue tracepoint was still being attached. */
	if (!from || from > now)
		return 0;
	slot = log2_slot((now - from) / 1000);
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		*count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
