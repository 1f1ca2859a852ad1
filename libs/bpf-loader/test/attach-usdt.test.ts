import { afterEach, describe, expect, it } from 'vitest';
import { BpfError, type LoadedObject, openObject, u32 } from '../src/index';
import { fixturePath, type GatedProcess, probeTargetPath, spawnGated } from '../src/testing/index';
import { CYCLES, expectNoLeaksOver } from './support/cycles';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 30;

let target: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await target?.kill();
  await obj?.close();
  target = obj = undefined;
});

function loadFor(pid: number): LoadedObject {
  const spec = openObject(fixturePath('attach_usdt'));
  spec.setGlobal('target_tgid', u32(pid));
  obj = spec.load();
  kernel.track(obj);
  return obj;
}

const read = (o: LoadedObject, name: string) => o.readGlobal(name).readBigUInt64LE();

describe('USDT', () => {
  for (const scope of ['one process', 'every process'] as const) {
    it(`sees each hit of a DTRACE_PROBE2 with its arguments (${scope})`, async () => {
      target = spawnGated(probeTargetPath(), ['call', String(CALLS)]);
      const o = loadFor(target.pid);
      const link = o.attachUsdt('ft_usdt_tick', {
        binary: probeTargetPath(),
        provider: 'fleettrace',
        name: 'tick',
        ...(scope === 'one process' ? { pid: target.pid } : {}),
      });
      expect(link.kind).toBe('usdt');
      target.release();
      expect(await target.exited).toEqual({ code: 0, signal: null });
      const n = BigInt(CALLS);
      expect(read(o, 'ticks')).toBe(n);
      expect(read(o, 'sum_a')).toBe((n * (n + 1n)) / 2n);
      expect(read(o, 'sum_b')).toBe((3n * n * (n + 1n)) / 2n);
    });
  }

  it('fails with the probe named when the binary has no such probe', () => {
    const o = loadFor(process.pid);
    expect(() => o.attachUsdt('ft_usdt_tick', { binary: probeTargetPath(), provider: 'fleettrace', name: 'nope' })).toThrow(BpfError);
    expect(() => o.attachUsdt('ft_usdt_tick', { binary: probeTargetPath(), provider: 'fleettrace', name: 'nope' })).toThrow(/attach usdt ft_usdt_tick/);
  });

  it(`leaves nothing after ${CYCLES} load/attach/close cycles`, async () => {
    const spec = openObject(fixturePath('attach_usdt'));
    await expectNoLeaksOver(CYCLES, () => {
      const o = spec.load();
      return { obj: o, link: o.attachUsdt('ft_usdt_tick', { binary: probeTargetPath(), provider: 'fleettrace', name: 'tick' }) };
    });
  }, 90_000);
});
