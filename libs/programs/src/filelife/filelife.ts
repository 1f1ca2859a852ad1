import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import { syscallTracepoints } from '../common/syscall-tracepoints';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct filelife_event of filelife.h. */
export const FILELIFE_EVENT: RecordLayout = {
  size: 312,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'age_ns', offset: 8, type: 'u64' },
    { name: 'pid', offset: 16, type: 'u32' },
    { name: 'tid', offset: 20, type: 'u32' },
    { name: 'uid', offset: 24, type: 'u32' },
    { name: 'ret', offset: 28, type: 's32', format: 'errno' },
    { name: 'dirfd', offset: 32, type: 's32' },
    { name: 'syscall', offset: 36, type: 'u32', format: 'syscall' },
    { name: 'comm', offset: 40, type: { char: 16 } },
    { name: 'path', offset: 56, type: { char: 256 } },
  ],
};

const params = z.strictObject({ ...filterParamsShape });
export type FilelifeParams = z.infer<typeof params>;

export const filelife: CatalogProgram<FilelifeParams> = {
  name: 'filelife',
  summary:
    'Every file deleted (unlink, unlinkat without AT_REMOVEDIR): pid, comm, path as passed and result, with the ' +
    'file\'s age when this program saw the same path string created (open/openat with O_CREAT, creat) while ' +
    'tracing; age_ns 0 means unknown, not new. pid, comm and the host scope select the deleting (and creating) task.',
  params,
  objectPath: objectPath('filelife'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'events',
      name: 'deletions',
      ringBuffer: 'events',
      layout: FILELIFE_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.filelife.deletion' },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The BPF ring buffer arrived in 5.8. open, creat and unlink exist on x86_64, not arm64.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'hash', 'lru_hash', 'percpu_array', 'ringbuf'],
    tracepoints: syscallTracepoints('open', 'openat', 'creat', 'unlink', 'unlinkat'),
  },
  fallbacks: [],
};
