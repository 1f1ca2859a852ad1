import { z } from 'zod';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct xdpcount_key of xdpcount.h. */
export const XDPCOUNT_KEY: RecordLayout = {
  size: 4,
  fields: [
    { name: 'l3', offset: 0, type: 'u8' },
    { name: 'l4', offset: 1, type: 'u8' },
  ],
};

/** Values of the key's `l3` field (XDPCOUNT_L3_* of xdpcount.h). */
export const XDPCOUNT_L3 = { other: 0, ipv4: 1, ipv6: 2, arp: 3 } as const;
/** IP protocol numbers of the key's `l4` field worth naming. */
export const IP_PROTOCOL = { none: 0, icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

// The conventions' network.type and network.transport take names ("ipv4", "tcp"); these are codes.
const PROTOCOL_ATTRIBUTES = { l3: 'fleettrace.network.l3_protocol', l4: 'fleettrace.network.ip_protocol' };

/** A Linux interface name: IFNAMSIZ - 1 bytes, no '/' or whitespace. */
const params = z.strictObject({
  interface: z
    .string({ error: 'interface must be a network interface name' })
    .regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'interface must be a network interface name of 1 to 15 letters, digits or _.:@-'),
});
export type XdpcountParams = z.infer<typeof params>;

export const xdpcount: CatalogProgram<XdpcountParams> = {
  name: 'xdpcount',
  summary:
    'Packets and bytes received on one interface (XDP, ingress), by network protocol `l3` (0 other, 1 IPv4, 2 IPv6, ' +
    '3 ARP) and IP protocol number `l4` (1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6; 0 none). Every packet passes on ' +
    'untouched. Packets belong to no process: the host scope, pid and comm filters do not apply.',
  params,
  objectPath: objectPath('xdpcount'),
  globals: () => ({}),
  outputs: [
    {
      kind: 'counts',
      name: 'packets',
      unit: 'packets',
      map: 'packets',
      keyLayout: XDPCOUNT_KEY,
      keyFields: ['l3', 'l4'],
      otel: { instrument: 'counter', name: 'fleettrace.xdpcount.packets', unit: '{packet}', attributes: PROTOCOL_ATTRIBUTES },
    },
    {
      kind: 'counts',
      name: 'bytes',
      unit: 'bytes',
      map: 'bytes',
      keyLayout: XDPCOUNT_KEY,
      keyFields: ['l3', 'l4'],
      otel: { instrument: 'counter', name: 'fleettrace.xdpcount.io', unit: 'By', attributes: PROTOCOL_ATTRIBUTES },
    },
  ],
  requires: {
    attachTypes: ['xdp'],
    // XDP is attached through a BPF link, new in 5.9.
    minKernel: '5.9',
    btf: true,
    mapTypes: ['percpu_hash'],
  },
  fallbacks: [],
  attach: (p) => [{ program: 'xdp_count', kind: 'xdp', interface: p.interface }],
};
