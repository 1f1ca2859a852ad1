import type { RolloutSpec } from '@fleettrace/contracts';

/**
 * The stages a job's runs are released in, hosts in the order given (the planner's seeded order):
 * the canaries first when the rollout has some, then batches of `batchSize` (all the rest in one
 * batch without it). A job without a rollout is one stage.
 */
export function rolloutStages<T>(hosts: readonly T[], rollout: RolloutSpec | null | undefined): T[][] {
  if (!rollout) return hosts.length > 0 ? [[...hosts]] : [];
  const canaries = hosts.slice(0, rollout.canary ?? 0);
  const rest = hosts.slice(canaries.length);
  const size = rollout.batchSize ?? Math.max(rest.length, 1);
  const batches: T[][] = [];
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
  return canaries.length > 0 ? [canaries, ...batches] : batches;
}

/** "the canary", "batch 2 of 4": how the timeline names a stage. */
export function stageName(stage: number, stages: number, hasCanary: boolean): string {
  if (hasCanary && stage === 0) return 'the canary stage';
  const batch = hasCanary ? stage : stage + 1;
  const batches = hasCanary ? stages - 1 : stages;
  return batches === 1 ? 'the only batch' : `batch ${batch} of ${batches}`;
}
