// SPDX-License-Identifier: GPL-2.0
/* tcpretrans: TCP retransmissions, after the manner of libbpf-tools' tcpretrans, from the
 * tcp:tcp_retransmit_skb tracepoint (no kprobes), in either of its two layouts (before and from 6.17).
 *
 * Retransmissions run in timer or softirq context (RTO expiry, fast retransmit on incoming ACKs),
 * not in the sending task, so current says nothing about whose connection it is. The scope filter
 * therefore uses the socket's own cgroup (sk->sk_cgrp_data: the cgroup-v2 cgroup of the task that
 * created the socket, inherited by accepted sockets from their listener), and pid and comm
 * filters are not offered. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
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

/* Kernels before 6.17 define tcp_retransmit_skb in the tcp_event_sk_skb class: the same fields
 * without err. Not in this vmlinux.h (the class is gone from 6.17), so declared here for CO-RE. */
struct trace_event_raw_tcp_event_sk_skb {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

static __always_inline int record(const struct sock *sk, __u16 sport, __u16 dport, __u16 family, int state, int err,
				  const void *saddr_v6, const void *daddr_v6)
{
	struct tcpretrans_event *e;
	struct cgroup *cgrp;

	if (filter_port && sport != filter_port && dport != filter_port)
		return 0;
	cgrp = sock_cgroup(sk);
	/* A socket whose cgroup cannot be read is outside every scope but the whole host's. */
	if (filter_cgroup_id && !ft_cgroup_in_subtree(cgrp))
		return 0;

	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->cgroup_id = cgrp ? BPF_CORE_READ(cgrp, kn, id) : 0;
	/* Through a helper: the verifier refuses loads at a computed offset into the context. */
	bpf_probe_read_kernel(e->saddr, sizeof(e->saddr), saddr_v6);
	bpf_probe_read_kernel(e->daddr, sizeof(e->daddr), daddr_v6);
	e->family = family;
	e->sport = sport;
	e->dport = dport;
	e->state = state;
	e->err = err;
	e->total_retrans = BPF_CORE_READ((struct tcp_sock *)sk, total_retrans);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_skb(void *ctx)
{
	/* Resolved at load: the verifier drops the branch for the layout this kernel does not have. */
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *tp = ctx;

		return record(tp->skaddr, tp->sport, tp->dport, tp->family, tp->state,
			      bpf_core_field_exists(tp->err) ? tp->err : 0, tp->saddr_v6, tp->daddr_v6);
	} else {
		struct trace_event_raw_tcp_event_sk_skb *tp = ctx;

		return record(tp->skaddr, tp->sport, tp->dport, tp->family, tp->state, 0, tp->saddr_v6, tp->daddr_v6);
	}
}

char LICENSE[] SEC("license") = "GPL";
