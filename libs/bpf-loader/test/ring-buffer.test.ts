import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, openObject, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const EVENTS = 1_000_000;
// struct burst_event (test/fixtures/burst.h): u32 tgid, u32 tid, u64 seq
const RECORD_SIZE = 16;

let generator: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await generator?.kill();
  await obj?.close().catch(() => undefined);
  generator = obj = undefined;
});

/** Loads the burst fixture filtered on a gated generator of `count` getppid calls, attached. */
function burst(count: number): { generator: GatedProcess; obj: LoadedObject } {
  generator = spawnGated(workloadPath(), ['getppid', String(count)]);
  const spec = openObject(fixturePath('burst'));
  spec.setGlobal('target_tgid', u32(generator.pid));
  obj = spec.load();
  kernel.track(obj);
  obj.attachAll();
  return { generator, obj };
}

describe('ring buffer consumer', () => {
  it(`receives a burst of ${EVENTS} records, all decoded, none lost`, async () => {
    const { generator, obj } = burst(EVENTS);
    let foreign = 0;
    let badSize = 0;
    let lastSeq = -1n;
    let outOfOrder = 0;
    let ours = 0;
    const consumer = obj.ringBuffer('events', (batch) => {
      batch.forEach((buf, off, len) => {
        if (len !== RECORD_SIZE) badSize++;
        if (buf.readUInt32LE(off) === generator.pid) ours++;
        else foreign++;
        const seq = buf.readBigUInt64LE(off + 8);
        if (seq !== lastSeq + 1n) outOfOrder++;
        lastSeq = seq;
      });
    });

    generator.release();
    expect(await generator.exited).toEqual({ code: 0, signal: null });
    await consumer.stop();

    const submitted = obj.readGlobal('submitted').readBigUInt64LE();
    const reserveFailed = obj.readGlobal('reserve_failed').readBigUInt64LE();
    expect({ ours, foreign, badSize, outOfOrder }).toEqual({ ours: EVENTS, foreign: 0, badSize: 0, outOfOrder: 0 });
    expect(reserveFailed).toBe(0n);
    expect(submitted).toBe(BigInt(EVENTS));
    expect(consumer.stats.records).toBe(EVENTS);
    expect(consumer.stats.bytes).toBe(EVENTS * RECORD_SIZE);
    // Batched: far fewer JS calls than records.
    expect(consumer.stats.batches).toBeGreaterThan(0);
    expect(consumer.stats.batches).toBeLessThan(EVENTS / 100);
    await obj.close();
  });

  it('iterates records as Buffers too', async () => {
    const { generator, obj } = burst(1000);
    const pids = new Set<number>();
    let records = 0;
    const consumer = obj.ringBuffer('events', (batch) => {
      for (const record of batch) {
        records++;
        pids.add(record.readUInt32LE(0));
      }
    });
    generator.release();
    await generator.exited;
    await obj.close();
    expect(records).toBe(1000);
    expect([...pids]).toEqual([generator.pid]);
    expect(consumer.stopped).toBe(true);
  });

  it('surfaces an exception thrown by onBatch: onError, then stop() and close() reject with it', async () => {
    const { generator, obj } = burst(1000);
    const boom = new Error('decoder exploded');
    const seen: unknown[] = [];
    let calls = 0;
    const consumer = obj.ringBuffer(
      'events',
      () => {
        calls++;
        throw boom;
      },
      { onError: (err) => seen.push(err) },
    );
    generator.release();
    await generator.exited;
    await expect(obj.close()).rejects.toBe(boom);
    await expect(obj.close()).rejects.toBe(boom); // idempotent: same outcome
    await expect(consumer.stop()).rejects.toBe(boom);
    expect(seen).toEqual([boom]);
    expect(calls).toBe(1); // the consumer stops at the first exception
    expect(consumer.error).toBe(boom);
  });

  it('validates its arguments before reaching native code', async () => {
    const { obj } = burst(1);
    expect(() => obj.ringBuffer('.bss', () => undefined)).toThrow("map '.bss' is a array, not a ringbuf");
    expect(() => obj.ringBuffer('nope', () => undefined)).toThrow(/map 'nope' not found/);
    expect(() => obj.ringBuffer('events', 'x' as never)).toThrow(TypeError);
    expect(() => obj.ringBuffer('events', () => undefined, { intervalMs: 0 })).toThrow(RangeError);
    const first = obj.ringBuffer('events', () => undefined);
    expect(() => obj.ringBuffer('events', () => undefined)).toThrow("ring buffer 'events' already has a running consumer");
    await first.stop();
    expect(() => obj.ringBuffer('events', () => undefined)).not.toThrow();
  });
});
