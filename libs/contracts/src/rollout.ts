import { z } from 'zod';
import { apiComponent } from './api-components';

const CANARY_MESSAGE = 'rollout.canary must be a whole number of hosts, at least 1';
const BATCH_MESSAGE = 'rollout.batchSize must be a whole number of hosts, at least 1';
const INTERVAL_MESSAGE = 'rollout.batchIntervalSeconds must be a whole number of seconds from 0 to 3600';
const MAX_FAILURES_MESSAGE = 'rollout.maxFailures must be a count like 3 or a percent like "10%"';
const PERCENT = /^(100|[0-9]{1,2}(\.[0-9]+)?)%$/;

/**
 * A staged rollout: `canary` hosts run first, and the others only once every canary run is
 * attached and tracing; then batches of `batchSize` every `batchIntervalSeconds`. Once more runs
 * fail than `maxFailures` (a count, or a percent of the hosts the job can run on), the runs not
 * yet dispatched are cancelled. Unset: no canary, one batch, no failure limit.
 */
export const RolloutSpec = z
  .object(
    {
      canary: z.number({ error: CANARY_MESSAGE }).int(CANARY_MESSAGE).min(1, CANARY_MESSAGE).optional(),
      batchSize: z.number({ error: BATCH_MESSAGE }).int(BATCH_MESSAGE).min(1, BATCH_MESSAGE).optional(),
      batchIntervalSeconds: z.number({ error: INTERVAL_MESSAGE }).int(INTERVAL_MESSAGE).min(0, INTERVAL_MESSAGE).max(3600, INTERVAL_MESSAGE).optional(),
      // Every branch repeats the message: zod reports the issue of the one branch that nearly matched.
      maxFailures: z
        .union([z.number().int(MAX_FAILURES_MESSAGE).min(0, MAX_FAILURES_MESSAGE), z.string().regex(PERCENT, MAX_FAILURES_MESSAGE)], { error: MAX_FAILURES_MESSAGE })
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `rollout has unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : 'rollout must be an object',
    },
  )
  .strict();
export type RolloutSpec = z.infer<typeof RolloutSpec>;
apiComponent('RolloutSpec', RolloutSpec);

/** How many failed runs a rollout tolerates on a job that can run on `hosts` hosts; Infinity without a limit. */
export function failureLimit(maxFailures: RolloutSpec['maxFailures'], hosts: number): number {
  if (maxFailures === undefined) return Infinity;
  if (typeof maxFailures === 'number') return maxFailures;
  return Math.floor((Number(maxFailures.slice(0, -1)) / 100) * hosts);
}
