/* Map key of xdpcount, shared by xdpcount.bpf.c and the key layout in xdpcount.ts. */
#ifndef __XDPCOUNT_H
#define __XDPCOUNT_H

#include "common/types.h"

/* Network-layer protocol of a packet: its EtherType, where known. */
#define XDPCOUNT_L3_OTHER 0
#define XDPCOUNT_L3_IPV4 1
#define XDPCOUNT_L3_IPV6 2
#define XDPCOUNT_L3_ARP 3

/* Transport protocol: the IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...), 0 for none
 * or a packet too short to tell. */
struct xdpcount_key {
	__u8 l3;
	__u8 l4;
	__u8 __pad[2];
};

#endif
