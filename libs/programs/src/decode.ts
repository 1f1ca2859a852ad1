import type { EventRecord, FieldValue } from '@fleettrace/contracts';
import { BYTES_FORMAT_SIZE, BYTES_FORMATTERS, FORMATTERS } from './formats';
import type { BytesFormat, FieldFormat, FieldLayout, RecordLayout, ScalarFormat, ScalarType } from './layout';

export type RecordDecoder = (buf: Buffer, offset: number) => EventRecord;

const TWO_POW_32 = 2 ** 32;

export const SCALAR_SIZES: Record<ScalarType, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

type Reader = (buf: Buffer, at: number) => FieldValue;

/** 64-bit values stay numbers while exact (safe integers) and become decimal strings beyond. */
function readU64(buf: Buffer, at: number): FieldValue {
  const value = buf.readUInt32LE(at + 4) * TWO_POW_32 + buf.readUInt32LE(at);
  return Number.isSafeInteger(value) ? value : buf.readBigUInt64LE(at).toString();
}

function readS64(buf: Buffer, at: number): FieldValue {
  const value = buf.readInt32LE(at + 4) * TWO_POW_32 + buf.readUInt32LE(at);
  return Number.isSafeInteger(value) ? value : buf.readBigInt64LE(at).toString();
}

const SCALAR_READERS: Record<ScalarType, Reader> = {
  u8: (buf, at) => buf.readUInt8(at),
  u16: (buf, at) => buf.readUInt16LE(at),
  u32: (buf, at) => buf.readUInt32LE(at),
  s32: (buf, at) => buf.readInt32LE(at),
  u64: readU64,
  s64: readS64,
};

/** A C string in a char[length]: up to the first NUL, or all of it when it has none. */
function charReader(length: number): Reader {
  return (buf, at) => {
    let end = at;
    while (end < at + length && buf[end] !== 0) end++;
    return buf.toString('utf8', at, end);
  };
}

function isBytesFormat(format: FieldFormat): format is BytesFormat {
  return Object.hasOwn(BYTES_FORMATTERS, format);
}

function formatted(reader: Reader, field: FieldLayout): Reader {
  if (!field.format) return reader;
  // steps() has taken the bytes formats: what is left formats a number.
  const format = FORMATTERS[field.format as ScalarFormat];
  // u64 values past 2^53 arrive as strings and are shown as they are.
  return (buf, at) => {
    const value = reader(buf, at);
    return typeof value === 'number' ? format(value) : value;
  };
}

interface Step {
  name: string;
  offset: number;
  read: Reader;
}

/** Bytes a field occupies in its record. */
export function fieldSize(field: FieldLayout): number {
  const { type } = field;
  if (typeof type === 'string') return SCALAR_SIZES[type];
  if ('char' in type) return type.char;
  return SCALAR_SIZES[type.array] * type.length;
}

/** A u8 array shown as one value (an address), read whole. */
function bytesStep(field: FieldLayout, format: BytesFormat): Step {
  const { type } = field;
  const size = BYTES_FORMAT_SIZE[format];
  if (typeof type === 'string' || !('array' in type) || type.array !== 'u8' || type.length !== size) {
    throw new Error(`layout: field ${field.name} has format ${format}, which needs a ${size}-byte u8 array`);
  }
  const show = BYTES_FORMATTERS[format];
  return { name: field.name, offset: field.offset, read: (buf, at) => show(buf.subarray(at, at + size)) };
}

/**
 * One step per decoded value: an array field becomes `name[0]`, `name[1]`, ... (records hold
 * scalars), except a u8 array with a bytes format (an address), which is one value.
 */
function steps(field: FieldLayout): Step[] {
  const { type } = field;
  if (field.format && isBytesFormat(field.format)) return [bytesStep(field, field.format)];
  if (typeof type === 'string') return [{ name: field.name, offset: field.offset, read: formatted(SCALAR_READERS[type], field) }];
  if ('char' in type) {
    if (field.format) throw new Error(`layout: field ${field.name} is char[] and cannot have format ${field.format}`);
    return [{ name: field.name, offset: field.offset, read: charReader(type.char) }];
  }
  const read = formatted(SCALAR_READERS[type.array], field);
  const size = SCALAR_SIZES[type.array];
  return Array.from({ length: type.length }, (_, i) => ({ name: `${field.name}[${i}]`, offset: field.offset + i * size, read }));
}

/**
 * Turns a layout into a decoder once: the per-field work (type dispatch, formats, bounds) is done
 * here, so decoding a record is a straight run over precomputed readers.
 */
export function createRecordDecoder(layout: RecordLayout): RecordDecoder {
  for (const field of layout.fields) {
    if (field.offset < 0 || field.offset + fieldSize(field) > layout.size) {
      throw new Error(`layout: field ${field.name} (offset ${field.offset}, ${fieldSize(field)} bytes) overruns the ${layout.size}-byte record`);
    }
  }
  const plan = layout.fields.flatMap(steps);
  const size = layout.size;
  return (buf, offset) => {
    if (offset < 0 || offset + size > buf.length) {
      throw new RangeError(`record of ${size} bytes at offset ${offset} overruns a ${buf.length}-byte buffer`);
    }
    const record: EventRecord = {};
    for (const step of plan) record[step.name] = step.read(buf, offset + step.offset);
    return record;
  };
}

const decoders = new WeakMap<RecordLayout, RecordDecoder>();

/** The layout's decoder, compiled on first use and kept as long as the layout lives. */
export function decoderFor(layout: RecordLayout): RecordDecoder {
  let decoder = decoders.get(layout);
  if (!decoder) {
    decoder = createRecordDecoder(layout);
    decoders.set(layout, decoder);
  }
  return decoder;
}

/** Decodes the record at `offset` of `buf`. */
export function decodeRecord(layout: RecordLayout, buf: Buffer, offset = 0): EventRecord {
  return decoderFor(layout)(buf, offset);
}
