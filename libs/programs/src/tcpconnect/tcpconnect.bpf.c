// SPDX-License-Identifier: GPL-2.0
/* tcpconnect: active TCP connects (IPv4 and IPv6), after the manner of libbpf-tools' tcpconnect but
 * without kprobes: tcp_v4_connect and tcp_v6_connect move the socket from CLOSE to SYN_SENT in the
 * connecting task, so sock:inet_sock_set_state sees the caller as current, and the tracepoint
 * already holds both addresses (IPv4 ones IPv4-mapped in its v6 fields). The local port is not
 * chosen yet at that point (inet_hash_connect runs after), so it is not recorded. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common/events.bpf.h"
#include "common/filter.bpf.h"
#include "tcpconnect/tcpconnect.h"

#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2

/* Remote port traced (host byte order); 0 traces every port. */
const volatile __u16 filter_dport = 0;

/* Keeps struct tcpconnect_event in the object's BTF, where the layout check finds it: a ring
 * buffer has no value type to carry it. */
const struct tcpconnect_event *unused_tcpconnect_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	char comm[FT_COMM_LEN];
	struct tcpconnect_event *e;

	if (ctx->protocol != IPPROTO_TCP || ctx->newstate != TCP_SYN_SENT)
		return 0;
	if (filter_dport && ctx->dport != filter_dport)
		return 0;
	if (!ft_tgid_matches(id >> 32))
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (!ft_comm_matches(comm) || !ft_current_in_scope())
		return 0;

	e = ft_event_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->family = ctx->family;
	e->dport = ctx->dport;
	/* Through a helper: the verifier refuses loads at a computed offset into the context. */
	bpf_probe_read_kernel(e->saddr, sizeof(e->saddr), ctx->saddr_v6);
	bpf_probe_read_kernel(e->daddr, sizeof(e->daddr), ctx->daddr_v6);
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
