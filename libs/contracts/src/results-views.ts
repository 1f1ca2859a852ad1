import { z } from 'zod';
import { apiComponent } from './api-components';
import { CountsOutput, HistOutput, Record as RecordSchema, StacksOutput } from './outputs';

/**
 * What the results endpoints answer beyond the raw outputs: percentiles, top-N tables, heaviest
 * functions. Zod schemas, so that the OpenAPI document and the response checks come from them; the
 * math that fills them in is libs/results, whose functions return these types.
 */

/** The [low, high) range of one histogram bucket. */
export const BucketBounds = z.object({ low: z.number(), high: z.number() });
export type BucketBounds = z.infer<typeof BucketBounds>;

/** Where a percentile falls: exactly the bucket holding its rank, and an estimate inside it. */
export const Percentile = BucketBounds.extend({
  /**
   * An estimate, not a measurement: the histogram only knows the bucket. Its values are taken as
   * spread evenly over [low, high), each at the middle of its own equal slice.
   */
  estimate: z.number(),
});
export type Percentile = z.infer<typeof Percentile>;
apiComponent('Percentile', Percentile);

export const HistStats = z.object({
  count: z.number(),
  /** null when the histogram is empty, as are the others. */
  p50: Percentile.nullable(),
  p90: Percentile.nullable(),
  p99: Percentile.nullable(),
  /** The highest non-empty bucket. */
  max: Percentile.nullable(),
});
export type HistStats = z.infer<typeof HistStats>;

/** A histogram with its percentiles; a host's also says whether its p99 is far above the fleet's. */
export const HistView = HistOutput.extend({
  stats: HistStats,
  /** Per host only: its p99 bucket is at least 4× the fleet's (see libs/results histOutliers). */
  outlier: z.boolean().optional(),
});
export type HistView = z.infer<typeof HistView>;
apiComponent('HistView', HistView);

export const CountsTopRow = z.object({
  key: RecordSchema,
  value: z.number(),
  /** Each host's value for this key (merged view only); a host without the key is left out. */
  byHost: z.record(z.string(), z.number()).optional(),
});
export type CountsTopRow = z.infer<typeof CountsTopRow>;

/** The top entries of a counts output, the rest summed as `other`. */
export const CountsView = CountsOutput.omit({ entries: true }).extend({
  /** Sum over every entry the filter kept, listed or not. */
  total: z.number(),
  entries: z.array(CountsTopRow),
  /** Everything past the top: its summed value and how many keys it holds. */
  other: z.object({ value: z.number(), keys: z.number() }),
});
export type CountsView = z.infer<typeof CountsView>;
apiComponent('CountsView', CountsView);

export const FunctionWeight = z.object({
  /** The frame as folded, kernel frames with their `_[k]` suffix. */
  name: z.string(),
  value: z.number(),
  /** value as a percentage of the output's total. */
  percent: z.number(),
});
export type FunctionWeight = z.infer<typeof FunctionWeight>;

export const TopFunctions = z.object({
  total: z.number(),
  /** The value of the stacks a function is the leaf of. */
  bySelf: z.array(FunctionWeight),
  /** The value of the stacks a function is anywhere in, once per stack. */
  byTotal: z.array(FunctionWeight),
});
export type TopFunctions = z.infer<typeof TopFunctions>;

/** A stacks output with its heaviest functions (merged view); `entries` are its folded stacks. */
export const StacksView = StacksOutput.extend({ topFunctions: TopFunctions.optional() });
export type StacksView = z.infer<typeof StacksView>;
apiComponent('StacksView', StacksView);

/** Why a job's runs that did not succeed ended, equal causes grouped. */
export const FailureCause = z.object({
  state: z.string(),
  /** The error, with the host's own id and name replaced by `<host>`. */
  cause: z.string(),
  count: z.number(),
  kernels: z.array(z.string()),
  hosts: z.array(z.string()),
  /** One line: "3 failed: verifier rejected … (kernel 6.1.0-13-amd64 ×3)". */
  message: z.string(),
});
export type FailureCause = z.infer<typeof FailureCause>;

export const JobSummary = z.object({
  hosts: z.number(),
  byState: z.record(z.string(), z.number()),
  causes: z.array(FailureCause),
});
export type JobSummary = z.infer<typeof JobSummary>;
apiComponent('JobSummary', JobSummary);
