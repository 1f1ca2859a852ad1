import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct bashreadline_event of bashreadline.h. */
export const BASHREADLINE_EVENT: RecordLayout = {
  size: 288,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'pid', offset: 8, type: 'u32' },
    { name: 'uid', offset: 12, type: 'u32' },
    { name: 'comm', offset: 16, type: { char: 16 } },
    { name: 'line', offset: 32, type: { char: 256 } },
  ],
};

const params = z.strictObject({
  ...filterParamsShape,
  // bash links readline in statically and exports it: the probe goes on bash itself.
  bash: z
    .string({ error: 'bash must be a string: the path of the bash binary' })
    .min(1, 'bash must not be empty')
    .max(4096, 'bash must be at most 4096 characters')
    .default('/bin/bash'),
});
export type BashreadlineParams = z.infer<typeof params>;

export const bashreadline: CatalogProgram<BashreadlineParams> = {
  name: 'bashreadline',
  summary:
    'Every line an interactive bash reads (uretprobe on readline in `bash`), with pid, uid and comm; lines are kept ' +
    'to 255 bytes. pid, comm and the host scope select the shell.',
  params,
  objectPath: objectPath('bashreadline'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'events',
      name: 'lines',
      ringBuffer: 'events',
      layout: BASHREADLINE_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.bashreadline.line' },
    },
  ],
  requires: {
    attachTypes: ['uretprobe'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
  },
  fallbacks: [],
  binaryParams: ['bash'],
  attach: (p) => [{ program: 'readline_return', kind: 'uprobe', binary: p.bash, symbol: 'readline', retprobe: true, pid: p.pid }],
};
