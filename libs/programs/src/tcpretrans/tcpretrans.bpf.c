// SPDX-License-Identifier: GPL-2.0
/* tcpretrans: TCP retransmissions, after the manner of libbpf-tools' tcpretrans, from the
 * tcp:tcp_retransmit_skb tracepoint (no kprobes).
 *
 * Retransmissions run in timer or softirq context (RTO expiry, fast retransmit on incoming ACKs),
 * not in the sending task, so current says nothing about whose connection it is. The scope filter
 * therefore uses the socket's own cgroup (sk->sk_cgrp_data: the cgroup-v2 cgroup of the task that
 * created the socket, inherited by accepted sockets from their listener), and pid and comm
 * filters are not offered. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/filter.bpf.h"
#include "tcpretrans/tcpretrans.h"

/* A port (host byte order) either end of the connection must have; 0 traces every port. */
const volatile __u16 filter_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct tcpretrans_event in the object's BTF for the layout check: a ring buffer has no value type. */
const struct tcpretrans_event *unused_tcpretrans_event __attribute__((unused));

/* The socket's cgroup-v2 cgroup; NULL on kernels before 5.15, where sock_cgroup_data packs it
 * into a word with the v1 classid and CO-RE cannot find a `cgroup` member. */
static __always_inline struct cgroup *sock_cgroup(const struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return NULL;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct tcpretrans_event *e;
	struct cgroup *cgrp;

	if (filter_port && ctx->sport != filter_port && ctx->dport != filter_port)
		return 0;
	cgrp = sock_cgroup(sk);
	/* A socket whose cgroup cannot be read is outside every scope but the whole host's. */
	if (filter_cgroup_id && !ft_cgroup_in_subtree(cgrp))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->cgroup_id = cgrp ? BPF_CORE_READ(cgrp, kn, id) : 0;
	/* Through a helper: the verifier refuses loads at a computed offset into the context. */
	bpf_probe_read_kernel(e->saddr, sizeof(e->saddr), ctx->saddr_v6);
	bpf_probe_read_kernel(e->daddr, sizeof(e->daddr), ctx->daddr_v6);
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->state = ctx->state;
	e->err = bpf_core_field_exists(ctx->err) ? ctx->err : 0;
	e->total_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
