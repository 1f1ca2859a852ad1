// SPDX-License-Identifier: GPL-2.0
/* tcplife: TCP sessions with their lifespan and bytes, after the manner of libbpf-tools' tcplife,
 * from sock:inet_sock_set_state alone.
 *
 * Birth is the first of SYN_SENT (active open), SYN_RECV (passive open) or ESTABLISHED seen for a
 * socket; death is its move to CLOSE, when one record is emitted. Sessions already open when
 * tracing starts are not reported (their birth was not seen).
 *
 * Who a session belongs to: state changes mostly happen in softirq, where current is whatever
 * task was interrupted. Three happen in the owning task's own syscall: SYN_SENT (connect),
 * FIN_WAIT1 (close/shutdown of an established socket) and LAST_ACK (close/shutdown after the
 * peer's FIN). The first of those seen names the session's pid and comm, and the filter is
 * applied to that task: a session it rejects is not reported. A session that reaches CLOSE
 * without any of them (reset by the peer, or closed before the accept) is charged to the task
 * current at CLOSE and flagged pid_from_close: that task may be unrelated. A socket handed to
 * another process is charged to whichever process made that first call. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "tcplife/tcplife.h"

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT1 4
#define TCP_CLOSE 7
#define TCP_LAST_ACK 9

/* Remote port traced (host byte order); 0 traces every port. */
const volatile __u16 filter_dport = 0;
/* Sessions shorter than this are not reported. */
const volatile __u64 min_duration_ns = 0;

/* Birth time (CLOCK_MONOTONIC ns) by socket address, from birth to CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} births SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct tcplife_ident);
} idents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct tcplife_event in the object's BTF for the layout check: a ring buffer has no value type. */
const struct tcplife_event *unused_tcplife_event __attribute__((unused));

/* Fills ident from current; false when current fails the filter. */
static __always_inline bool current_ident(struct tcplife_ident *ident)
{
	ident->pid = bpf_get_current_pid_tgid() >> 32;
	if (!ft_tgid_matches(ident->pid))
		return false;
	bpf_get_current_comm(&ident->comm, sizeof(ident->comm));
	if (!ft_comm_matches(ident->comm) || !ft_current_in_scope())
		return false;
	ident->uid = (__u32)bpf_get_current_uid_gid();
	return true;
}

static __always_inline void read_bytes(struct tcplife_event *e, const void *skaddr)
{
	struct tcp_sock *tp = (struct tcp_sock *)skaddr;

	if (bpf_core_field_exists(tp->bytes_received))
		e->rx_bytes = BPF_CORE_READ(tp, bytes_received);
	if (bpf_core_field_exists(tp->bytes_acked))
		e->tx_bytes = BPF_CORE_READ(tp, bytes_acked);
}

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr, now, *born, duration_ns;
	int newstate = ctx->newstate;
	struct tcplife_ident ident = {}, *known;
	struct tcplife_event *e;
	__u8 pid_from_close = 0;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	/* The remote port is set before the first state change tracked and stays. */
	if (filter_dport && ctx->dport != filter_dport)
		return 0;

	if (newstate < TCP_FIN_WAIT1) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&births, &sk, &now, BPF_NOEXIST);
	}

	if (newstate == TCP_SYN_SENT || newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		if (bpf_map_lookup_elem(&idents, &sk) || !bpf_map_lookup_elem(&births, &sk))
			return 0;
		/* A session of a task the filter rejects is remembered as such (pid 0, never a
		 * connecting or closing task), so that a CLOSE in softirq is not charged to a task
		 * that happens to pass it. */
		if (!current_ident(&ident))
			ident.pid = 0;
		bpf_map_update_elem(&idents, &sk, &ident, BPF_ANY);
		return 0;
	}

	if (newstate != TCP_CLOSE)
		return 0;
	born = bpf_map_lookup_elem(&births, &sk);
	if (!born)
		return 0;
	duration_ns = bpf_ktime_get_ns() - *born;
	bpf_map_delete_elem(&births, &sk);

	known = bpf_map_lookup_elem(&idents, &sk);
	if (known) {
		ident = *known;
		bpf_map_delete_elem(&idents, &sk);
		if (!ident.pid)
			return 0;
	} else {
		if (!current_ident(&ident))
			return 0;
		pid_from_close = 1;
	}
	if (duration_ns < min_duration_ns)
		return 0;

	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->duration_us = duration_ns / 1000;
	e->rx_bytes = 0;
	e->tx_bytes = 0;
	read_bytes(e, ctx->skaddr);
	/* Through a helper: the verifier refuses loads at a computed offset into the context. */
	bpf_probe_read_kernel(e->saddr, sizeof(e->saddr), ctx->saddr_v6);
	bpf_probe_read_kernel(e->daddr, sizeof(e->daddr), ctx->daddr_v6);
	__builtin_memcpy(e->comm, ident.comm, sizeof(e->comm));
	e->pid = ident.pid;
	e->uid = ident.uid;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->oldstate = ctx->oldstate;
	e->pid_from_close = pid_from_close;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
