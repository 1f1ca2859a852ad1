// The leak check every attach type gets: load → attach → close many times, then no program or
// link of those loads is left in the kernel, no BPF fd is held, and RSS grew by less than a bound.
import { expect } from 'vitest';
import type { Link, LoadedObject } from '../../src/index';
import { bpfObjectsHeldBy, linksOfPrograms, programExists } from '../../src/testing/index';

export const CYCLES = 100;
export const RSS_GROWTH_LIMIT = 20 * 1024 * 1024;

export async function expectNoLeaksOver(
  cycles: number,
  once: () => { obj: LoadedObject; link: Link },
): Promise<{ rssGrowth: number }> {
  const ids: number[] = [];
  // Warm up caches (ELF symbols, JIT) so they do not count as growth.
  for (let i = 0; i < 3; i++) {
    const { obj } = once();
    ids.push(...obj.programInfo().map((p) => p.id));
    await obj.close();
  }
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < cycles; i++) {
    const { obj, link } = once();
    expect(link.closed).toBe(false);
    ids.push(...obj.programInfo().map((p) => p.id));
    await obj.close();
    expect(link.closed).toBe(true);
  }
  globalThis.gc?.();
  const rssGrowth = process.memoryUsage().rss - before;
  expect(ids.filter(programExists), 'programs left in the kernel').toEqual([]);
  expect(linksOfPrograms(ids), 'links left in the kernel').toEqual([]);
  expect(bpfObjectsHeldBy('self'), 'BPF fds still open').toEqual({ progs: [], maps: [], links: [] });
  expect(rssGrowth, `RSS grew ${(rssGrowth / 1048576).toFixed(1)} MiB over ${cycles} cycles`).toBeLessThan(RSS_GROWTH_LIMIT);
  return { rssGrowth };
}
