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
    'the host scope select the submitting task, disk ("major:minor" of a whole disk) the device. Kernel 6.5 or later ' +
    '(block_io_start).',
  params,
  objectPath: objectPath('biolatency'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    ...diskGlobals(p.disk),
    include_queued: { type: 'bool', value: p.queued },
  }),
  outputs: [{ kind: 'hist', name: 'latency', unit: 'us', map: 'hist' }],
  requires: { attachTypes: ['tp_btf'] },
};
