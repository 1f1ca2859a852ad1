// Decoders generated from BTF, once per type: the type graph is walked at compile time and turned
// into the source of one JS function (nested structs become nested object literals, offsets become
// constants), so decoding a value is straight-line reads with no per-field dispatch.
import type { BtfComposite, BtfEnum, BtfInt, BtfType } from './types';

/** What decoded data is made of. */
export type DecodedValue = number | string | boolean | null | DecodedValue[] | { [field: string]: DecodedValue };

/** Decodes the value at `offset` (default 0) of `buf`. */
export type Decoder<T = DecodedValue> = (buf: Buffer, offset?: number) => T;

type Unchecked = (buf: Buffer, offset: number) => DecodedValue;

/** What the compiler needs of a Btf: type lookup with typedef/const/volatile resolved, and sizes. */
export interface TypeGraph {
  typeById(id: number): BtfType;
  resolve(id: number): BtfType;
  sizeOf(id: number): number;
}

const TWO_POW_32 = 2 ** 32;
/** Nested structs deeper than this call their own compiled decoder instead of being inlined. */
const MAX_INLINE_DEPTH = 4;
/** Arrays up to this length are unrolled into an array literal. */
const MAX_UNROLLED = 8;

// u64/s64 as in libs/programs: a number while exact, a decimal string beyond 2^53.
function u64(b: Buffer, at: number): number | string {
  const v = b.readUInt32LE(at + 4) * TWO_POW_32 + b.readUInt32LE(at);
  return v <= Number.MAX_SAFE_INTEGER ? v : b.readBigUInt64LE(at).toString();
}

function s64(b: Buffer, at: number): number | string {
  const v = b.readInt32LE(at + 4) * TWO_POW_32 + b.readUInt32LE(at);
  return Number.isSafeInteger(v) ? v : b.readBigInt64LE(at).toString();
}

