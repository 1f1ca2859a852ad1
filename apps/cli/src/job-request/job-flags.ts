import type { CreateJobInput } from '@fleettrace/contracts';
import { parseDuration } from '../program/duration';
import { programFromFlags } from '../program/program-flags';
import type { CommandInput } from '../spec';
import { buildRollout } from './rollout';
import { buildTargets } from './targets';

/** A fleet job with no --duration traces for this long: the API needs a bound, and a first look needs no more. */
export const DEFAULT_RUN_SECONDS = 10;

/**
 * The job the flags of job-options.ts describe, checked here as far as this side can (the program
 * and its parameters, the selector, sample, rollout and times), so a mistake is a usage error
 * naming the flag rather than a refusal after a round trip. `run` submits it; `schedules create`
 * makes it a schedule's template.
 */
export function jobRequestFromFlags(input: CommandInput, cwd: string): CreateJobInput {
  const { options } = input;
  const { program, params } = programFromFlags(input, cwd, false);
  const rollout = buildRollout(options);
  return {
    program,
    params,
    targets: buildTargets(options),
    durationSeconds: options.duration === undefined ? DEFAULT_RUN_SECONDS : parseDuration(String(options.duration)),
    ...(rollout ? { rollout } : {}),
    ...(options.interval === undefined ? {} : { snapshotSeconds: parseDuration(String(options.interval), '--interval') }),
  };
}
