import type { CountEntry, CountsOutput, EventRecord, HistBucket, HistOutput } from '@fleettrace/contracts';
import { decoderFor } from './decode';
import type { CountsOutputSpec, HistOutputSpec } from './manifest';

/**
 * A map value of u64 counters summed: one u64 for a plain map, one per CPU (each 8 bytes) for a
 * per-CPU map, so either kind of map reads the same way.
 */
export function sumU64s(value: Buffer): bigint {
  if (value.length === 0 || value.length % 8 !== 0) {
    throw new RangeError(`a counter value is a whole number of u64s, got ${value.length} bytes`);
  }
  let sum = 0n;
  for (let at = 0; at < value.length; at += 8) sum += value.readBigUInt64LE(at);
  return sum;
}

/** Slot i of a log2 histogram: [2^i, 2^(i+1)), except slot 0, which also holds 0. */
export function log2Bucket(slot: number, count: number): HistBucket {
  return { low: slot === 0 ? 0 : 2 ** slot, high: 2 ** (slot + 1), count };
}

/** A histogram from its slot counts; empty slots are left out, as the wire format asks. */
export function histFromSlots(spec: HistOutputSpec, values: bigint[] | Map<number, bigint>): HistOutput {
  const slots = values instanceof Map ? [...values] : values.map((count, slot) => [slot, count] as const);
  const buckets = slots
    .filter(([, count]) => count > 0n)
    .sort(([a], [b]) => a - b)
    .map(([slot, count]) => log2Bucket(slot, Number(count)));
  return { kind: 'hist', name: spec.name, unit: spec.unit, buckets };
}

/** A histogram from the entries of its array map: u32 slot index keys, u64 (or per-CPU u64) values. */
export function histFromEntries(spec: HistOutputSpec, entries: Iterable<[Buffer, Buffer]>): HistOutput {
  const slots = new Map<number, bigint>();
  for (const [key, value] of entries) slots.set(key.readUInt32LE(0), sumU64s(value));
  return histFromSlots(spec, slots);
}

/**
 * Counts from a key → u64 map, largest first. Only spec.keyFields are kept from each key, and raw
 * keys that look the same once narrowed are summed into one entry. Zero counts are left out.
 */
export function countsFromEntries(spec: CountsOutputSpec, entries: Iterable<[Buffer, Buffer]>): CountsOutput {
  const decode = decoderFor(spec.keyLayout);
  const merged = new Map<string, { key: EventRecord; value: bigint }>();
  for (const [rawKey, rawValue] of entries) {
    const value = sumU64s(rawValue);
    if (value === 0n) continue;
    const decoded = decode(rawKey, 0);
    const key: EventRecord = {};
    for (const field of spec.keyFields) key[field] = decoded[field] ?? null;
    const id = JSON.stringify(spec.keyFields.map((field) => key[field]));
    const entry = merged.get(id);
    if (entry) entry.value += value;
    else merged.set(id, { key, value });
  }
  const counted: CountEntry[] = [...merged.values()]
    .sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0))
    .map(({ key, value }) => ({ key, value: Number(value) }));
  return { kind: 'counts', name: spec.name, unit: spec.unit, keyFields: spec.keyFields, entries: counted };
}
