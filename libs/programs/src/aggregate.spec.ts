import { describe, expect, it } from 'vitest';
import { countsFromEntries, histFromEntries, histFromSlots, sumU64s } from './aggregate';
import type { CountsOutputSpec, HistOutputSpec } from './manifest';

const HIST: HistOutputSpec = { kind: 'hist', name: 'latency', unit: 'us', map: 'hist' };

function u64s(...values: bigint[]): Buffer {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => buf.writeBigUInt64LE(value, i * 8));
  return buf;
}

function u32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value);
  return buf;
}

describe('histFromSlots', () => {
  it('maps slot i to [2^i, 2^(i+1)) and slot 0 to [0, 2), leaving empty slots out', () => {
    expect(histFromSlots(HIST, [3n, 0n, 5n, 0n, 1n])).toEqual({
      kind: 'hist',
      name: 'latency',
      unit: 'us',
      buckets: [
        { low: 0, high: 2, count: 3 },
        { low: 4, high: 8, count: 5 },
        { low: 16, high: 32, count: 1 },
      ],
    });
  });

  it('takes a sparse map in any order', () => {
    const slots = new Map([[10, 2n], [1, 7n], [63, 1n]]);
    expect(histFromSlots(HIST, slots).buckets).toEqual([
      { low: 2, high: 4, count: 7 },
      { low: 1024, high: 2048, count: 2 },
      { low: 2 ** 63, high: 2 ** 64, count: 1 },
    ]);
  });

  it('is empty when nothing was counted', () => {
    expect(histFromSlots(HIST, [0n, 0n]).buckets).toEqual([]);
  });
});

describe('histFromEntries', () => {
  it('reads u32 slot keys and sums per-CPU values', () => {
    const entries: Array<[Buffer, Buffer]> = [
      [u32(0), u64s(1n)],
      [u32(3), u64s(2n, 3n, 0n, 4n)],
      [u32(4), u64s(0n)],
    ];
    expect(histFromEntries(HIST, entries).buckets).toEqual([
      { low: 0, high: 2, count: 1 },
      { low: 8, high: 16, count: 9 },
    ]);
  });
});

describe('sumU64s', () => {
  it('rejects a value that is not whole u64s', () => {
    expect(() => sumU64s(Buffer.alloc(12))).toThrow('a counter value is a whole number of u64s, got 12 bytes');
  });
});

describe('countsFromEntries', () => {
  const PROCESSES: CountsOutputSpec = {
    kind: 'counts',
    name: 'processes',
    unit: 'calls',
    map: 'processes',
    keyLayout: {
      size: 20,
      fields: [
        { name: 'pid', offset: 0, type: 'u32' },
        { name: 'comm', offset: 4, type: { char: 16 } },
      ],
    },
    keyFields: ['pid', 'comm'],
  };

  function key(pid: number, comm: string): Buffer {
    const buf = Buffer.alloc(20);
    buf.writeUInt32LE(pid, 0);
    buf.write(comm, 4);
    return buf;
  }

  it('decodes keys, sums values and sorts largest first, leaving zeros out', () => {
    const out = countsFromEntries(PROCESSES, [
      [key(1, 'init'), u64s(5n)],
      [key(42, 'bash'), u64s(10n, 20n)],
      [key(7, 'idle'), u64s(0n)],
    ]);
    expect(out).toEqual({
      kind: 'counts',
      name: 'processes',
      unit: 'calls',
      keyFields: ['pid', 'comm'],
      entries: [
        { key: { pid: 42, comm: 'bash' }, value: 30 },
        { key: { pid: 1, comm: 'init' }, value: 5 },
      ],
    });
  });

  it('merges keys that are equal in the fields shown', () => {
    const byComm = { ...PROCESSES, keyFields: ['comm'] };
    const out = countsFromEntries(byComm, [
      [key(1, 'sh'), u64s(2n)],
      [key(2, 'sh'), u64s(3n)],
      [key(3, 'awk'), u64s(4n)],
    ]);
    expect(out.entries).toEqual([
      { key: { comm: 'sh' }, value: 5 },
      { key: { comm: 'awk' }, value: 4 },
    ]);
  });

  it('shows syscall numbers by name', () => {
    const syscalls: CountsOutputSpec = {
      kind: 'counts',
      name: 'syscalls',
      unit: 'calls',
      map: 'syscalls',
      keyLayout: { size: 4, fields: [{ name: 'syscall', offset: 0, type: 'u32', format: 'syscall' }] },
      keyFields: ['syscall'],
    };
    expect(countsFromEntries(syscalls, [[u32(140), u64s(3n)]]).entries).toEqual([{ key: { syscall: 'getpriority' }, value: 3 }]);
  });
});
