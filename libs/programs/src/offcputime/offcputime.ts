import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';
import { FOLDED_STACK_ATTRIBUTES } from '../telemetry';

/** struct offcputime_key of offcputime.h. */
export const OFFCPUTIME_KEY: RecordLayout = {
  size: 28,
  fields: [
    { name: 'pid', offset: 0, type: 'u32' },
    { name: 'user_stack_id', offset: 4, type: 's32' },
    { name: 'kernel_stack_id', offset: 8, type: 's32' },
    { name: 'comm', offset: 12, type: { char: 16 } },
  ],
};

/** An hour: no single block is meant to be longer, and the filter is a u64 of ns. */
const MAX_BLOCK_US = 3_600_000_000;

const blockUs = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number of µs`)
    .min(0, `${name} must be at least 0`)
    .max(MAX_BLOCK_US, `${name} must be at most ${MAX_BLOCK_US}`);

const params = z
  .strictObject({
    ...filterParamsShape,
    minBlockUs: blockUs('minBlockUs').default(1),
    maxBlockUs: blockUs('maxBlockUs').optional(),
  })
  .refine((p) => p.maxBlockUs === undefined || p.maxBlockUs >= p.minBlockUs, 'maxBlockUs must be at least minBlockUs');
export type OffcputimeParams = z.infer<typeof params>;

export const offcputime: CatalogProgram<OffcputimeParams> = {
  name: 'offcputime',
  summary:
    'Time tasks spend off CPU (blocked, sleeping or preempted) in µs, per process and per user and kernel stack they ' +
    'were switched out in (tp_btf sched_switch). Stack ids index the `stacks` map (negative: no stack, e.g. the user ' +
    'stack of a kernel thread); user stacks need frame pointers. pid, comm and the host scope select the task; ' +
    'minBlockUs and maxBlockUs bound the blocks counted.',
  params,
  objectPath: objectPath('offcputime'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    min_block_ns: { type: 'u64', value: BigInt(p.minBlockUs) * 1000n },
    max_block_ns: { type: 'u64', value: p.maxBlockUs === undefined ? 2n ** 64n - 1n : BigInt(p.maxBlockUs) * 1000n },
  }),
  outputs: [
    {
      kind: 'counts',
      name: 'offcpu',
      unit: 'us',
      map: 'offcpu',
      keyLayout: OFFCPUTIME_KEY,
      keyFields: ['pid', 'comm', 'user_stack_id', 'kernel_stack_id'],
      stacks: { map: 'stacks', userStackField: 'user_stack_id', kernelStackField: 'kernel_stack_id', pidField: 'pid' },
      otel: {
        instrument: 'counter',
        name: 'fleettrace.offcputime.time',
        unit: 'us',
        attributes: FOLDED_STACK_ATTRIBUTES,
      },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // tp_btf programs, and bpf_get_stackid in them, arrived in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash', 'stack_trace'],
    rawTracepoints: ['sched_switch'],
  },
  fallbacks: [],
};
