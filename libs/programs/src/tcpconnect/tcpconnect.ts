import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct tcpconnect_event of tcpconnect.h. */
export const TCPCONNECT_EVENT: RecordLayout = {
  size: 72,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'pid', offset: 8, type: 'u32' },
    { name: 'tid', offset: 12, type: 'u32' },
    { name: 'uid', offset: 16, type: 'u32' },
    { name: 'family', offset: 20, type: 'u16' },
    { name: 'dport', offset: 22, type: 'u16' },
    { name: 'saddr', offset: 24, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'daddr', offset: 40, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'comm', offset: 56, type: { char: 16 } },
  ],
};

const params = z.strictObject({
  ...filterParamsShape,
  dport: z
    .number({ error: 'dport must be a number' })
    .int('dport must be a whole number')
    .min(1, 'dport must be at least 1')
    .max(65535, 'dport must be at most 65535')
    .optional(),
});
export type TcpconnectParams = z.infer<typeof params>;

export const tcpconnect: CatalogProgram<TcpconnectParams> = {
  name: 'tcpconnect',
  summary:
    'Active TCP connects (IPv4 and IPv6): pid, comm, uid, source and destination address, destination port, ' +
    'seen as the socket enters SYN_SENT in the connecting task (sock:inet_sock_set_state, no kprobes). ' +
    'The local port is not chosen yet then and is not reported. dport selects one remote port.',
  params,
  objectPath: objectPath('tcpconnect'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    filter_dport: { type: 'u16', value: p.dport ?? 0 },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'connects',
      ringBuffer: 'events',
      layout: TCPCONNECT_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.tcpconnect.connect' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
    tracepoints: ['sock:inet_sock_set_state'],
  },
  fallbacks: [],
};
