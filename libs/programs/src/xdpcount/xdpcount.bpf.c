// SPDX-License-Identifier: GPL-2.0
/* xdpcount: packets and bytes received on one interface, by network protocol (IPv4, IPv6, ARP,
 * other) and IP protocol (TCP, UDP, ICMP, ...). Pure observation: every packet is passed on
 * (XDP_PASS) untouched. The interface is chosen at attach time by the manifest's attach plan.
 * Packets belong to no task, so the common task filter (cgroup scope, pid, comm) does not apply. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "xdpcount/xdpcount.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

/* Per-CPU: every packet of the interface lands here, on the CPU that received it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct xdpcount_key);
	__type(value, __u64);
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct xdpcount_key);
	__type(value, __u64);
} bytes SEC(".maps");

static __always_inline void add(void *map, const struct xdpcount_key *key, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(map, key);

	if (value) {
		/* This CPU's value, and XDP does not nest on a CPU: a plain add is enough. */
		*value += n;
		return;
	}
	bpf_map_update_elem(map, key, &n, BPF_NOEXIST);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpcount_key key = {};
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;

	if (l3 > data_end)
		goto count;
	proto = bpf_ntohs(eth->h_proto);
	/* One VLAN tag (or a QinQ outer tag) is looked through. */
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			goto count;
		proto = bpf_ntohs(vlan->h_vlan_encapsulated_proto);
		l3 = vlan + 1;
	}

	if (proto == ETH_P_IP) {
		struct iphdr *ip = l3;

		key.l3 = XDPCOUNT_L3_IPV4;
		if ((void *)(ip + 1) <= data_end)
			key.l4 = ip->protocol;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;

		key.l3 = XDPCOUNT_L3_IPV6;
		/* The next header: extension headers are not walked, they count as themselves. */
		if ((void *)(ip6 + 1) <= data_end)
			key.l4 = ip6->nexthdr;
	} else if (proto == ETH_P_ARP) {
		key.l3 = XDPCOUNT_L3_ARP;
	}

count:
	add(&packets, &key, 1);
	add(&bytes, &key, data_end - data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
