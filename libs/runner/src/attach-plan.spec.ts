import type { Link, LoadedObject } from '@fleettrace/bpf-loader';
import type { CatalogProgram } from '@fleettrace/programs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { attachPlanned } from './attach-plan';

/** Records each attach call; a call for `failOn` throws, as the loader does for a missing symbol. */
function fakeLoaded(failOn?: string) {
  const calls: unknown[][] = [];
  const closed: string[] = [];
  const link = (name: string) => ({ close: () => closed.push(name) }) as unknown as Link;
  const call = (method: string) => (program: string, target?: unknown) => {
    calls.push(target === undefined ? [method, program] : [method, program, target]);
    if (program === failOn) throw new Error(`no ${program}`);
    return link(program);
  };
  const loaded = {
    attach: call('attach'),
    attachAll: () => (calls.push(['attachAll']), [link('all')]),
    attachPerfEvent: call('attachPerfEvent'),
    attachUprobe: call('attachUprobe'),
    attachXdp: call('attachXdp'),
  } as unknown as LoadedObject;
  return { loaded, calls, closed };
}

function program(attach?: CatalogProgram['attach']): CatalogProgram {
  return { name: 'p', summary: '', params: z.object({}), objectPath: '/x', globals: () => ({}), outputs: [], requires: { attachTypes: [] }, attach };
}

describe('attachPlanned', () => {
  it('attaches everything by SEC() when the program has no plan', () => {
    const { loaded, calls } = fakeLoaded();
    expect(attachPlanned(loaded, program(), {})).toHaveLength(1);
    expect(calls).toEqual([['attachAll']]);
  });

  it('carries out each step with the loader call of its kind, in order', () => {
    const { loaded, calls } = fakeLoaded();
    const links = attachPlanned(
      loaded,
      program(() => [
        { program: 'a', kind: 'auto' },
        { program: 'b', kind: 'perf_event', frequency: 49 },
        { program: 'c', kind: 'uprobe', binary: '/bin/x', symbol: 'f', retprobe: true, pid: 9 },
        { program: 'd', kind: 'xdp', interface: 'eth0' },
      ]),
      {},
    );
    expect(links).toHaveLength(4);
    expect(calls).toEqual([
      ['attach', 'a'],
      ['attachPerfEvent', 'b', { frequency: 49, cpus: 'all' }],
      ['attachUprobe', 'c', { binary: '/bin/x', symbol: 'f', pid: 9, retprobe: true }],
      ['attachXdp', 'd', { interface: 'eth0' }],
    ]);
  });

  it('detaches the steps already attached when a later one fails', () => {
    const { loaded, closed } = fakeLoaded('exit');
    const plan = program(() => [
      { program: 'entry', kind: 'uprobe', binary: '/bin/x', symbol: 'f' },
      { program: 'exit', kind: 'uprobe', binary: '/bin/x', symbol: 'f', retprobe: true },
    ]);
    expect(() => attachPlanned(loaded, plan, {})).toThrow('no exit');
    expect(closed).toEqual(['entry']);
  });
});
