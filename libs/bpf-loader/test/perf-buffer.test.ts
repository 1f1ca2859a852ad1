// The perf-buffer fallback behind ringBuffer(): forced here with eventTransport 'perfbuf' (this
// kernel has BPF ring buffers; kernels before 5.8 take this path on 'auto').
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, NotSupportedError, openObject, type RingBufferConsumer, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();

let generator: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await generator?.kill();
  await obj?.close();
  generator = obj = undefined;
});

interface Event {
  pid: number;
  seq: number;
  value: bigint;
  length: number;
}

async function run(transport: 'ringbuf' | 'perfbuf', calls: number, perfBufferPages?: number) {
  generator = spawnGated(workloadPath(), ['getppid', String(calls)], { cpu: 0 });
  const spec = openObject(fixturePath('perfbuf'));
  spec.setGlobal('target_tgid', u32(generator.pid));
  obj = spec.load({ eventTransport: transport });
  kernel.track(obj);
  obj.attachAll();
  const events: Event[] = [];
  const consumer: RingBufferConsumer = obj.ringBuffer(
    'events',
    (batch) => batch.forEach((buf, off, length) => events.push({ pid: buf.readUInt32LE(off), seq: buf.readUInt32LE(off + 4), value: buf.readBigUInt64LE(off + 8), length })),
    perfBufferPages ? { perfBufferPages } : {},
  );
  generator.release();
  await generator.exited;
  await consumer.stop();
  return { events, stats: consumer.stats, pid: generator.pid, transport: obj.eventTransport };
}

describe('perf-buffer fallback', () => {
  for (const transport of ['ringbuf', 'perfbuf'] as const) {
    it(`delivers every record in batches through ringBuffer() (${transport})`, async () => {
      const calls = 5000;
      const { events, stats, pid, transport: used } = await run(transport, calls);
      expect(used).toBe(transport);
      expect(stats.records).toBe(calls);
      expect(stats.lost).toBe(0);
      expect(stats.batches).toBeLessThan(calls / 10);
      // One CPU (the generator is pinned): perf-buffer order is the submission order too.
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: calls }, (_, i) => i));
      expect(events.every((e) => e.pid === pid && e.value === BigInt(e.seq) * 1000003n)).toBe(true);
      // Perf samples are padded so that size + 4 is a multiple of 8.
      expect(new Set(events.map((e) => e.length))).toEqual(new Set([transport === 'ringbuf' ? 16 : 20]));
    });
  }

  it('counts what a full perf buffer drops', async () => {
    const calls = 200_000;
    const { stats } = await run('perfbuf', calls, 1);
    expect(stats.lost).toBeGreaterThan(0);
    // The kernel reports drops in the next record it manages to write: those of the last drain
    // interval (after the final write) stay unreported.
    expect(stats.records + stats.lost).toBeLessThanOrEqual(calls);
    expect(stats.records + stats.lost).toBeGreaterThan(calls * 0.97);
  });

  it('needs the fallback in the object', () => {
    expect(() => openObject(fixturePath('burst')).load({ eventTransport: 'perfbuf' })).toThrow(NotSupportedError);
    expect(() => openObject(fixturePath('burst')).load({ eventTransport: 'perfbuf' })).toThrow(/perf-buffer fallback is not supported: object 'burst' has no/);
  });
});
