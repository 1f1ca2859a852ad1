import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import { syscallTracepoints } from '../common/syscall-tracepoints';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct opensnoop_event of opensnoop.h. */
export const OPENSNOOP_EVENT: RecordLayout = {
  size: 312,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'pid', offset: 8, type: 'u32' },
    { name: 'tid', offset: 12, type: 'u32' },
    { name: 'uid', offset: 16, type: 'u32' },
    { name: 'ret', offset: 20, type: 's32', format: 'errno' },
    { name: 'flags', offset: 24, type: 'u32' },
    { name: 'mode', offset: 28, type: 'u32' },
    { name: 'dirfd', offset: 32, type: 's32' },
    { name: 'syscall', offset: 36, type: 'u32', format: 'syscall' },
    { name: 'comm', offset: 40, type: { char: 16 } },
    { name: 'path', offset: 56, type: { char: 256 } },
  ],
};

const params = z.strictObject({
  ...filterParamsShape,
  failedOnly: z.boolean({ error: 'failedOnly must be a boolean' }).default(false),
});
export type OpensnoopParams = z.infer<typeof params>;

export const opensnoop: CatalogProgram<OpensnoopParams> = {
  name: 'opensnoop',
  summary:
    'Every open, openat and openat2: pid, comm, uid, path as passed (relative to dirfd, first 255 bytes), flags, mode ' +
    'and the fd or errno. failedOnly keeps failed opens.',
  params,
  objectPath: objectPath('opensnoop'),
  globals: (p, filter) => ({ ...filterGlobals(p, filter), failed_only: { type: 'bool', value: p.failedOnly } }),
  outputs: [
    {
      kind: 'events',
      name: 'opens',
      ringBuffer: 'events',
      layout: OPENSNOOP_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.opensnoop.open' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8 (openat2 in 5.6). There is no open syscall on arm64, so no sys_enter_open.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'hash', 'ringbuf'],
    tracepoints: syscallTracepoints('open', 'openat', 'openat2'),
  },
  fallbacks: [],
};
