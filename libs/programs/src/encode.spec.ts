import { describe, expect, it } from 'vitest';
import { encodeGlobal } from './encode';

describe('encodeGlobal', () => {
  it('writes integers little-endian at their C size', () => {
    expect(encodeGlobal({ type: 'u8', value: 0xab })).toEqual(Buffer.from([0xab]));
    expect(encodeGlobal({ type: 'u16', value: 0x1234 })).toEqual(Buffer.from([0x34, 0x12]));
    expect(encodeGlobal({ type: 'u32', value: 0xdeadbeef })).toEqual(Buffer.from([0xef, 0xbe, 0xad, 0xde]));
    expect(encodeGlobal({ type: 's32', value: -2 })).toEqual(Buffer.from([0xfe, 0xff, 0xff, 0xff]));
    expect(encodeGlobal({ type: 'u64', value: 0x0102030405060708n })).toEqual(Buffer.from([8, 7, 6, 5, 4, 3, 2, 1]));
    expect(encodeGlobal({ type: 'u64', value: 2n ** 64n - 1n })).toEqual(Buffer.alloc(8, 0xff));
    expect(encodeGlobal({ type: 's64', value: -1 })).toEqual(Buffer.alloc(8, 0xff));
    expect(encodeGlobal({ type: 's64', value: -(2n ** 63n) })).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]));
  });

  it('round-trips through Buffer reads', () => {
    expect(encodeGlobal({ type: 'u64', value: 123_456_789_012_345n }).readBigUInt64LE(0)).toBe(123_456_789_012_345n);
    expect(encodeGlobal({ type: 's32', value: -123_456 }).readInt32LE(0)).toBe(-123_456);
  });

  it('writes bools as one byte', () => {
    expect(encodeGlobal({ type: 'bool', value: true })).toEqual(Buffer.from([1]));
    expect(encodeGlobal({ type: 'bool', value: false })).toEqual(Buffer.from([0]));
  });

  it('writes a char[] as a NUL-padded C string', () => {
    expect(encodeGlobal({ type: { char: 6 }, value: 'abc' })).toEqual(Buffer.from('abc\0\0\0'));
    expect(encodeGlobal({ type: { char: 4 }, value: '' })).toEqual(Buffer.alloc(4));
  });

  it('rejects values that do not fit', () => {
    expect(() => encodeGlobal({ type: 'u8', value: 256 })).toThrow('u8 global must be within [0, 255], got 256');
    expect(() => encodeGlobal({ type: 'u32', value: -1 })).toThrow(RangeError);
    expect(() => encodeGlobal({ type: 's32', value: 2 ** 31 })).toThrow(RangeError);
    expect(() => encodeGlobal({ type: 'u64', value: 2n ** 64n })).toThrow(RangeError);
    expect(() => encodeGlobal({ type: 'u32', value: 1.5 })).toThrow('u32 global must be a safe integer or a bigint, got 1.5');
    expect(() => encodeGlobal({ type: { char: 4 }, value: 'abcd' })).toThrow('char[4] global holds at most 3 bytes, got 4');
  });
});
