import { z } from 'zod';

/** A summary carries this many distinct warnings at most, each cut to this many characters. */
export const MAX_RUN_WARNINGS = 20;
export const MAX_RUN_WARNING_LENGTH = 500;

/**
 * What went wrong in a run without failing it (a probe bpftrace skipped, a helper error): the first
 * distinct ones in the order they came, and how many distinct ones there were.
 */
export const RunWarnings = z.object({
  first: z.array(z.string().max(MAX_RUN_WARNING_LENGTH)).max(MAX_RUN_WARNINGS),
  distinct: z.number().int().nonnegative(),
});
export type RunWarnings = z.infer<typeof RunWarnings>;

/** A run's warnings as a summary carries them; undefined when there were none. */
export function capRunWarnings(warnings: readonly string[] | undefined): RunWarnings | undefined {
  const distinct = [...new Set(warnings ?? [])];
  if (distinct.length === 0) return undefined;
  const cut = (warning: string): string => (warning.length <= MAX_RUN_WARNING_LENGTH ? warning : `${warning.slice(0, MAX_RUN_WARNING_LENGTH - 1)}…`);
  return { first: distinct.slice(0, MAX_RUN_WARNINGS).map(cut), distinct: distinct.length };
}
