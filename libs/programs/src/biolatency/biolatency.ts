import { z } from 'zod';
import { diskGlobals, diskParam } from '../common/block-request';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { CatalogProgram } from '../manifest';

const params = z.strictObject({
  ...filterParamsShape,
  disk: diskParam.optional(),
  queued: z.boolean({ error: 'queued must be a boolean' }).default(false),
});
export type BiolatencyParams = z.infer<typeof params>;

export const biolatency: CatalogProgram<BiolatencyParams> = {
  name: 'biolatency',
  summary:
    'Block I/O latency as a log2 histogram in µs, from issue to completion (queued: from submission). pid, comm and ' +
    'the host scope select the submitting task, disk ("major:minor" of a whole disk) the device.',
  params,
  objectPath: objectPath('biolatency'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    ...diskGlobals(p.disk),
    include_queued: { type: 'bool', value: p.queued },
  }),
  outputs: [
    {
      kind: 'hist',
      name: 'latency',
      unit: 'us',
      map: 'hist',
      otel: { instrument: 'histogram', name: 'fleettrace.biolatency.latency', unit: 'us' },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // The block_io_start tracepoint arrived in 6.5.
    minKernel: '6.5',
    btf: true,
    mapTypes: ['array', 'hash', 'percpu_array'],
    rawTracepoints: ['block_io_start', 'block_rq_issue', 'block_rq_complete'],
  },
  fallbacks: [],
};
