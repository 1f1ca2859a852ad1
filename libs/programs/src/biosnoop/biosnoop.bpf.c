// SPDX-License-Identifier: GPL-2.0
/* biosnoop: one event per block request, after the manner of libbpf-tools' biosnoop: disk, sector,
 * size, operation, latency, and the task that submitted it. Requests are selected when submitted,
 * the only time their task is known; see common/block_request.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common/block_request.bpf.h"
#include "common/events.bpf.h"
#include "biosnoop/biosnoop.h"

/* Emit only requests at least this slow, issue to completion. */
const volatile __u64 min_latency_ns = 0;

#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)

/* blk_status_t to -errno, for the statuses of blk_errors[] in block/blk-core.c that a request
 * usually ends with; others become -EIO, as blk_status_to_errno() would. */
static __always_inline __s32 status_errno(__u8 status)
{
	switch (status) {
	case 0: return 0;          /* BLK_STS_OK */
	case 1: return -95;        /* BLK_STS_NOTSUPP: EOPNOTSUPP */
	case 2: return -110;       /* BLK_STS_TIMEOUT: ETIMEDOUT */
	case 3: return -28;        /* BLK_STS_NOSPC: ENOSPC */
	case 4: return -67;        /* BLK_STS_TRANSPORT: ENOLINK */
	case 5: return -61;        /* BLK_STS_TARGET: ENODATA */
	case 7: return -61;        /* BLK_STS_MEDIUM: ENODATA */
	case 8: return -71;        /* BLK_STS_PROTECTION: EILSEQ */
	case 9: return -12;        /* BLK_STS_RESOURCE: ENOMEM */
	case 11: return -11;       /* BLK_STS_AGAIN: EAGAIN */
	default: return -5;        /* EIO */
	}
}

/* Names struct biosnoop_event outside a function, so it is in the object's BTF where the layout
 * test reads it: a ring-buffer record is otherwise only a local pointer. Never read. */
struct biosnoop_event *const biosnoop_event_btf = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct block_request *req;
	struct biosnoop_event *e;
	__u64 now, latency;
	bool partial;

	req = bpf_map_lookup_elem(&requests, &key);
	if (!req)
		return 0;
	now = bpf_ktime_get_ns();
	/* A partial completion is reported as its own event; the request goes on. */
	partial = nr_bytes < BPF_CORE_READ(rq, __data_len);
	/* Submitted while the issue tracepoint was still being attached. */
	if (!req->issue_ns || req->issue_ns > now)
		goto done;
	latency = now - req->issue_ns;
	if (latency < min_latency_ns)
		goto done;
	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		goto done;
	e->time_ns = now;
	e->latency_ns = latency;
	e->queued_ns = req->start_ns ? req->issue_ns - req->start_ns : 0;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->bytes = nr_bytes;
	e->major = req->dev >> 20;
	e->minor = req->dev & ((1 << 20) - 1);
	e->pid = req->pid;
	e->op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	e->error = status_errno(error);
	__builtin_memcpy(e->comm, req->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
done:
	if (!partial)
		bpf_map_delete_elem(&requests, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
