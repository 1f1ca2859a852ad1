import type { AggregateOutput, CountEntry, CountsOutput, EventRecord, HistBucket, HistOutput, StacksOutput } from '@fleettrace/contracts';

/** An event record with the time it is ordered by, and the host it came from already set on it. */
export interface TimedRecord {
  ts: bigint;
  host: string;
  record: EventRecord;
}

export interface TimedEventsOutput {
  kind: 'events';
  name: string;
  received: number;
  dropped: number;
  records: TimedRecord[];
}

export type MergeableOutput = AggregateOutput | TimedEventsOutput;

/** Bucket-wise sum: buckets are the same [low, high) range on every host, so counts simply add. */
export function mergeHist(outputs: readonly HistOutput[]): HistOutput {
  const buckets = new Map<string, HistBucket>();
  for (const output of outputs) {
    for (const bucket of output.buckets) {
      const key = `${bucket.low}:${bucket.high}`;
      const seen = buckets.get(key);
      buckets.set(key, seen ? { ...seen, count: seen.count + bucket.count } : { ...bucket });
    }
  }
  return {
    kind: 'hist',
    name: outputs[0].name,
    unit: outputs[0].unit,
    buckets: [...buckets.values()].sort((a, b) => a.low - b.low || a.high - b.high),
  };
}

/** Key objects compare by content: the same fields in any order are the same key. */
export function countKey(key: EventRecord): string {
  return JSON.stringify(Object.keys(key).sort().map((field) => [field, key[field]]));
}

/**
 * Largest first, ties in key order, so an answer does not depend on host order. Each key is made
 * once, not once per comparison.
 */
export function sortCountEntries<T extends CountEntry>(entries: Iterable<T>): T[] {
  return [...entries]
    .map((entry): [string, T] => [countKey(entry.key), entry])
    .sort(([ka, a], [kb, b]) => b.value - a.value || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, entry]) => entry);
}

/** Sum per key, largest first; ties in key order so the answer does not depend on host order. */
export function mergeCounts(outputs: readonly CountsOutput[]): CountsOutput {
  const entries = new Map<string, CountEntry>();
  for (const output of outputs) {
    for (const entry of output.entries) {
      const key = countKey(entry.key);
      const seen = entries.get(key);
      entries.set(key, seen ? { key: seen.key, value: seen.value + entry.value } : { key: entry.key, value: entry.value });
    }
  }
  const dropped = droppedOf(outputs);
  return {
    kind: 'counts',
    name: outputs[0].name,
    unit: outputs[0].unit,
    keyFields: outputs[0].keyFields,
    entries: sortCountEntries(entries.values()),
    ...(dropped > 0 ? { dropped } : {}),
  };
}

/** Entries the hosts dropped past their cap, added up: each host dropped its own smallest. */
function droppedOf(outputs: readonly { dropped?: number }[]): number {
  return outputs.reduce((sum, o) => sum + (o.dropped ?? 0), 0);
}

/**
 * Sum per folded stack: hosts fold alike (names, not addresses), so the same code path on two hosts
 * is one stack. Largest first, ties in stack order, as each host sends them.
 */
export function mergeStacks(outputs: readonly StacksOutput[]): StacksOutput {
  const totals = new Map<string, number>();
  for (const output of outputs) {
    for (const { stack, value } of output.entries) totals.set(stack, (totals.get(stack) ?? 0) + value);
  }
  const entries = [...totals]
    .sort(([sa, a], [sb, b]) => b - a || (sa < sb ? -1 : sa > sb ? 1 : 0))
    .map(([stack, value]) => ({ stack, value }));
  return {
    kind: 'stacks',
    name: outputs[0].name,
    unit: outputs[0].unit,
    entries,
    unsymbolized: outputs.reduce((sum, o) => sum + o.unsymbolized, 0),
    lost: outputs.reduce((sum, o) => sum + o.lost, 0),
    ...(droppedOf(outputs) > 0 ? { dropped: droppedOf(outputs) } : {}),
  };
}

export function compareTimed(a: TimedRecord, b: TimedRecord): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.host < b.host ? -1 : a.host > b.host ? 1 : 0;
}

/** All hosts' records ordered by time (host id breaks ties), the first `limit` kept; counts add up. */
export function mergeEvents(outputs: readonly TimedEventsOutput[], limit: number): TimedEventsOutput {
  // Array.prototype.sort is stable: records of one host with equal times keep their arrival order.
  const records = outputs.flatMap((o) => o.records).sort(compareTimed).slice(0, limit);
  return {
    kind: 'events',
    name: outputs[0].name,
    received: outputs.reduce((sum, o) => sum + o.received, 0),
    dropped: outputs.reduce((sum, o) => sum + o.dropped, 0),
    records,
  };
}

/**
 * Merges the outputs of every host, output by output (same name and kind), in name order.
 * A host that returned nothing simply contributes nothing.
 */
export function mergeOutputs(perHost: ReadonlyArray<readonly MergeableOutput[]>, eventsLimit: number): MergeableOutput[] {
  const groups = new Map<string, MergeableOutput[]>();
  for (const outputs of perHost) {
    for (const output of outputs) {
      const key = `${output.kind}\u0000${output.name}`;
      groups.set(key, [...(groups.get(key) ?? []), output]);
    }
  }
  return [...groups.values()]
    .sort((a, b) => (a[0].name < b[0].name ? -1 : a[0].name > b[0].name ? 1 : a[0].kind < b[0].kind ? -1 : 1))
    .map((group) => {
      switch (group[0].kind) {
        case 'hist':
          return mergeHist(group as HistOutput[]);
        case 'counts':
          return mergeCounts(group as CountsOutput[]);
        case 'stacks':
          return mergeStacks(group as StacksOutput[]);
        case 'events':
          return mergeEvents(group as TimedEventsOutput[], eventsLimit);
      }
    });
}
