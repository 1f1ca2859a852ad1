import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';
import { PROCESS_ATTRIBUTES } from '../telemetry';

/** struct syscount_syscall_key of syscount.h. */
export const SYSCALL_KEY: RecordLayout = {
  size: 4,
  fields: [{ name: 'syscall', offset: 0, type: 'u32', format: 'syscall' }],
};

/** struct syscount_process_key of syscount.h. */
export const PROCESS_KEY: RecordLayout = {
  size: 20,
  fields: [
    { name: 'pid', offset: 0, type: 'u32' },
    { name: 'comm', offset: 4, type: { char: 16 } },
  ],
};

const params = z.strictObject({ ...filterParamsShape });
export type SyscountParams = z.infer<typeof params>;

export const syscount: CatalogProgram<SyscountParams> = {
  name: 'syscount',
  summary: 'Syscalls counted per syscall and per process (pid and comm), on entry.',
  params,
  objectPath: objectPath('syscount'),
  globals: (p, filter) => filterGlobals(p, filter),
  outputs: [
    {
      kind: 'counts',
      name: 'syscalls',
      unit: 'calls',
      map: 'syscalls',
      keyLayout: SYSCALL_KEY,
      keyFields: ['syscall'],
      otel: {
        instrument: 'counter',
        name: 'fleettrace.syscount.syscalls',
        unit: '{call}',
        // No semantic convention names a syscall.
        attributes: { syscall: 'fleettrace.syscall.name' },
      },
    },
    {
      kind: 'counts',
      name: 'processes',
      unit: 'calls',
      map: 'processes',
      keyLayout: PROCESS_KEY,
      keyFields: ['pid', 'comm'],
      otel: { instrument: 'counter', name: 'fleettrace.syscount.process.syscalls', unit: '{call}', attributes: PROCESS_ATTRIBUTES },
    },
  ],
  requires: {
    attachTypes: ['tracepoint'],
    // The scope filter's CO-RE reads compile to bpf_probe_read_kernel, new in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash', 'percpu_hash'],
    tracepoints: ['raw_syscalls:sys_enter'],
  },
  fallbacks: [],
};
