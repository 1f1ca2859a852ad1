/* One record per active TCP connect, shared by tcpconnect.bpf.c and the layout in tcpconnect.ts. */
#ifndef __TCPCONNECT_H
#define __TCPCONNECT_H

#include "common/types.h"

struct tcpconnect_event {
	__u64 time_ns;  /* when the socket entered SYN_SENT, CLOCK_MONOTONIC ns */
	__u32 pid;      /* tgid of the connecting task */
	__u32 tid;
	__u32 uid;
	__u16 family;   /* AF_INET (2) or AF_INET6 (10) */
	__u16 dport;    /* host byte order */
	__u8 saddr[16]; /* IPv6, or IPv4-mapped (::ffff:a.b.c.d) for AF_INET */
	__u8 daddr[16];
	char comm[FT_COMM_LEN];
};

#endif
