import { z } from 'zod';
import { MAX_DURATION_SECONDS, MAX_TARGET_HOST_IDS } from './limits';
import { JobLimits } from './run-limits';
import { ProgramField } from './program';

export const ProgramName = z
  .string({ error: 'program must be a string' })
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name like "execsnoop"');

export const TargetSelector = z.union(
  [
    z.object({ all: z.literal(true) }).strict(),
    z
      .object({
        hostIds: z
          .array(z.string().min(1), { error: 'targets.hostIds must be an array of host ids' })
          .min(1, 'targets.hostIds must name at least one host')
          .max(MAX_TARGET_HOST_IDS, `targets.hostIds must name at most ${MAX_TARGET_HOST_IDS} hosts`),
      })
      .strict(),
    z
      .object({
        labels: z.record(z.string(), z.string(), { error: 'targets.labels must map label names to strings' }),
      })
      .strict(),
  ],
  { error: 'targets must be {"all":true}, {"hostIds":[...]} or {"labels":{...}}' },
);
export type TargetSelector = z.infer<typeof TargetSelector>;

export const DurationSeconds = z
  .number({ error: 'durationSeconds must be a number' })
  .int('durationSeconds must be a whole number of seconds')
  .min(1, 'durationSeconds must be at least 1 s')
  .max(MAX_DURATION_SECONDS, `durationSeconds must be at most ${MAX_DURATION_SECONDS} s`);

export const ProgramParams = z.record(z.string(), z.unknown(), { error: 'params must be an object' });

export const CreateJobRequest = z
  .object({
    /** A catalog name, or `{ kind: 'bpftrace', script }`, or `{ kind: 'c', source, outputs }`. */
    program: ProgramField,
    params: ProgramParams.default({}),
    targets: TargetSelector.default({ all: true }),
    durationSeconds: DurationSeconds,
    /** Overrides of the per-run limits (map memory, events/s, overhead budget), within server policy. */
    limits: JobLimits.optional(),
  })
  .strict();
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;
