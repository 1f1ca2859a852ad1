import { describe, expect, it } from 'vitest';
import { ProcessGoneError, type Frame, type LoadedObject } from '@fleettrace/bpf-loader';
import { getProgram } from '@fleettrace/programs';
import { StackCollector, isStackCounts, type StackCountsSpec, type StackSymbolizers } from './stack-collector';

const SPEC = getProgram('profile')!.outputs[0] as StackCountsSpec;
const EFAULT = -14;
const EEXIST = -17;
const STACK_DEPTH = 127;

interface Sample {
  pid: number;
  comm: string;
  user: number;
  kernel: number;
  value: number;
}

/** profile's maps as the kernel leaves them: struct profile_key → u64, and stack id → 127 u64 ips. */
function fakeObject(samples: Sample[], traces: Record<number, bigint[]>): Pick<LoadedObject, 'map'> {
  const counts = () => samples.map((s): [Buffer, Buffer] => {
    const key = Buffer.alloc(28);
    key.writeUInt32LE(s.pid, 0);
    key.writeInt32LE(s.user, 4);
    key.writeInt32LE(s.kernel, 8);
    key.write(s.comm, 12, 'latin1');
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(BigInt(s.value));
    return [key, value];
  });
  const stacks = Object.entries(traces).map(([id, ips]): [Buffer, Buffer] => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(Number(id));
    const value = Buffer.alloc(STACK_DEPTH * 8);
    ips.forEach((ip, i) => value.writeBigUInt64LE(ip, i * 8));
    return [key, value];
  });
  const maps = {
    samples: { name: 'samples', spec: { type: 'hash' }, entries: () => counts()[Symbol.iterator]() },
    stacks: { name: 'stacks', spec: { type: 'stack_trace' }, entries: () => stacks[Symbol.iterator]() },
  };
  return { map: (name: string) => maps[name as keyof typeof maps] } as unknown as Pick<LoadedObject, 'map'>;
}

/** Processes by pid: a name per address, or gone; the kernel names 0xffff… addresses. */
function fakeSymbolizers(processes: Record<number, Record<string, string> | 'gone'>, snapshots: number[] = []): StackSymbolizers {
  return {
    user: (pid) => {
      snapshots.push(pid);
      const names = processes[pid];
      if (!names || names === 'gone') throw new ProcessGoneError(pid);
      return {
        symbolize: (ip: bigint | number): Frame => {
          const name = names[`0x${BigInt(ip).toString(16)}`];
          return name === undefined ? { address: BigInt(ip), module: '/usr/lib/libc.so.6' } : { address: BigInt(ip), symbol: name, module: '/app' };
        },
        refresh: () => undefined,
      };
    },
    kernel: () => ({
      symbolize: (ip: bigint): Frame => (ip === 0xffff_ffff_8100_0000n ? { address: ip, symbol: 'schedule' } : { address: ip }),
    }),
  };
}

describe('StackCollector', () => {
  it('is used for counts keyed by stack ids only', () => {
    expect(isStackCounts(SPEC)).toBe(true);
    expect(isStackCounts({ ...SPEC, stacks: undefined })).toBe(false);
  });

  it('names frames against the snapshot of a process taken while it ran, though it is gone when the run ends', () => {
    const processes: Record<number, Record<string, string> | 'gone'> = { 10: { '0x1000': 'leaf', '0x2000': 'main' } };
    const object = fakeObject([{ pid: 10, comm: 'app', user: 1, kernel: 2, value: 5 }], { 1: [0x1000n, 0x2000n], 2: [0xffff_ffff_8100_0000n] });
    const collector = new StackCollector(object, SPEC, fakeSymbolizers(processes));
    collector.snapshotNew();
    processes[10] = 'gone';
    expect(collector.read()).toEqual({
      kind: 'stacks',
      name: 'samples',
      unit: 'samples',
      entries: [{ stack: 'app;main;leaf;schedule_[k]', value: 5 }],
      unsymbolized: 0,
      lost: 0,
    });
  });

  it('gives a process gone before any snapshot [unknown] user frames, counted; a lost stack [lost], counted; no stack, no frames', () => {
    const snapshots: number[] = [];
    const object = fakeObject(
      [
        { pid: 20, comm: 'short', user: 1, kernel: 2, value: 3 },
        { pid: 30, comm: 'app', user: EEXIST, kernel: 2, value: 4 },
        { pid: 31, comm: 'app', user: 9, kernel: 2, value: 1 }, // an id the map no longer holds
        { pid: 0, comm: 'kworker/0:1', user: EFAULT, kernel: 2, value: 6 },
        { pid: 32, comm: 'app', user: 3, kernel: EFAULT, value: 2 }, // in a library without symbols
        { pid: 33, comm: 'app', user: 3, kernel: EFAULT, value: 0 },
      ],
      { 1: [0x1000n, 0x2000n, 0x3000n], 2: [0xffff_ffff_8100_0000n, 0xffff_ffff_8200_0000n], 3: [0x4000n] },
    );
    const collector = new StackCollector(object, SPEC, fakeSymbolizers({ 20: 'gone', 32: {} }, snapshots));
    const output = collector.read();
    expect(output.entries).toEqual([
      { stack: 'kworker/0:1;[unknown]_[k];schedule_[k]', value: 6 },
      { stack: 'app;[lost];[unknown]_[k];schedule_[k]', value: 5 },
      { stack: 'short;[unknown];[unknown]_[k];schedule_[k]', value: 3 },
      { stack: 'app;[libc.so.6]', value: 2 },
    ]);
    // Each has a frame nothing names (the kernel's at 0xffffffff82000000, too).
    expect(output).toMatchObject({ unsymbolized: 6 + 5 + 3 + 2, lost: 5 });
    // Kernel threads, lost user stacks and zero counts are no reason to read a process's mappings.
    expect(snapshots.sort()).toEqual([20, 32]);
  });

  it('snapshots a pid again when it shows up under another name (it exec\'d), and a gone one never again', () => {
    const snapshots: number[] = [];
    const samples = [{ pid: 40, comm: 'sh', user: 1, kernel: EFAULT, value: 1 }];
    const object = fakeObject(samples, { 1: [0x1000n] });
    const collector = new StackCollector(object, SPEC, fakeSymbolizers({ 40: { '0x1000': 'f' }, 41: 'gone' }, snapshots));
    collector.snapshotNew();
    collector.snapshotNew();
    samples.push({ pid: 40, comm: 'stack-chain', user: 1, kernel: EFAULT, value: 1 }, { pid: 41, comm: 'x', user: 1, kernel: EFAULT, value: 1 });
    collector.snapshotNew();
    collector.snapshotNew();
    collector.read();
    expect(snapshots).toEqual([40, 40, 41]);
  });

  it('warms up on the runner\'s own process, once, and a failure to is no failure of the run', () => {
    const snapshots: number[] = [];
    const object = fakeObject([{ pid: 50, comm: 'app', user: 1, kernel: EFAULT, value: 1 }], { 1: [0x1000n] });
    // The runner's own pid is not among the fake's processes: its snapshot throws, as an unreadable one would.
    const collector = new StackCollector(object, SPEC, fakeSymbolizers({ 50: { '0x1000': 'f' } }, snapshots));
    expect(() => collector.warmUp()).not.toThrow();
    expect(snapshots).toEqual([process.pid]);
    expect(collector.read().entries).toEqual([{ stack: 'app;f', value: 1 }]);
    expect(snapshots).toEqual([process.pid, 50]);
  });
});
