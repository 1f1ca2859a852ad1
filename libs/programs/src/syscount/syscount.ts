import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

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
    { kind: 'counts', name: 'syscalls', unit: 'calls', map: 'syscalls', keyLayout: SYSCALL_KEY, keyFields: ['syscall'] },
    { kind: 'counts', name: 'processes', unit: 'calls', map: 'processes', keyLayout: PROCESS_KEY, keyFields: ['pid', 'comm'] },
  ],
  requires: { attachTypes: ['tracepoint'] },
};
