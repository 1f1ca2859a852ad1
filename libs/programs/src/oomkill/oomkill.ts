import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct oomkill_event of oomkill.h. */
export const OOMKILL_EVENT: RecordLayout = {
  size: 96,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'total_vm_pages', offset: 8, type: 'u64' },
    { name: 'anon_rss_pages', offset: 16, type: 'u64' },
    { name: 'file_rss_pages', offset: 24, type: 'u64' },
    { name: 'shmem_rss_pages', offset: 32, type: 'u64' },
    { name: 'pid', offset: 40, type: 'u32' },
    { name: 'tid', offset: 44, type: 'u32' },
    { name: 'uid', offset: 48, type: 'u32' },
    { name: 'oom_score_adj', offset: 52, type: 's32' },
    { name: 'trigger_pid', offset: 56, type: 'u32' },
    { name: 'trigger_tid', offset: 60, type: 'u32' },
    { name: 'comm', offset: 64, type: { char: 16 } },
    { name: 'trigger_comm', offset: 80, type: { char: 16 } },
  ],
};

const params = z.strictObject({ ...filterParamsShape });
export type OomkillParams = z.infer<typeof params>;

export const oomkill: CatalogProgram<OomkillParams> = {
  name: 'oomkill',
  summary:
    'Every OOM kill, global or memory-cgroup: the victim (pid, comm, uid, oom_score_adj, total VM and anon/file/shmem ' +
    'rss in pages) and the task whose allocation triggered it. pid, comm and the host scope select the victim.',
  params,
  objectPath: objectPath('oomkill'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'events',
      name: 'kills',
      ringBuffer: 'events',
      layout: OOMKILL_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.oomkill.kill' },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // mark_victim passes the victim task from 6.9 (a bare pid before); percpu rss counters from 6.2.
    minKernel: '6.9',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
    rawTracepoints: ['mark_victim'],
  },
  fallbacks: [],
};
