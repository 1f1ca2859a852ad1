import { z } from 'zod';
import { diskGlobals, diskParam } from '../common/block-request';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct biosnoop_event of biosnoop.h. */
export const BIOSNOOP_EVENT: RecordLayout = {
  size: 72,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'latency_ns', offset: 8, type: 'u64' },
    { name: 'queued_ns', offset: 16, type: 'u64' },
    { name: 'sector', offset: 24, type: 'u64' },
    { name: 'bytes', offset: 32, type: 'u32' },
    { name: 'major', offset: 36, type: 'u32' },
    { name: 'minor', offset: 40, type: 'u32' },
    { name: 'pid', offset: 44, type: 'u32' },
    { name: 'op', offset: 48, type: 'u32' },
    { name: 'error', offset: 52, type: 's32', format: 'errno' },
    { name: 'comm', offset: 56, type: { char: 16 } },
  ],
};

/** One hour: anything slower is not a latency threshold anyone means. */
const MIN_LATENCY_MAX_US = 3_600_000_000;

const params = z.strictObject({
  ...filterParamsShape,
  disk: diskParam.optional(),
  minLatencyUs: z
    .number({ error: 'minLatencyUs must be a number' })
    .int('minLatencyUs must be a whole number')
    .min(0, 'minLatencyUs must be at least 0')
    .max(MIN_LATENCY_MAX_US, `minLatencyUs must be at most ${MIN_LATENCY_MAX_US}`)
    .default(0),
});
export type BiosnoopParams = z.infer<typeof params>;

export const biosnoop: CatalogProgram<BiosnoopParams> = {
  name: 'biosnoop',
  summary:
    'Every block I/O request: disk (major:minor), sector, bytes, operation (REQ_OP: 0 read, 1 write, ...), issue-to-' +
    'completion latency and queueing time (ns), result, and the submitting pid/comm. pid, comm and the host scope ' +
    'select the submitter, disk the device, minLatencyUs the slow ones.',
  params,
  objectPath: objectPath('biosnoop'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    ...diskGlobals(p.disk),
    min_latency_ns: { type: 'u64', value: BigInt(p.minLatencyUs) * 1000n },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'requests',
      ringBuffer: 'events',
      layout: BIOSNOOP_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.biosnoop.request' },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // The block_io_start tracepoint arrived in 6.5.
    minKernel: '6.5',
    btf: true,
    mapTypes: ['array', 'hash', 'ringbuf'],
    rawTracepoints: ['block_io_start', 'block_rq_issue', 'block_rq_complete'],
  },
  fallbacks: [],
};
