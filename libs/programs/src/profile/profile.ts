import { z } from 'zod';
import { filterGlobals, filterParamsShape } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';
import { FOLDED_STACK_ATTRIBUTES } from '../telemetry';

/** struct profile_key of profile.h. */
export const PROFILE_KEY: RecordLayout = {
  size: 28,
  fields: [
    { name: 'pid', offset: 0, type: 'u32' },
    { name: 'user_stack_id', offset: 4, type: 's32' },
    { name: 'kernel_stack_id', offset: 8, type: 's32' },
    { name: 'comm', offset: 12, type: { char: 16 } },
  ],
};

/** The kernel's default perf_event_max_sample_rate is 100 kHz; far less is plenty for a profile. */
const MAX_FREQUENCY = 10_000;

const params = z.strictObject({
  ...filterParamsShape,
  // 49 Hz, not 50: off the beat of timers that fire at round rates, so samples do not alias with them.
  frequency: z
    .number({ error: 'frequency must be a number' })
    .int('frequency must be a whole number of Hz')
    .min(1, 'frequency must be at least 1')
    .max(MAX_FREQUENCY, `frequency must be at most ${MAX_FREQUENCY}`)
    .default(49),
  includeIdle: z.boolean({ error: 'includeIdle must be a boolean' }).default(false),
});
export type ProfileParams = z.infer<typeof params>;

export const profile: CatalogProgram<ProfileParams> = {
  name: 'profile',
  summary:
    'On-CPU sampling: a CPU-clock perf event at `frequency` Hz on every CPU counts samples per process and per user ' +
    'and kernel stack running. Stack ids index the `stacks` map (negative: no stack, e.g. the kernel stack of a ' +
    'sample taken in user mode); user stacks need frame pointers. pid, comm and the host scope select the task; the ' +
    'idle task is left out unless includeIdle.',
  params,
  objectPath: objectPath('profile'),
  globals: (p, filter) => ({ ...filterGlobals(p, filter), include_idle: { type: 'bool', value: p.includeIdle } }),
  outputs: [
    {
      kind: 'counts',
      name: 'samples',
      unit: 'samples',
      map: 'samples',
      keyLayout: PROFILE_KEY,
      keyFields: ['pid', 'comm', 'user_stack_id', 'kernel_stack_id'],
      stacks: { map: 'stacks', userStackField: 'user_stack_id', kernelStackField: 'kernel_stack_id', pidField: 'pid' },
      otel: {
        instrument: 'counter',
        name: 'fleettrace.profile.samples',
        unit: '{sample}',
        attributes: FOLDED_STACK_ATTRIBUTES,
      },
    },
  ],
  requires: {
    attachTypes: ['perf_event'],
    // The scope filter's CO-RE reads compile to bpf_probe_read_kernel, new in 5.5.
    minKernel: '5.5',
    btf: true,
    mapTypes: ['array', 'hash', 'stack_trace'],
  },
  fallbacks: [],
  attach: (p) => [{ program: 'do_sample', kind: 'perf_event', frequency: p.frequency }],
};
