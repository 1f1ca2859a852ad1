import { SCALAR_SIZES } from './decode';
import type { ScalarType } from './layout';
import type { GlobalValue } from './manifest';

const RANGES: Record<ScalarType, [bigint, bigint]> = {
  u8: [0n, 0xffn],
  u16: [0n, 0xffffn],
  u32: [0n, 0xffff_ffffn],
  s32: [-(2n ** 31n), 2n ** 31n - 1n],
  u64: [0n, 2n ** 64n - 1n],
  s64: [-(2n ** 63n), 2n ** 63n - 1n],
};

function encodeScalar(type: ScalarType, value: number | bigint): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`${type} global must be a safe integer or a bigint, got ${value}`);
  }
  const big = BigInt(value);
  const [min, max] = RANGES[type];
  if (big < min || big > max) throw new RangeError(`${type} global must be within [${min}, ${max}], got ${big}`);
  const buf = Buffer.alloc(SCALAR_SIZES[type]);
  // Two's complement little-endian: write the value modulo 2^bits as unsigned bytes.
  let unsigned = BigInt.asUintN(buf.length * 8, big);
  for (let i = 0; i < buf.length; i++) {
    buf[i] = Number(unsigned & 0xffn);
    unsigned >>= 8n;
  }
  return buf;
}

/** The bytes of a `const volatile` global as the BPF side reads it (little-endian, as on x86-64 and arm64). */
export function encodeGlobal(global: GlobalValue): Buffer {
  if (global.type === 'bool') return Buffer.from([global.value ? 1 : 0]);
  if (typeof global.type === 'object') {
    const length = global.type.char;
    const bytes = Buffer.from(global.value, 'utf8');
    // A C string: its NUL must fit too, and the rest of the array is zeroed.
    if (bytes.length >= length) {
      throw new RangeError(`char[${length}] global holds at most ${length - 1} bytes, got ${bytes.length}`);
    }
    const buf = Buffer.alloc(length);
    bytes.copy(buf);
    return buf;
  }
  return encodeScalar(global.type, global.value);
}
