import { describe, expect, it } from 'vitest';
import { storeIsolatingRejected } from './isolate-rejected';

class Rejected extends Error {}

/** A store that refuses any batch holding a bad item, all-or-nothing, and counts its calls. */
function fakeStore(bad: (item: number) => boolean, options: { outageOnCall?: number } = {}) {
  const stored: number[] = [];
  const setAside: Array<{ item: number; error: unknown }> = [];
  let calls = 0;
  const run = (items: readonly number[]) =>
    storeIsolatingRejected(items, {
      store: async (batch) => {
        calls++;
        if (calls === options.outageOnCall) throw new Error('connect ECONNREFUSED');
        if (batch.some(bad)) throw new Rejected(`refused ${batch.filter(bad).join(',')}`);
        stored.push(...batch);
      },
      isRejection: (error) => error instanceof Rejected,
      rejected: async (item, error) => void setAside.push({ item, error }),
    });
  return { run, stored, setAside, calls: () => calls };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('storeIsolatingRejected', () => {
  it('stores a batch the store accepts in one call', async () => {
    const store = fakeStore(() => false);
    await store.run(range(500));
    expect(store.stored).toEqual(range(500));
    expect(store.calls()).toBe(1);
  });

  it('finds one bad item among 512 in about 2·log2(n) calls, storing the others in order', async () => {
    const store = fakeStore((i) => i === 300);
    await store.run(range(512));
    expect(store.stored).toEqual(range(512).filter((i) => i !== 300));
    expect(store.setAside.map((s) => s.item)).toEqual([300]);
    expect((store.setAside[0]!.error as Error).message).toBe('refused 300');
    expect(store.calls()).toBeLessThanOrEqual(1 + 2 * 9);
  });

  it('sets aside every bad item, adjacent or far apart, and only those', async () => {
    const bad = new Set([0, 1, 7, 63]);
    const store = fakeStore((i) => bad.has(i));
    await store.run(range(64));
    expect(store.setAside.map((s) => s.item)).toEqual([0, 1, 7, 63]);
    expect(store.stored).toEqual(range(64).filter((i) => !bad.has(i)));
  });

  it('gives a lone item a second try before setting it aside, so a rejection that was a race passes', async () => {
    let tries = 0;
    const stored: string[] = [];
    const setAside: string[] = [];
    await storeIsolatingRejected(['a'], {
      store: async (batch) => {
        if (++tries === 1) throw new Rejected('duplicate key');
        stored.push(...batch);
      },
      isRejection: (error) => error instanceof Rejected,
      rejected: async (item) => void setAside.push(item),
    });
    expect({ tries, stored, setAside }).toEqual({ tries: 2, stored: ['a'], setAside: [] });

    const always = fakeStore(() => true);
    await always.run([1]);
    expect(always.calls()).toBe(2);
    expect(always.setAside.map((s) => s.item)).toEqual([1]);
  });

  it('ends at once on any other failure, setting nothing aside on its account', async () => {
    const store = fakeStore((i) => i === 5, { outageOnCall: 2 });
    await expect(store.run(range(16))).rejects.toThrow('connect ECONNREFUSED');
    expect(store.setAside).toEqual([]);
    expect(store.stored).toEqual([]);
    expect(store.calls()).toBe(2);
  });
});
