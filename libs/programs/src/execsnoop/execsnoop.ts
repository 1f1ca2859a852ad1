import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import { syscallTracepoints } from '../common/syscall-tracepoints';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct execsnoop_event of execsnoop.h. */
export const EXECSNOOP_EVENT: RecordLayout = {
  size: 1328,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'pid', offset: 8, type: 'u32' },
    { name: 'tid', offset: 12, type: 'u32' },
    { name: 'ppid', offset: 16, type: 'u32' },
    { name: 'uid', offset: 20, type: 'u32' },
    { name: 'retval', offset: 24, type: 's32', format: 'errno' },
    { name: 'args_count', offset: 28, type: 'u16' },
    { name: 'args_truncated', offset: 30, type: 'u8' },
    { name: 'filename_truncated', offset: 31, type: 'u8' },
    { name: 'comm', offset: 32, type: { char: 16 } },
    { name: 'filename', offset: 48, type: { char: 256 } },
    { name: 'args', offset: 304, type: { char: 1024 } },
  ],
};

const params = z.strictObject({
  ...filterParamsShape,
  failedOnly: z.boolean({ error: 'failedOnly must be a boolean' }).default(false),
});
export type ExecsnoopParams = z.infer<typeof params>;

export const execsnoop: CatalogProgram<ExecsnoopParams> = {
  name: 'execsnoop',
  summary:
    'Every exec (execve, execveat): pid, parent, uid, new comm, filename, the first 16 arguments and the result. ' +
    'comm filters on the name after the exec.',
  params,
  objectPath: objectPath('execsnoop'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    failed_only: { type: 'bool', value: p.failedOnly },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'execs',
      ringBuffer: 'events',
      layout: EXECSNOOP_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.execsnoop.exec' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'hash', 'ringbuf'],
    tracepoints: syscallTracepoints('execve', 'execveat'),
  },
  fallbacks: [],
};
