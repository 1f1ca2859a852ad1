import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, openObject, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { onlineCpus } from '../src/attach-targets';
import { CYCLES, expectNoLeaksOver } from './support/cycles';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const HZ = 99;
const SPIN_MS = 1000;

let spinner: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await spinner?.kill();
  await obj?.close();
  spinner = obj = undefined;
});

/** Samples of the target on each possible CPU. */
function perCpuSamples(o: LoadedObject): bigint[] {
  return (o.map('samples').lookupPerCpu(0) ?? []).map((b) => b.readBigUInt64LE(0));
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

/** CPU seconds the process ran, from its schedstat polled until it exits (the last read is within 10 ms of the end). */
async function cpuTimeUntilExit(p: GatedProcess): Promise<number> {
  let runNs = 0;
  let done = false;
  void p.exited.then(() => (done = true));
  while (!done) {
    try {
      runNs = Number(readFileSync(`/proc/${p.pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      break; // gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await p.exited;
  return runNs / 1e9;
}

describe('perf_event', () => {
  it(`samples a busy loop at ${HZ} Hz on every CPU, counted per CPU`, async () => {
    const cpu = onlineCpus().at(-1)!;
    spinner = spawnGated(workloadPath(), ['spin', String(SPIN_MS)], { cpu });
    const spec = openObject(fixturePath('attach_perf'));
    spec.setGlobal('target_tgid', u32(spinner.pid));
    obj = spec.load();
    kernel.track(obj);
    const link = obj.attachPerfEvent('ft_perf_sample', { frequency: HZ, cpus: 'all' });
    expect(link.kind).toBe('perf_event');
    expect(link.ids.length).toBe(onlineCpus().length);
    spinner.release();
    const cpuSeconds = await cpuTimeUntilExit(spinner);
    link.close();

    // The pinned spinner is sampled only on its CPU, HZ times per second of CPU it got (it shares
    // the CPU with whatever else runs, so wall time would overestimate).
    const samples = perCpuSamples(obj);
    const total = Number(sum(samples));
    expect(cpuSeconds).toBeGreaterThan(0.1);
    expect(total).toBeGreaterThan(HZ * cpuSeconds * 0.7 - 3);
    expect(total).toBeLessThan(HZ * cpuSeconds * 1.3 + 3);
    expect(samples.map((n, i) => (n > 0n ? i : -1)).filter((i) => i >= 0)).toEqual([cpu]);
  });

  it('samples only the listed CPUs', async () => {
    const cpus = onlineCpus();
    if (cpus.length < 2) return; // one CPU: nothing to leave out
    spinner = spawnGated(workloadPath(), ['spin', '300'], { cpu: cpus[0] });
    const spec = openObject(fixturePath('attach_perf'));
    spec.setGlobal('target_tgid', u32(spinner.pid));
    obj = spec.load();
    kernel.track(obj);
    obj.attachPerfEvent('ft_perf_sample', { frequency: HZ, cpus: [cpus[1]!] });
    spinner.release();
    await spinner.exited;
    expect(sum(perCpuSamples(obj))).toBe(0n);
  });

  it('validates the frequency', () => {
    obj = openObject(fixturePath('attach_perf')).load();
    kernel.track(obj);
    expect(() => obj!.attachPerfEvent('ft_perf_sample', { frequency: 0 })).toThrow(RangeError);
  });

  it(`leaves nothing after ${CYCLES} load/attach/close cycles`, async () => {
    const spec = openObject(fixturePath('attach_perf'));
    await expectNoLeaksOver(CYCLES, () => {
      const o = spec.load();
      return { obj: o, link: o.attachPerfEvent('ft_perf_sample', { frequency: HZ }) };
    });
  }, 60_000);
});
