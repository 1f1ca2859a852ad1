import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct exitsnoop_event of exitsnoop.h. */
export const EXITSNOOP_EVENT: RecordLayout = {
  size: 64,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'start_ns', offset: 8, type: 'u64' },
    { name: 'lifetime_ns', offset: 16, type: 'u64' },
    { name: 'pid', offset: 24, type: 'u32' },
    { name: 'tid', offset: 28, type: 'u32' },
    { name: 'ppid', offset: 32, type: 'u32' },
    { name: 'exit_code', offset: 36, type: 'u32' },
    { name: 'signal', offset: 40, type: 'u32', format: 'signal' },
    { name: 'core_dumped', offset: 44, type: 'u32' },
    { name: 'comm', offset: 48, type: { char: 16 } },
  ],
};

const params = z.strictObject({
  ...filterParamsShape,
  threads: z.boolean({ error: 'threads must be a boolean' }).default(false),
  failedOnly: z.boolean({ error: 'failedOnly must be a boolean' }).default(false),
});
export type ExitsnoopParams = z.infer<typeof params>;

export const exitsnoop: CatalogProgram<ExitsnoopParams> = {
  name: 'exitsnoop',
  summary:
    'Every process exit: pid, parent, comm, lifetime (from the task start time, ns) and how it ended (exit code, or signal ' +
    'and core dump). threads adds non-leader threads; failedOnly keeps non-zero exits and signals.',
  params,
  objectPath: objectPath('exitsnoop'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    trace_threads: { type: 'bool', value: p.threads },
    failed_only: { type: 'bool', value: p.failedOnly },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'exits',
      ringBuffer: 'events',
      layout: EXITSNOOP_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.exitsnoop.exit' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
    tracepoints: ['sched:sched_process_exit'],
  },
  fallbacks: [],
};
