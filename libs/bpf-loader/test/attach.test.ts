import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, NotSupportedError, openObject, u32 } from '../src/index';
import { fixturePath, type GatedProcess, linksOfPrograms, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 25;
const COUNTERS = { ft_attach_tp: 'tracepoint_hits', ft_attach_raw: 'raw_tp_hits', ft_attach_btf: 'tp_btf_hits' } as const;

let generator: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await generator?.kill();
  await obj?.close();
  generator = obj = undefined;
});

function loadFor(pid: number): LoadedObject {
  const spec = openObject(fixturePath('attach'));
  spec.setGlobal('target_tgid', u32(pid));
  obj = spec.load();
  kernel.track(obj);
  return obj;
}

function hits(o: LoadedObject): Record<string, bigint> {
  return Object.fromEntries(Object.entries(COUNTERS).map(([prog, g]) => [prog, o.readGlobal(g).readBigUInt64LE()]));
}

describe('attach', () => {
  it('attachAll attaches tracepoint, raw_tp and tp_btf programs; each fires on the provoked event', async () => {
    generator = spawnGated(workloadPath(), ['getpriority', String(CALLS)]);
    const o = loadFor(generator.pid);
    expect(o.programs.map((p) => [p.name, p.type])).toEqual([
      ['ft_attach_tp', 'tracepoint'],
      ['ft_attach_raw', 'raw_tracepoint'],
      ['ft_attach_btf', 'tracing'],
    ]);
    const links = o.attachAll();
    expect(links.map((l) => l.program).sort()).toEqual(Object.keys(COUNTERS).sort());
    expect(links.every((l) => l.id > 0)).toBe(true);

    generator.release();
    expect(await generator.exited).toEqual({ code: 0, signal: null });
    expect(hits(o)).toEqual({ ft_attach_tp: BigInt(CALLS), ft_attach_raw: BigInt(CALLS), ft_attach_btf: BigInt(CALLS) });

    const ids = o.programInfo().map((p) => p.id);
    await o.close();
    expect(linksOfPrograms(ids)).toEqual([]);
  });

  for (const program of Object.keys(COUNTERS) as (keyof typeof COUNTERS)[]) {
    it(`attach('${program}') attaches only that program`, async () => {
      generator = spawnGated(workloadPath(), ['getpriority', String(CALLS)]);
      const o = loadFor(generator.pid);
      const link = o.attach(program);
      expect(link.program).toBe(program);
      generator.release();
      await generator.exited;
      const expected = Object.fromEntries(Object.keys(COUNTERS).map((p) => [p, p === program ? BigInt(CALLS) : 0n]));
      expect(hits(o)).toEqual(expected);
      link.close();
      expect(link.closed).toBe(true);
    });
  }

  it('a detached program stops firing', async () => {
    generator = spawnGated(workloadPath(), ['getpriority', String(CALLS)]);
    const o = loadFor(generator.pid);
    o.attach('ft_attach_tp').close();
    generator.release();
    await generator.exited;
    expect(hits(o).ft_attach_tp).toBe(0n);
  });

  it('explains a section that names no attach target', async () => {
    const spec = openObject(fixturePath('untargeted'));
    obj = spec.load();
    kernel.track(obj);
    expect(() => obj!.attach('ft_untargeted')).toThrow(NotSupportedError);
    expect(() => obj!.attach('ft_untargeted')).toThrow('auto-attach is not supported: raw_tp');
    expect(obj.attachAll()).toEqual([]);
  });
});
