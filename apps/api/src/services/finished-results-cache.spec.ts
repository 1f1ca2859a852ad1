import { describe, expect, it } from 'vitest';
import { FinishedResultsCache } from './finished-results-cache';

describe('FinishedResultsCache', () => {
  const counted = (body: string) => {
    let calls = 0;
    return { compute: async () => (calls++, body), calls: () => calls };
  };

  it('computes once per key and version, and again when the version moves', async () => {
    const cache = new FinishedResultsCache({ maxBytes: 1000, maxEntryBytes: 100 });
    const a = counted('{"a":1}');
    expect(await cache.get('job', '0', a.compute)).toBe('{"a":1}');
    expect(await cache.get('job', '0', a.compute)).toBe('{"a":1}');
    expect(a.calls()).toBe(1);
    const b = counted('{"a":2}');
    expect(await cache.get('job', '1', b.compute)).toBe('{"a":2}');
    expect(b.calls()).toBe(1);
    expect(cache.size()).toEqual({ entries: 1, bytes: 7 });
  });

  it('shares one computation among concurrent readers', async () => {
    const cache = new FinishedResultsCache({ maxBytes: 1000, maxEntryBytes: 100 });
    let release!: (body: string) => void;
    let calls = 0;
    const compute = () => (calls++, new Promise<string>((resolve) => (release = resolve)));
    const readers = [cache.get('k', 'v', compute), cache.get('k', 'v', compute), cache.get('k', 'v', compute)];
    release('body');
    expect(await Promise.all(readers)).toEqual(['body', 'body', 'body']);
    expect(calls).toBe(1);
  });

  it('keeps no failed computation and no body over the entry bound', async () => {
    const cache = new FinishedResultsCache({ maxBytes: 1000, maxEntryBytes: 4 });
    await expect(cache.get('k', 'v', async () => Promise.reject(new Error('database gone')))).rejects.toThrow('database gone');
    const ok = counted('ok');
    await cache.get('k', 'v', ok.compute);
    await cache.get('k', 'v', ok.compute);
    expect(ok.calls()).toBe(1);
    const big = counted('too large');
    await cache.get('big', 'v', big.compute);
    await cache.get('big', 'v', big.compute);
    expect(big.calls()).toBe(2);
    expect(cache.size()).toEqual({ entries: 1, bytes: 2 });
  });

  it('drops the least recently used bodies past the byte bound', async () => {
    const cache = new FinishedResultsCache({ maxBytes: 10, maxEntryBytes: 10 });
    const bodies = { a: counted('aaaa'), b: counted('bbbb'), c: counted('cccc') };
    await cache.get('a', 'v', bodies.a.compute);
    await cache.get('b', 'v', bodies.b.compute);
    await cache.get('a', 'v', bodies.a.compute); // a is now the most recent
    await cache.get('c', 'v', bodies.c.compute); // 12 bytes: b goes
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.size()).toEqual({ entries: 2, bytes: 8 });
    await cache.get('a', 'v', bodies.a.compute);
    await cache.get('b', 'v', bodies.b.compute);
    expect([bodies.a.calls(), bodies.b.calls(), bodies.c.calls()]).toEqual([1, 2, 1]);
  });
});
