// Reading a BPF_MAP_TYPE_STACK_TRACE map: stack id → instruction pointers, innermost first (as
// bpf_get_stackid stored them; unused slots are zero).
import type { MapHandle } from '../map-handle';

export type StackTraces = ReadonlyMap<number, readonly bigint[]>;

export function readStackTraces(map: MapHandle): Map<number, bigint[]> {
  if (map.spec.type !== 'stack_trace') throw new TypeError(`map '${map.name}' is a ${map.spec.type}, not a stack_trace map`);
  const traces = new Map<number, bigint[]>();
  for (const [key, value] of map.entries()) traces.set(key.readUInt32LE(0), instructionPointers(value));
  return traces;
}

/** One stack by id, or undefined when the id has no stack (bpf_get_stackid failed, or was evicted). */
export function readStackTrace(map: MapHandle, stackId: number): bigint[] | undefined {
  if (stackId < 0) return undefined;
  const value = map.lookup(stackId);
  return value && instructionPointers(value);
}

function instructionPointers(value: Buffer): bigint[] {
  const ips: bigint[] = [];
  for (let off = 0; off + 8 <= value.length; off += 8) {
    const ip = value.readBigUInt64LE(off);
    if (ip === 0n) break;
    ips.push(ip);
  }
  return ips;
}
