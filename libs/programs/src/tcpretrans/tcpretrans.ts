import { z } from 'zod';
import { filterGlobals } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct tcpretrans_event of tcpretrans.h. */
export const TCPRETRANS_EVENT: RecordLayout = {
  size: 64,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'cgroup_id', offset: 8, type: 'u64' },
    { name: 'saddr', offset: 16, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'daddr', offset: 32, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'family', offset: 48, type: 'u16' },
    { name: 'sport', offset: 50, type: 'u16' },
    { name: 'dport', offset: 52, type: 'u16' },
    { name: 'state', offset: 54, type: 'u16', format: 'tcp_state' },
    { name: 'err', offset: 56, type: 's32', format: 'errno' },
    { name: 'total_retrans', offset: 60, type: 'u32' },
  ],
};

const NO_TASK = 'retransmissions run in softirq and timer context, not in the task that owns the connection';

const params = z.strictObject({
  // Refused with a reason rather than as unknown keys: every other catalog program takes them.
  pid: z.never({ error: `tcpretrans cannot filter by pid: ${NO_TASK}` }).optional(),
  comm: z.never({ error: `tcpretrans cannot filter by comm: ${NO_TASK}` }).optional(),
  port: z
    .number({ error: 'port must be a number' })
    .int('port must be a whole number')
    .min(1, 'port must be at least 1')
    .max(65535, 'port must be at most 65535')
    .optional(),
});
export type TcpretransParams = z.infer<typeof params>;

export const tcpretrans: CatalogProgram<TcpretransParams> = {
  name: 'tcpretrans',
  summary:
    'TCP retransmissions (tcp:tcp_retransmit_skb, IPv4 and IPv6): addresses, ports, TCP state, result and the ' +
    "connection's retransmit total. They happen in softirq and timer context, so there is no pid or comm: the host " +
    "scope matches the socket's cgroup (the cgroup of the task that created it, or of the listener for accepted " +
    'sockets), and pid/comm filters are refused. port selects connections with that port at either end.',
  params,
  objectPath: objectPath('tcpretrans'),
  globals: (p, filter) => ({
    ...filterGlobals({ commMatch: 'exact' }, filter),
    filter_port: { type: 'u16', value: p.port ?? 0 },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'retransmits',
      ringBuffer: 'events',
      layout: TCPRETRANS_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.tcpretrans.retransmit' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // BPF ring buffer; both layouts of the tracepoint's context are read (see fallbacks).
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
    tracepoints: ['tcp:tcp_retransmit_skb'],
  },
  fallbacks: [
    {
      lacking: 'struct trace_event_raw_tcp_retransmit_skb (kernels before 6.17)',
      instead: 'reads the same fields through the tcp_event_sk_skb layout the tracepoint had until then, with err 0',
    },
  ],
};
