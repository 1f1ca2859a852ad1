import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeGlobal } from '../encode';
import { filterGlobals, filterParamsShape } from './filter';

const schema = z.strictObject(filterParamsShape);

function firstError(input: unknown): string | undefined {
  const result = schema.safeParse(input);
  return result.success ? undefined : result.error.issues[0].message;
}

describe('filter params', () => {
  it('default to the whole scope with an exact comm match', () => {
    expect(schema.parse({})).toEqual({ commMatch: 'exact' });
  });

  it('reject out-of-range pids and comms the kernel could never report', () => {
    expect(firstError({ pid: 0 })).toBe('pid must be at least 1');
    expect(firstError({ pid: 1.5 })).toBe('pid must be a whole number');
    expect(firstError({ pid: 4_194_305 })).toBe('pid must be at most 4194304');
    expect(firstError({ pid: '12' })).toBe('pid must be a number');
    expect(firstError({ comm: '' })).toBe('comm must not be empty');
    expect(firstError({ comm: 'a'.repeat(16) })).toBe('comm must be at most 15 bytes, as the kernel keeps it');
    expect(firstError({ comm: 'a\0b' })).toBe('comm must not contain NUL');
    expect(firstError({ commMatch: 'glob' })).toBe('commMatch must be "exact" or "prefix"');
    expect(firstError({ comm: 'a'.repeat(15), pid: 4_194_304 })).toBeUndefined();
  });
});

describe('filterGlobals', () => {
  it('trace the whole host when nothing is set', () => {
    expect(filterGlobals({ commMatch: 'exact' }, { cgroupId: null })).toEqual({
      filter_cgroup_id: { type: 'u64', value: 0n },
      filter_tgid: { type: 'u32', value: 0 },
      filter_comm: { type: { char: 16 }, value: '' },
      filter_comm_len: { type: 'u32', value: 0 },
    });
  });

  it('compare the NUL for an exact comm and only the prefix otherwise', () => {
    const exact = filterGlobals({ comm: 'bash', commMatch: 'exact' }, { cgroupId: 7n });
    expect(exact.filter_comm_len).toEqual({ type: 'u32', value: 5 });
    expect(exact.filter_cgroup_id).toEqual({ type: 'u64', value: 7n });
    expect(filterGlobals({ comm: 'bash', commMatch: 'prefix' }, { cgroupId: null }).filter_comm_len).toEqual({ type: 'u32', value: 4 });
  });

  it('produce values that encode for a 15-byte comm', () => {
    const globals = filterGlobals({ pid: 99, comm: 'x'.repeat(15), commMatch: 'exact' }, { cgroupId: 2n ** 40n });
    expect(encodeGlobal(globals.filter_comm)).toEqual(Buffer.from(`${'x'.repeat(15)}\0`));
    expect(encodeGlobal(globals.filter_comm_len).readUInt32LE(0)).toBe(16);
    expect(encodeGlobal(globals.filter_tgid).readUInt32LE(0)).toBe(99);
    expect(encodeGlobal(globals.filter_cgroup_id).readBigUInt64LE(0)).toBe(2n ** 40n);
  });
});
