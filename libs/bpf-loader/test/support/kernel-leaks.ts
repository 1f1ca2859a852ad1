// Every test file records the kernel ids of the programs it loads and, at the end, asserts with
// bpftool that none of them (and no link to them) is left in the kernel, and that the test
// process holds no BPF program, map or link fd at all.
import { afterAll, expect } from 'vitest';
import type { LoadedObject } from '../../src/index';
import { bpfObjectsHeldBy, linksOfPrograms, programExists } from '../../src/testing/index';

export function trackKernelObjects(): { track: (obj: LoadedObject) => number[]; ids: () => number[] } {
  const ids: number[] = [];
  afterAll(() => {
    expect(ids.filter(programExists), 'programs left in the kernel').toEqual([]);
    expect(linksOfPrograms(ids), 'links left in the kernel').toEqual([]);
    expect(bpfObjectsHeldBy('self'), 'BPF fds still open').toEqual({ progs: [], maps: [], links: [] });
  });
  return {
    track(obj) {
      const mine = obj.programInfo().map((p) => p.id);
      ids.push(...mine);
      return mine;
    },
    ids: () => [...ids],
  };
}
