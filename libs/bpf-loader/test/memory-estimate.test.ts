import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BpfError, estimateMapBytes, estimateObjectMemory, MapMemoryLimitError, openObject } from '../src/index';
import { bpfObjectsHeldBy, fixturePath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const MiB = 1024 * 1024;

describe('map memory estimate (from definitions)', () => {
  it.each([
    // hash: (4096 + 2 CPUs) × (48 + 8 + 8) + 4096 buckets × 16, in pages
    [{ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4096 }, 2, 331_776],
    // per-CPU values count once per CPU: 1000 × (8 + 64 × 4), in pages
    [{ type: 'percpu_array', keySize: 4, valueSize: 60, maxEntries: 1000 }, 4, 266_240],
    // ring buffer: data + 2 control pages + the double mapping's page pointers (262144 + 8192 + 1056), in pages
    [{ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 256 * 1024 }, 2, 274_432],
    // small maps: kmalloc'ed, a header instead of page rounding
    [{ type: 'array', keySize: 4, valueSize: 12, maxEntries: 2 }, 2, 32 + 320],
    // data sections: mmap-able, value in pages plus a header page
    [{ type: 'array', keySize: 4, valueSize: 100, maxEntries: 1, internal: true, name: '.bss' }, 2, 8192],
  ])('%j on %d CPUs ≈ %d bytes', (map, cpus, bytes) => {
    expect(estimateMapBytes(map, cpus)).toBe(bytes);
  });

  it('sums an object, largest map first', () => {
    const estimate = estimateObjectMemory(
      [
        { name: 'small', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 },
        { name: 'big', type: 'hash', keySize: 8, valueSize: 64, maxEntries: 100_000 },
      ],
      2,
    );
    expect(estimate.maps.map((m) => m.map)).toEqual(['big', 'small']);
    expect(estimate.totalBytes).toBe(estimate.maps[0]!.bytes + estimate.maps[1]!.bytes);
  });

  it('names the largest map and the numbers when over the limit', () => {
    const estimate = estimateObjectMemory([{ name: 'big', type: 'percpu_hash', keySize: 8, valueSize: 64, maxEntries: 100_000 }], 4);
    const error = new MapMemoryLimitError('tool', MiB, estimate);
    expect(error.message).toBe(
      `maps of 'tool' need an estimated 32.5 MiB (${estimate.totalBytes} bytes), over the run's map-memory limit of 1.0 MiB (1048576 bytes); ` +
        `largest map 'big' (percpu_hash, 100000 entries, key 8 B, value 64 B, × 4 CPUs) ≈ 32.5 MiB`,
    );
  });
});

describe('map memory limit (real kernel)', () => {
  it("matches the kernel's own accounting (bpftool bytes_memlock) within 5 % per object", async () => {
    for (const name of ['counts', 'burst', 'stacks', 'btf_types']) {
      const spec = openObject(fixturePath(name));
      const estimate = spec.estimateMapMemory();
      const obj = spec.load();
      kernel.track(obj);
      let actual = 0;
      for (const id of bpfObjectsHeldBy('self').maps) {
        actual += JSON.parse(execFileSync('bpftool', ['map', 'show', 'id', String(id), '-j'], { encoding: 'utf8' })).bytes_memlock;
      }
      await obj.close();
      expect(Math.abs(estimate.totalBytes - actual) / actual, `${name}: estimate ${estimate.totalBytes}, kernel ${actual}`).toBeLessThan(0.05);
    }
  });

  it('refuses an object over the limit before anything reaches the kernel, and honours maxEntries overrides', async () => {
    // The kernel refuses the oversized fixture (EINVAL, nothing allocated): a MapMemoryLimitError
    // instead shows
    // the limit was checked before the object was handed to the kernel.
    const oversized = openObject(fixturePath('oversized'));
    expect(() => oversized.load()).toThrow(BpfError);
    expect(() => oversized.load({ mapMemoryLimitBytes: MiB })).toThrow(MapMemoryLimitError);
    expect(() => oversized.load({ mapMemoryLimitBytes: MiB })).toThrow(/largest map 'huge' \(percpu_array, 1 entries, key 4 B, value 1048576 B, × \d+ CPUs\) ≈ \d+\.0 MiB/);

    const spec = openObject(fixturePath('burst')); // a 16 MiB ring buffer
    expect(() => spec.load({ mapMemoryLimitBytes: 4 * MiB })).toThrow(/largest map 'events' \(ringbuf, 16777216 entries/);
    expect(bpfObjectsHeldBy('self').maps).toEqual([]);

    // A smaller ring buffer for the run fits the same limit.
    const obj = spec.load({ mapMemoryLimitBytes: 4 * MiB, maxEntries: { events: 1 * MiB } });
    kernel.track(obj);
    expect(obj.programInfo().length).toBe(1);
    await obj.close();
  });
});
