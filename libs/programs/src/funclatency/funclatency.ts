import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import { uprobeTargetShape } from '../common/uprobe-target';
import type { CatalogProgram } from '../manifest';

const params = z.strictObject({ ...filterParamsShape, ...uprobeTargetShape });
export type FunclatencyParams = z.infer<typeof params>;

export const funclatency: CatalogProgram<FunclatencyParams> = {
  name: 'funclatency',
  summary:
    'Latency of a user-space function (uprobe + uretprobe on `binary` + `function`), entry to return on the same ' +
    'thread, as a log2 histogram in µs. With pid set, only that process is probed; comm and the host scope select ' +
    'the caller. Recursive calls time only the innermost.',
  params,
  objectPath: objectPath('funclatency'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'hist',
      name: 'latency',
      unit: 'us',
      map: 'hist',
      otel: { instrument: 'histogram', name: 'fleettrace.funclatency.latency', unit: 'us' },
    },
  ],
  requires: {
    attachTypes: ['uprobe', 'uretprobe'],
    // The scope filter's CO-RE reads compile to bpf_probe_read_kernel, new in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash', 'percpu_array'],
  },
  fallbacks: [],
  binaryParams: ['binary'],
  attach: (p) => [
    { program: 'func_entry', kind: 'uprobe', binary: p.binary, symbol: p.function, pid: p.pid },
    { program: 'func_exit', kind: 'uprobe', binary: p.binary, symbol: p.function, pid: p.pid, retprobe: true },
  ],
};
