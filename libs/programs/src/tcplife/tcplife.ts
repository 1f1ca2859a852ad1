import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct tcplife_event of tcplife.h. */
export const TCPLIFE_EVENT: RecordLayout = {
  size: 96,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'duration_us', offset: 8, type: 'u64' },
    { name: 'rx_bytes', offset: 16, type: 'u64' },
    { name: 'tx_bytes', offset: 24, type: 'u64' },
    { name: 'saddr', offset: 32, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'daddr', offset: 48, type: { array: 'u8', length: 16 }, format: 'ip' },
    { name: 'comm', offset: 64, type: { char: 16 } },
    { name: 'pid', offset: 80, type: 'u32' },
    { name: 'uid', offset: 84, type: 'u32' },
    { name: 'family', offset: 88, type: 'u16' },
    { name: 'sport', offset: 90, type: 'u16' },
    { name: 'dport', offset: 92, type: 'u16' },
    { name: 'oldstate', offset: 94, type: 'u8', format: 'tcp_state' },
    { name: 'pid_from_close', offset: 95, type: 'u8' },
  ],
};

/** A session lasts at most this long in the min-duration filter: one day. */
const MAX_MIN_DURATION_MS = 86_400_000;

const params = z.strictObject({
  ...filterParamsShape,
  dport: z
    .number({ error: 'dport must be a number' })
    .int('dport must be a whole number')
    .min(1, 'dport must be at least 1')
    .max(65535, 'dport must be at most 65535')
    .optional(),
  minDurationMs: z
    .number({ error: 'minDurationMs must be a number' })
    .min(0, 'minDurationMs must be at least 0')
    .max(MAX_MIN_DURATION_MS, `minDurationMs must be at most ${MAX_MIN_DURATION_MS}`)
    .default(0),
});
export type TcplifeParams = z.infer<typeof params>;

export const tcplife: CatalogProgram<TcplifeParams> = {
  name: 'tcplife',
  summary:
    'TCP sessions as they close (IPv4 and IPv6): addresses, ports, duration in µs, bytes received and sent (acknowledged), ' +
    'from sock:inet_sock_set_state alone. Duration runs from the first SYN_SENT/SYN_RECV/ESTABLISHED to CLOSE; sessions open ' +
    'before tracing began are not reported. pid/comm are those of the task that connected, or else first closed or shut ' +
    'the socket down (the filter applies to that task); a session with no such call (reset by the peer) is charged to ' +
    'whichever task ran at CLOSE and flagged pid_from_close. dport selects a remote port, minDurationMs drops shorter sessions.',
  params,
  objectPath: objectPath('tcplife'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    filter_dport: { type: 'u16', value: p.dport ?? 0 },
    min_duration_ns: { type: 'u64', value: BigInt(Math.round(p.minDurationMs * 1_000_000)) },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'sessions',
      ringBuffer: 'events',
      layout: TCPLIFE_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.tcplife.session' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'hash', 'ringbuf'],
    tracepoints: ['sock:inet_sock_set_state'],
  },
  fallbacks: [],
};