function int128(b: Buffer, at: number, signed: boolean): number | string {
  const raw = (b.readBigUInt64LE(at + 8) << 64n) | b.readBigUInt64LE(at);
  const v = signed ? BigInt.asIntN(128, raw) : raw;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** A C string in char[len]: up to the first NUL, or all of it when it has none. */
function cstr(b: Buffer, at: number, len: number): string {
  const limit = at + len;
  let end = at;
  let ascii = true;
  while (end < limit) {
    const c = b[end]!;
    if (c === 0) break;
    if (c > 0x7f) ascii = false;
    end++;
  }
  if (end === at) return '';
  return b.toString(ascii ? 'latin1' : 'utf8', at, end);
}

function arr(b: Buffer, at: number, n: number, stride: number, element: Unchecked): DecodedValue[] {
  const out = new Array<DecodedValue>(n);
  for (let i = 0; i < n; i++) out[i] = element(b, at + i * stride);
  return out;
}

/** Bitfields wider than a safe 48-bit read. */
function wideBits(b: Buffer, at: number, span: number, shift: number, bits: number, signed: boolean): number | string {
  let raw = 0n;
  for (let i = span - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(b[at + i]!);
  let v = (raw >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  if (signed) v = BigInt.asIntN(bits, v);
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

function signExtend(v: number, bits: number): number {
  return v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
}

function outOfRange(size: number, offset: number, length: number): RangeError {
  return new RangeError(`value of ${size} bytes at offset ${offset} overruns a ${length}-byte buffer`);
}

const HELPERS = { u64, s64, int128, cstr, arr, wideBits, signExtend, outOfRange };

function propertyKey(name: string): string {
  // In an object literal, a plain "__proto__" key would set the prototype instead of a field.
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
}

function isCharLike(t: BtfType): boolean {
  return t.kind === 'int' && t.size === 1 && (t.char || t.name === 'char');
}

/** Source of one generated function: its closed-over constants and the expression tree. */
class Emission {
  readonly names: string[] = Object.keys(HELPERS);
  readonly values: unknown[] = Object.values(HELPERS);

  ref(prefix: string, value: unknown): string {
    const name = `${prefix}${this.names.length}`;
    this.names.push(name);
    this.values.push(value);
    return name;
  }
}

export class DecoderCompiler {
  readonly #graph: TypeGraph;
  readonly #checked = new Map<number, Decoder>();
  readonly #unchecked = new Map<number, Unchecked>();
  readonly #enumNames = new Map<number, (v: number | string) => number | string>();

  constructor(graph: TypeGraph) {
    this.#graph = graph;
  }

  /** The decoder of type `id`, compiled on first use; checks that the value fits the buffer. */
  decoder(id: number): Decoder {
    let d = this.#checked.get(id);
    if (!d) {
      const size = this.#graph.sizeOf(id);
      const em = new Emission();
      const body = this.#expr(em, id, 0, 0);
      d = this.#build<Decoder>(
        em,
        id,
        `if (o === undefined) o = 0;\n` +
          `if (!(o >= 0 && o + ${size} <= b.length)) throw outOfRange(${size}, o, b.length);\n` +
          `return ${body};`,
      );
      this.#checked.set(id, d);
    }
    return d;
  }

  /** Generated source of type `id`'s decoder (for debugging and tests). */
  source(id: number): string {
    const em = new Emission();
    return this.#expr(em, id, 0, 0);
  }

  #uncheckedDecoder(id: number): Unchecked {
    let d = this.#unchecked.get(id);
    if (!d) {
      const em = new Emission();
      d = this.#build<Unchecked>(em, id, `return ${this.#expr(em, id, 0, 0)};`);
      this.#unchecked.set(id, d);
    }
    return d;
  }

  #build<F>(em: Emission, id: number, body: string): F {
    const src = `"use strict";\nreturn function decode_type_${id}(b, o) {\n${body}\n};`;
    // Generated once per type, from BTF only (names are JSON-quoted, offsets are numbers).
    return new Function(...em.names, src)(...em.values) as F;
  }

  /** Expression decoding type `id` at byte `o + offset`. */
  #expr(em: Emission, id: number, offset: number, depth: number): string {
    const t = this.#graph.resolve(id);
    const at = offset === 0 ? 'o' : `o + ${offset}`;
    switch (t.kind) {
      case 'int':
        if (t.bits !== t.size * 8 || t.bitOffset !== 0) return this.#bitfield(em, t, offset * 8 + t.bitOffset, t.bits);
        return intRead(t, at);
      case 'enum':
      case 'enum64':
        return `${this.#enumRef(em, t)}(${intRead({ size: t.size, signed: t.signed, bool: false }, at)})`;
      case 'float':
        return t.size === 4 ? `b.readFloatLE(${at})` : t.size === 8 ? `b.readDoubleLE(${at})` : 'null';
      case 'ptr':
        return `u64(b, ${at})`;
      case 'array':
        return this.#array(em, t.type, t.length, offset, depth);
      case 'struct':
      case 'union':
        if (depth >= MAX_INLINE_DEPTH) return `${em.ref('D', this.#uncheckedDecoder(t.id))}(b, ${at})`;
        return `{ ${this.#fields(em, t, offset, depth).join(', ')} }`;
      case 'datasec': {
        const fields = t.vars.map((v) => {
          const variable = this.#graph.typeById(v.type);
          return `${propertyKey(variable.name)}: ${this.#expr(em, v.type, offset + v.offset, depth + 1)}`;
        });
        return `{ ${fields.join(', ')} }`;
      }
      case 'var':
        return this.#expr(em, t.type, offset, depth);
      default:
        // void, forward declarations, functions: nothing to read.
        return 'null';
    }
  }

  #fields(em: Emission, t: BtfComposite, offset: number, depth: number): string[] {
    const out: string[] = [];
    t.members.forEach((m, i) => {
      const memberType = this.#graph.resolve(m.type);
      if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) {
        const bits = m.bitSize !== 0 ? m.bitSize : this.#graph.sizeOf(m.type) * 8;
        out.push(`${propertyKey(m.name || `_${i}`)}: ${this.#bitfield(em, memberType, offset * 8 + m.bitOffset, bits)}`);
        return;
      }
      const at = offset + m.bitOffset / 8;
      if (m.name === '' && (memberType.kind === 'struct' || memberType.kind === 'union')) {
        // An anonymous struct/union: its fields are read as the parent's, as in C.
        out.push(...this.#fields(em, memberType, at, depth));
        return;
      }
      out.push(`${propertyKey(m.name || `_${i}`)}: ${this.#expr(em, m.type, at, depth + 1)}`);
    });
    return out;
  }

  #array(em: Emission, elementId: number, length: number, offset: number, depth: number): string {
    const element = this.#graph.resolve(elementId);
    const at = offset === 0 ? 'o' : `o + ${offset}`;
    if (isCharLike(element)) return `cstr(b, ${at}, ${length})`;
    if (length === 0) return '[]';
    const stride = this.#graph.sizeOf(elementId);
    if (length <= MAX_UNROLLED) {
      const items = Array.from({ length }, (_, i) => this.#expr(em, elementId, offset + i * stride, depth + 1));
      return `[${items.join(', ')}]`;
    }
    return `arr(b, ${at}, ${length}, ${stride}, ${em.ref('D', this.#uncheckedDecoder(elementId))})`;
  }

  /** A bitfield of `bits` bits at bit `bitPos` from o; `type` is the member's resolved type. */
  #bitfield(em: Emission, type: BtfType, bitPos: number, bits: number): string {
    const byte = Math.floor(bitPos / 8);
    const shift = bitPos % 8;
    const span = Math.ceil((shift + bits) / 8);
    const signed = (type.kind === 'int' || type.kind === 'enum' || type.kind === 'enum64') && type.signed;
    const at = byte === 0 ? 'o' : `o + ${byte}`;
    let read: string;
    if (span > 6) {
      read = `wideBits(b, ${at}, ${span}, ${shift}, ${bits}, ${signed})`;
    } else {
      const raw = span === 1 ? `b[${at}]` : `b.readUIntLE(${at}, ${span})`;
      if (shift + bits <= 31) read = `((${raw} >>> ${shift}) & ${2 ** bits - 1})`;
      else read = shift === 0 && bits === span * 8 ? raw : `(Math.floor(${raw} / ${2 ** shift}) % ${2 ** bits})`;
      if (signed) read = `signExtend(${read}, ${bits})`;
    }
    if (type.kind === 'int' && type.bool) return `(${read} !== 0)`;
    if (type.kind === 'enum' || type.kind === 'enum64') return `${this.#enumRef(em, type)}(${read})`;
    return read;
  }

  #enumRef(em: Emission, t: BtfEnum): string {
    let fn = this.#enumNames.get(t.id);
    if (!fn) {
      // Keys as the reads produce them: numbers, or decimal strings for 64-bit values past 2^53.
      const names = new Map<number | string, string>();
      for (const { name, value } of t.values) {
        const key = typeof value === 'bigint' ? value.toString() : value;
        if (!names.has(key)) names.set(key, name);
      }
      fn = (v) => names.get(v) ?? v;
      this.#enumNames.set(t.id, fn);
    }
    return em.ref('E', fn);
  }
}

function intRead(t: Pick<BtfInt, 'size' | 'signed' | 'bool'>, at: string): string {
  let read: string;
  switch (t.size) {
    case 1:
      read = t.signed ? `(b[${at}] << 24 >> 24)` : `b[${at}]`;
      break;
    case 2:
      read = t.signed ? `b.readInt16LE(${at})` : `b.readUInt16LE(${at})`;
      break;
    case 4:
      read = t.signed ? `b.readInt32LE(${at})` : `b.readUInt32LE(${at})`;
      break;
    case 8:
      read = t.signed ? `s64(b, ${at})` : `u64(b, ${at})`;
      break;
    case 16:
      read = `int128(b, ${at}, ${t.signed})`;
      break;
    default:
      return 'null';
  }
  return t.bool ? `(${read} !== 0)` : read;
}
