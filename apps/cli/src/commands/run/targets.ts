import type { CreateJobRequest } from '@fleettrace/contracts';
import { UsageError } from '../../errors';
import type { OptionSpec } from '../../spec';

export const TARGET_OPTIONS: readonly OptionSpec[] = [
  { name: 'hosts', argument: 'IDS', description: 'run on these hosts only, comma-separated ids (default: every host)' },
];

/**
 * The job's `targets` from the target flags: the one place that knows the request's form, so the
 * API's {hosts, selector, sample} form replaces the legacy {hostIds} / {all} here alone.
 */
export function buildTargets(options: { hosts?: unknown }): CreateJobRequest['targets'] {
  if (options.hosts === undefined) return {};
  const hostIds = String(options.hosts)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hostIds.length === 0) throw new UsageError('--hosts needs at least one host id: --hosts web-1,web-2');
  return { hosts: [...new Set(hostIds)] };
}
