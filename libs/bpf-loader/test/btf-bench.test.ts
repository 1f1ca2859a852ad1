// Micro-bench, reported not asserted: the BTF-generated decoder against libs/programs' hand-declared
// layout decoder on the same bytes (struct ft_flat_event, which both can describe).
import { createRecordDecoder, type RecordLayout } from '@fleettrace/programs';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { openObject } from '../src/index';
import { fixturePath } from '../src/testing/index';

const RECORDS = 200_000;
const ROUNDS = 7;

const FLAT_LAYOUT: RecordLayout = {
  size: 56,
  fields: [
    { name: 'seq', offset: 0, type: 'u64' },
    { name: 'tgid', offset: 8, type: 'u32' },
    { name: 'state', offset: 12, type: 'u32' },
    { name: 'comm', offset: 16, type: { char: 16 } },
    { name: 'big', offset: 32, type: 'u64' },
    { name: 'negative', offset: 40, type: 's64' },
    { name: 'small', offset: 48, type: { array: 'u16', length: 2 } },
    { name: '_pad', offset: 52, type: 'u32' },
  ],
};

function flatRecords(size: number): Buffer {
  const buf = Buffer.alloc(RECORDS * size);
  for (let i = 0; i < RECORDS; i++) {
    const o = i * size;
    buf.writeBigUInt64LE(BigInt(i), o);
    buf.writeUInt32LE(4000 + (i % 50), o + 8);
    buf.writeUInt32LE(i % 3, o + 12);
    buf.write(i % 2 ? 'workload' : 'node-daemon', o + 16);
    buf.writeBigUInt64LE(i % 10 ? 123456789n : 0xfffffffffffffff0n, o + 32);
    buf.writeBigInt64LE(BigInt(-i), o + 40);
    buf.writeUInt16LE(i & 0xffff, o + 48);
  }
  return buf;
}

/** Best-of-ROUNDS nanoseconds per record. */
function measure(decode: (buf: Buffer, offset: number) => unknown, buf: Buffer, size: number): number {
  let sink = 0;
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let o = 0; o < buf.length; o += size) if (decode(buf, o)) sink++;
    best = Math.min(best, performance.now() - start);
  }
  expect(sink).toBe(ROUNDS * RECORDS);
  return (best * 1e6) / RECORDS;
}

describe('BTF decoder speed', () => {
  it('is reported against the layout decoder of libs/programs', () => {
    const btf = openObject(fixturePath('btf_types')).btf;
    const btfFlat = btf.decoderFor('struct ft_flat_event');
    const layoutFlat = createRecordDecoder(FLAT_LAYOUT);
    const flat = flatRecords(56);

    // Same bytes, same values (the layout decoder flattens arrays into name[i] fields).
    for (const o of [0, 56 * 9, 56 * 10]) {
      const ours = btfFlat(flat, o) as Record<string, unknown> & { small: number[] };
      const theirs = layoutFlat(flat, o);
      const { small, ...scalars } = ours;
      expect({ ...scalars, 'small[0]': small[0], 'small[1]': small[1] }).toEqual(theirs);
    }

    const nested = btf.decoderFor('struct ft_record');
    const records = Buffer.alloc(RECORDS * 256);
    const btfNs = measure(btfFlat, flat, 56);
    const layoutNs = measure(layoutFlat, flat, 56);
    const nestedNs = measure(nested, records, 256);
    console.log(
      `[btf-bench] ${RECORDS} records, best of ${ROUNDS}:\n` +
        `  struct ft_flat_event (56 B, 8 fields):  BTF decoder ${btfNs.toFixed(1)} ns/record, ` +
        `libs/programs layout decoder ${layoutNs.toFixed(1)} ns/record (${(layoutNs / btfNs).toFixed(2)}x)\n` +
        `  struct ft_record (256 B, nested struct/union/arrays/bitfields, 60 values): BTF decoder ${nestedNs.toFixed(1)} ns/record`,
    );
  });
});
