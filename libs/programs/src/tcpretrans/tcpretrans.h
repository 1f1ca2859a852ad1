/* One record per TCP retransmission, shared by tcpretrans.bpf.c and the layout in tcpretrans.ts. */
#ifndef __TCPRETRANS_H
#define __TCPRETRANS_H

#include "common/types.h"

struct tcpretrans_event {
	__u64 time_ns;      /* when the segment was retransmitted, CLOCK_MONOTONIC ns */
	__u64 cgroup_id;    /* cgroup-v2 id of the socket (its creator's cgroup); 0 when unknown */
	__u8 saddr[16];     /* local address: IPv6, or IPv4-mapped for AF_INET */
	__u8 daddr[16];     /* remote address */
	__u16 family;       /* AF_INET (2) or AF_INET6 (10) */
	__u16 sport;        /* local port, host byte order */
	__u16 dport;        /* remote port, host byte order */
	__u16 state;        /* TCP state of the socket */
	__s32 err;          /* result of the retransmission: 0, or -errno (0 on kernels without it) */
	__u32 total_retrans; /* tcp_sock.total_retrans: the connection's retransmitted segments so far */
};

#endif
