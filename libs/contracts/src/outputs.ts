import { z } from 'zod';

/** A scalar as it leaves a BPF map or record: numbers past 2^53 travel as decimal strings. */
export const FieldValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);
export type FieldValue = z.infer<typeof FieldValue>;

export const Record = z.record(z.string(), FieldValue);
export type EventRecord = z.infer<typeof Record>;

/** One log2 bucket: values v with low <= v < high (low 0 covers 0 and 1 is [1,2)...). */
export const HistBucket = z.object({ low: z.number(), high: z.number(), count: z.number() });
export type HistBucket = z.infer<typeof HistBucket>;

export const HistOutput = z.object({
  kind: z.literal('hist'),
  name: z.string(),
  unit: z.string(),
  /** Only non-empty buckets are sent; merge is bucket-wise by [low, high). */
  buckets: z.array(HistBucket),
});
export type HistOutput = z.infer<typeof HistOutput>;

export const CountEntry = z.object({ key: Record, value: z.number() });
export type CountEntry = z.infer<typeof CountEntry>;

export const CountsOutput = z.object({
  kind: z.literal('counts'),
  name: z.string(),
  unit: z.string(),
  keyFields: z.array(z.string()),
  entries: z.array(CountEntry),
  /** Entries beyond the run's maxEntriesPerOutput (the smallest), counted but not kept; absent when none were. */
  dropped: z.number().optional(),
});
export type CountsOutput = z.infer<typeof CountsOutput>;

/**
 * One folded stack and what it weighs: frames outermost first, `;`-joined, as flamegraph.pl and
 * speedscope read them ("comm;main;work;schedule_[k]": the root is the process name, kernel frames
 * carry the suffix `_[k]`, a frame no symbol names is `[unknown]`).
 */
export const StackEntry = z.object({ stack: z.string().min(1), value: z.number() });
export type StackEntry = z.infer<typeof StackEntry>;

export const StacksOutput = z.object({
  kind: z.literal('stacks'),
  name: z.string(),
  unit: z.string(),
  /** One entry per distinct folded stack, largest first; merge sums equal stacks. */
  entries: z.array(StackEntry),
  /** Value of the entries holding a frame no symbol names: the process exited before its mappings were read, JIT code, stripped code. */
  unsymbolized: z.number(),
  /** Value whose stack the kernel could not keep (stack map full or a hash collision): shown as a `[lost]` frame. */
  lost: z.number(),
  /** Stacks beyond the run's maxEntriesPerOutput (the lightest), counted but not kept; absent when none were. */
  dropped: z.number().optional(),
});
export type StacksOutput = z.infer<typeof StacksOutput>;

/** Aggregated outputs arrive whole in the run summary; events stream in batches. */
export const AggregateOutput = z.discriminatedUnion('kind', [HistOutput, CountsOutput, StacksOutput]);
export type AggregateOutput = z.infer<typeof AggregateOutput>;

export const EventsSummary = z.object({
  kind: z.literal('events'),
  name: z.string(),
  /** Records received from the kernel, kept plus dropped. */
  received: z.number(),
  /** Records beyond the run's cap, counted but not stored. */
  dropped: z.number(),
});
export type EventsSummary = z.infer<typeof EventsSummary>;
