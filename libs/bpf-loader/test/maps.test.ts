import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, openObject, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 1000;

const generators: GatedProcess[] = [];
let obj: LoadedObject | undefined;
afterEach(async () => {
  await Promise.all(generators.splice(0).map((g) => g.kill()));
  await obj?.close();
  obj = undefined;
});

describe('maps', () => {
  it('reads a hash map and a per-CPU array (summed per u64 lane, and per CPU)', async () => {
    // One generator pinned to each CPU, so the per-CPU array really has two non-zero slots.
    const [a, b] = [0, 1].map((cpu) => spawnGated(workloadPath(), ['getppid', String(CALLS)], { cpu }));
    generators.push(a!, b!);
    const spec = openObject(fixturePath('counts'));
    spec.setGlobal('target_a', u32(a!.pid));
    spec.setGlobal('target_b', u32(b!.pid));
    obj = spec.load();
    kernel.track(obj);
    obj.attachAll();

    a!.release();
    b!.release();
    expect(await a!.exited).toEqual({ code: 0, signal: null });
    expect(await b!.exited).toEqual({ code: 0, signal: null });

    const byTgid = obj.map('calls_by_tgid');
    expect(byTgid.perCpu).toBe(false);
    expect(byTgid.lookup(u32(a!.pid))?.readBigUInt64LE()).toBe(BigInt(CALLS));
    expect(byTgid.lookup(a!.pid)?.readBigUInt64LE()).toBe(BigInt(CALLS));
    expect(byTgid.lookup(u32(0xfffffff0))).toBeUndefined();
    const entries = new Map([...byTgid.entries()].map(([k, v]) => [k.readUInt32LE(), v.readBigUInt64LE()]));
    expect(entries.get(a!.pid)).toBe(BigInt(CALLS));
    expect(entries.get(b!.pid)).toBe(BigInt(CALLS));

    const tally = obj.map('target_tally');
    expect(tally.perCpu).toBe(true);
    const summed = tally.lookup(0)!;
    expect(summed.length).toBe(16);
    expect(summed.readBigUInt64LE(0)).toBe(BigInt(2 * CALLS)); // calls
    expect(summed.readBigUInt64LE(8)).toBe(BigInt(4 * CALLS)); // weight: 2 per call
    const perCpu = tally.lookupPerCpu(0)!;
    expect(perCpu.map((v) => v.readBigUInt64LE(0))).toEqual([BigInt(CALLS), BigInt(CALLS)]);
    const [[key, value]] = [...tally.entries()];
    expect(key!.readUInt32LE()).toBe(0);
    expect(value).toEqual(summed);
  });

  it('checks keys and map kinds before reading', () => {
    const spec = openObject(fixturePath('counts'));
    obj = spec.load();
    kernel.track(obj);
    expect(() => obj!.map('calls_by_tgid').lookup(Buffer.alloc(8))).toThrow("map 'calls_by_tgid' has 4-byte keys; got 8 bytes");
    expect(() => obj!.map('calls_by_tgid').lookupPerCpu(0)).toThrow(/is not per-CPU/);
    expect(() => obj!.map('missing')).toThrow(/map 'missing' not found in BPF object 'counts'/);
  });
});
