import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Profile } from 'pprof-format';
import type { StacksOutput } from '@fleettrace/contracts';
import { pprofSampleType, stacksToPprof } from './pprof';

const stacks = (entries: Array<[string, number]>, name = 'samples', unit = 'samples'): StacksOutput => ({
  kind: 'stacks',
  name,
  unit,
  entries: entries.map(([stack, value]) => ({ stack, value })),
  unsymbolized: 2,
  lost: 1,
});

const profileSamples = stacks([
  ['app;main;work;schedule_[k]', 30],
  ['app;main;idle', 25],
  ['app;main;work;work;schedule', 4],
  ['app;[unknown];entry_SYSCALL_64_[k]', 2],
  ['app;[lost]', 1],
]);

/** Each sample of a decoded profile as folded text would write it: outermost first, kernel frames marked again. */
function decodedStacks(profile: Profile): Array<[string, number]> {
  const text = (index: number | bigint) => profile.stringTable.strings[Number(index)];
  const frameOf = new Map(
    profile.function.map((f) => [Number(f.id), text(f.filename) === '[kernel.kallsyms]' ? `${text(f.name)}_[k]` : text(f.name)]),
  );
  const functionOf = new Map(profile.location.map((l) => [Number(l.id), Number(l.line[0].functionId)]));
  return profile.sample.map((s) => [
    s.locationId
      .map((id) => frameOf.get(functionOf.get(Number(id))!))
      .reverse()
      .join(';'),
    Number(s.value[0]),
  ]);
}

const decode = (gzipped: Buffer) => Profile.decode(gunzipSync(gzipped));

describe('stacksToPprof', () => {
  it('encodes every folded stack as one sample, leaf first, whose values add up to the folded total', () => {
    const profile = decode(stacksToPprof(profileSamples));
    const total = profile.sample.reduce((sum, s) => sum + Number(s.value[0]), 0);
    expect(total).toBe(profileSamples.entries.reduce((sum, e) => sum + e.value, 0));
    expect(decodedStacks(profile)).toEqual(profileSamples.entries.map((e) => [e.stack, e.value]));
    const [first] = profile.sample;
    const leaf = profile.function.find((f) => f.id === profile.location.find((l) => l.id === first.locationId[0])?.line[0].functionId);
    expect(profile.stringTable.strings[Number(leaf?.name)]).toBe('schedule');
    expect(profile.stringTable.strings[Number(leaf?.filename)]).toBe('[kernel.kallsyms]');
  });

  it('makes one function and one location per distinct frame, a kernel frame apart from a user one of the same name', () => {
    const profile = decode(stacksToPprof(profileSamples));
    const distinct = new Set(profileSamples.entries.flatMap((e) => e.stack.split(';')));
    expect(profile.function).toHaveLength(distinct.size);
    expect(profile.location).toHaveLength(distinct.size);
    const names = profile.function.map((f) => profile.stringTable.strings[Number(f.name)]);
    expect(names.filter((n) => n === 'schedule')).toHaveLength(2);
    expect(names).toEqual(expect.arrayContaining(['app', '[unknown]', '[lost]', 'entry_SYSCALL_64']));
  });

  it('counts samples as samples/count, and time in nanoseconds whatever unit it came in', () => {
    const sampleType = (gzipped: Buffer) => {
      const profile = decode(gzipped);
      const [type] = profile.sampleType;
      return `${profile.stringTable.strings[Number(type.type)]}/${profile.stringTable.strings[Number(type.unit)]}`;
    };
    expect(sampleType(stacksToPprof(profileSamples))).toBe('samples/count');
    const offcpu = stacks([['app;main;read;schedule_[k]', 1500], ['app;main;poll', 2 ** 52]], 'offcpu', 'us');
    const profile = decode(stacksToPprof(offcpu, { timeNanos: 1_700_000_000_000_000_000n, durationNanos: 5_000_000_000n }));
    expect(sampleType(stacksToPprof(offcpu))).toBe('offcpu/nanoseconds');
    // Past 2^53 once in nanoseconds: the value travels as an exact int64.
    expect(profile.sample.map((s) => BigInt(s.value[0]))).toEqual([1_500_000n, 2n ** 52n * 1000n]);
    expect(BigInt(profile.timeNanos)).toBe(1_700_000_000_000_000_000n);
    expect(BigInt(profile.durationNanos)).toBe(5_000_000_000n);
    expect(pprofSampleType({ name: 'k', unit: 'count' })).toEqual({ type: 'k', unit: 'count', scale: 1n });
    expect(pprofSampleType({ name: 'tx', unit: 'bytes' })).toEqual({ type: 'tx', unit: 'bytes', scale: 1n });
  });

  it('encodes an empty output as a valid profile with no samples', () => {
    const profile = decode(stacksToPprof(stacks([])));
    expect(profile.sample).toEqual([]);
  });
});
