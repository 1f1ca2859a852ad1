import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import { uprobeTargetShape } from '../common/uprobe-target';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';
import { PROCESS_ATTRIBUTES } from '../telemetry';

/** struct funccount_key of funccount.h. */
export const FUNCCOUNT_KEY: RecordLayout = {
  size: 20,
  fields: [
    { name: 'pid', offset: 0, type: 'u32' },
    { name: 'comm', offset: 4, type: { char: 16 } },
  ],
};

const params = z.strictObject({ ...filterParamsShape, ...uprobeTargetShape });
export type FunccountParams = z.infer<typeof params>;

export const funccount: CatalogProgram<FunccountParams> = {
  name: 'funccount',
  summary:
    'Calls of a user-space function (uprobe on `binary` + `function`), counted per process. With pid set, only ' +
    'that process is probed; comm and the host scope select the caller.',
  params,
  objectPath: objectPath('funccount'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'counts',
      name: 'calls',
      unit: 'calls',
      map: 'calls',
      keyLayout: FUNCCOUNT_KEY,
      keyFields: ['pid', 'comm'],
      otel: { instrument: 'counter', name: 'fleettrace.funccount.calls', unit: '{call}', attributes: PROCESS_ATTRIBUTES },
    },
  ],
  requires: {
    attachTypes: ['uprobe'],
    // The scope filter's CO-RE reads compile to bpf_probe_read_kernel, new in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash'],
  },
  fallbacks: [],
  binaryParams: ['binary'],
  attach: (p) => [{ program: 'func_entry', kind: 'uprobe', binary: p.binary, symbol: p.function, pid: p.pid }],
};
