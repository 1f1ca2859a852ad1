/* One record per TCP session, shared by tcplife.bpf.c and the layout in tcplife.ts. */
#ifndef __TCPLIFE_H
#define __TCPLIFE_H

#include "common/types.h"

struct tcplife_event {
	__u64 time_ns;     /* when the socket closed, CLOCK_MONOTONIC ns */
	__u64 duration_us; /* from the first SYN_SENT / SYN_RECV / ESTABLISHED to CLOSE */
	__u64 rx_bytes;    /* tcp_sock.bytes_received (0 where the kernel lacks it) */
	__u64 tx_bytes;    /* tcp_sock.bytes_acked: bytes sent and acknowledged (0 where lacking) */
	__u8 saddr[16];    /* local address: IPv6, or IPv4-mapped for AF_INET */
	__u8 daddr[16];    /* remote address */
	char comm[FT_COMM_LEN];
	__u32 pid;         /* tgid of the task the session is charged to (see tcplife.bpf.c) */
	__u32 uid;
	__u16 family;      /* AF_INET (2) or AF_INET6 (10) */
	__u16 sport;       /* local port, host byte order */
	__u16 dport;       /* remote port, host byte order */
	__u8 oldstate;     /* the state the socket closed from */
	__u8 pid_from_close; /* 1: no task-context state change was seen, pid is whoever ran at CLOSE */
};

/* The task a session is charged to, recorded at its first state change made in task context. */
struct tcplife_ident {
	__u32 pid;
	__u32 uid;
	char comm[FT_COMM_LEN];
};

#endif
