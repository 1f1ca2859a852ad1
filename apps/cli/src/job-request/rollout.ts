import type { RolloutSpec } from '@fleettrace/contracts';
import { UsageError } from '../errors';
import { positiveInteger } from '../output/printer';
import { parseDuration } from '../program/duration';
import type { CommandInput } from '../spec';

/** The API's bound on the time between batches. */
const MAX_BATCH_INTERVAL_SECONDS = 3600;

function maxFailuresOf(text: string): number | string {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^(100|\d{1,2}(\.\d+)?)%$/.test(text)) return text;
  throw new UsageError(`--max-failures must be a count like 3 or a percent like 10%, got "${text}"`);
}

/** The job's `rollout` from --canary, --batch-size, --batch-interval and --max-failures; undefined when none is given. */
export function buildRollout(options: CommandInput['options']): RolloutSpec | undefined {
  const rollout: RolloutSpec = {};
  if (options.canary !== undefined) rollout.canary = positiveInteger(options.canary, '--canary', 0);
  if (options.batchSize !== undefined) rollout.batchSize = positiveInteger(options.batchSize, '--batch-size', 0);
  if (options.batchInterval !== undefined) {
    const text = String(options.batchInterval);
    const seconds = /^0s?$/.test(text.trim()) ? 0 : parseDuration(text, '--batch-interval');
    if (seconds > MAX_BATCH_INTERVAL_SECONDS) throw new UsageError(`--batch-interval must be at most ${MAX_BATCH_INTERVAL_SECONDS / 60}m, got "${text}"`);
    rollout.batchIntervalSeconds = seconds;
  }
  if (options.maxFailures !== undefined) rollout.maxFailures = maxFailuresOf(String(options.maxFailures));
  return Object.keys(rollout).length > 0 ? rollout : undefined;
}
