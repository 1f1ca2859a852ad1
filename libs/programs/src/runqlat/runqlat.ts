import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { CatalogProgram } from '../manifest';

const params = z.strictObject({ ...filterParamsShape });
export type RunqlatParams = z.infer<typeof params>;

export const runqlat: CatalogProgram<RunqlatParams> = {
  name: 'runqlat',
  summary:
    'Run-queue latency: time from wakeup (or preemption) until a task runs, as a log2 histogram in µs. ' +
    'pid, comm and the host scope select the waiting task.',
  params,
  objectPath: objectPath('runqlat'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'hist',
      name: 'latency',
      unit: 'us',
      map: 'hist',
      otel: { instrument: 'histogram', name: 'fleettrace.runqlat.latency', unit: 'us' },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // tp_btf programs arrived in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash', 'percpu_array'],
    rawTracepoints: ['sched_wakeup', 'sched_wakeup_new', 'sched_switch'],
  },
  fallbacks: [
    { lacking: 'task_struct.__state (kernels before 5.14)', instead: 'reads the task state from task_struct.state, its name until then' },
  ],
};
