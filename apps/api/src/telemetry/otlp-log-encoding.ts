import type { HrTime } from '@opentelemetry/api';
import type { EventRecord, FieldValue } from '@fleettrace/contracts';
import { nanosToHrTime, type EventStream } from './event-log-records';
import { INSTRUMENTATION_SCOPE } from './run-context';

/**
 * OTLP logs (an opentelemetry-proto ExportLogsServiceRequest) written straight from event records,
 * for the log export queue: byte for byte what @opentelemetry/otlp-transformer's
 * ProtobufLogsSerializer writes for the same records as the SDK's ReadableLogRecords, in its field
 * order (the spec builds those records, compares the two encodings, and decodes ours with the
 * official definitions). It exists for its cost: the SDK's path builds a ReadableLogRecord per event, then
 * encodes every request twice (a size-estimating pass, then the writing one) with each attribute
 * key written again per record, which cost three to four times what encoding here does. Every µs an event
 * counts: the export must cost ingest under 5 % of its throughput (`npm run bench -- fleet --only
 * export`), and ingest takes 27-31 µs an event of the same cores with PostgreSQL, Redis and the
 * bench's producer (docs/telemetry.md, Cost). Here a run's resource, scope and event
 * name are encoded once per stream, a field name once per process, and each record once, straight
 * into the request's buffer, which is used again for a later request (releaseLogsRequest).
 */

/** The parts of a request every record of one (run, output) stream shares, each a whole field with its tag. */
export interface LogStreamEncoding {
  /** ResourceLogs.resource (field 1). */
  readonly resource: Buffer;
  /** ScopeLogs.scope (field 1). */
  readonly scope: Buffer;
  /** LogRecord.event_name (field 12); empty when the stream has no name. */
  readonly eventName: Buffer;
}

/** Records of one (run, output) stream, waiting to be sent: their stream's shared fields, their time field and when they were observed. */
export interface LogRecordsOfStream {
  readonly stream: LogStreamEncoding;
  readonly timeField: string;
  readonly records: readonly EventRecord[];
  /** Epoch ms. */
  readonly observedAt: number;
}

const LENGTH_DELIMITED = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

/**
 * A protobuf writer that grows as it writes. A length-delimited field gets one byte for its
 * length, and what it holds is moved along when the length turns out to need more (begin/end), as
 * the SDK's ProtobufWriter does: most fields here are short.
 */
class Writer {
  pos = 0;

  /**
   * Every buffer is one ArrayBuffer of its own (never a slice of Node's shared pool), so a request's
   * bytes can be transferred to the export worker and back.
   */
  constructor(public buf: Buffer = ownBuffer(64 * 1024)) {}

  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const grown = ownBuffer(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  /** An unsigned varint below 2^32. */
  varint32(value: number): void {
    this.reserve(5);
    this.pos = putVarint32(this.buf, this.pos, value);
  }

  /** An int64 varint of an integer in [-2^63, 2^63): a negative one as its 64-bit two's complement. */
  varint64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) return this.varint32(value);
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.reserve(10);
    while (high > 0 || low > 0x7f) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low;
  }

  fixed64(low: number, high: number): void {
    this.reserve(8);
    const { buf } = this;
    let pos = this.pos;
    buf[pos++] = low & 0xff;
    buf[pos++] = (low >>> 8) & 0xff;
    buf[pos++] = (low >>> 16) & 0xff;
    buf[pos++] = low >>> 24;
    buf[pos++] = high & 0xff;
    buf[pos++] = (high >>> 8) & 0xff;
    buf[pos++] = (high >>> 16) & 0xff;
    buf[pos++] = high >>> 24;
    this.pos = pos;
  }

  double(value: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A string's UTF-8 bytes, length first. */
  string(value: string): void {
    const start = this.begin();
    this.reserve(value.length * 3);
    let ascii = value.length <= 48;
    if (ascii) {
      // Short ASCII strings (field names, comms, paths) are most of what is written: a loop beats a call into C++.
      const { buf } = this;
      let pos = this.pos;
      for (let i = 0; i < value.length; i++) {
        const code = value.charCodeAt(i);
        if (code > 0x7f) {
          ascii = false;
          break;
        }
        buf[pos++] = code;
      }
      if (ascii) this.pos = pos;
    }
    if (!ascii) this.pos += this.buf.write(value, this.pos, 'utf8');
    this.end(start);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    if (bytes.length > 32) {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    // A key or a time field: a few bytes copy faster in a loop than through a call.
    const { buf } = this;
    let pos = this.pos;
    for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i]!;
    this.pos = pos;
  }

  /**
   * Starts what a length-delimited field holds (its tag is written already), `reserved` bytes left
   * for its length; returns where the length goes. Reserve what the length will most likely need.
   */
  begin(reserved = 1): number {
    this.reserve(reserved);
    const start = this.pos;
    this.pos += reserved;
    return start;
  }

  /** Writes the length of what was written since begin(start, reserved), moving it if the length needs more or fewer bytes. */
  end(start: number, reserved = 1): void {
    const length = this.pos - start - reserved;
    const size = varintSize(length);
    if (size !== reserved) {
      if (size > reserved) this.reserve(size - reserved);
      this.buf.copyWithin(start + size, start + reserved, this.pos);
      this.pos += size - reserved;
    }
    putVarint32(this.buf, start, length);
  }

  /** What was written since `mark`, copied out, and the writer back at `mark`. */
  cut(mark: number): Buffer {
    const bytes = Buffer.from(this.buf.subarray(mark, this.pos));
    this.pos = mark;
    return bytes;
  }
}

/** A buffer over an ArrayBuffer of its own, the whole of it. */
function ownBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** Writes an unsigned varint below 2^32 at `at` (room checked by the caller); returns where it ends. */
function putVarint32(buf: Buffer, at: number, value: number): number {
  let pos = at;
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v > 0; v >>>= 7) size++;
  return size;
}

/** The writer of a stream's shared fields: encoding never awaits, so its calls never interleave. */
const writer = new Writer();

/**
 * Writers over buffers whose requests were sent (releaseLogsRequest), for the next ones: a request
 * is hundreds of KiB, and a fresh buffer of that size per request, or a copy into one, cost about
 * as much as encoding its records.
 */
const idleWriters: Writer[] = [];
const IDLE_WRITERS_KEPT = 4;
const IDLE_WRITER_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Hands back the buffer of a request logsRequest returned, once nothing reads it any more (the
 * export settled): its ArrayBuffer, as the export worker transfers it back.
 */
export function releaseLogsRequest(buffer: ArrayBuffer): void {
  // One huge request (a field of megabytes) must not keep its buffer alive for good.
  if (idleWriters.length < IDLE_WRITERS_KEPT && buffer.byteLength > 0 && buffer.byteLength <= IDLE_WRITER_MAX_BYTES) idleWriters.push(new Writer(Buffer.from(buffer)));
}

/** Field names as KeyValue.key fields (tag and length included), encoded once; bounded, as a bpftrace job's map keys are the user's. */
const keys = new Map<string, Buffer>();
const KEYS_KEPT = 4096;

/** `name` as a KeyValue.key field: from `keys`, else written after what `w` holds and cut off again. */
function keyField(w: Writer, name: string): Buffer {
  let encoded = keys.get(name);
  if (!encoded) {
    const mark = w.pos;
    w.byte(tag(1, LENGTH_DELIMITED));
    w.string(name);
    encoded = w.cut(mark);
    if (keys.size < KEYS_KEPT) keys.set(name, encoded);
  }
  return encoded;
}

/** AnyValue's fields, and KeyValue.value, as they are tagged. */
const STRING_VALUE = tag(1, LENGTH_DELIMITED);
const INT_VALUE = tag(3, 0);
const KEY_VALUE_VALUE = tag(2, LENGTH_DELIMITED);
/** Resource.attributes and LogRecord.attributes, repeated KeyValue fields. */
const RESOURCE_ATTRIBUTES = 1;
const LOG_RECORD_ATTRIBUTES = 6;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/**
 * An AnyValue's fields, chosen by the value's type as the SDK's writeAnyValue chooses them, for the
 * values written here: record fields (FieldValue) and resource attributes (strings).
 */
function anyValue(w: Writer, value: FieldValue | undefined): void {
  if (typeof value === 'string') {
    w.byte(STRING_VALUE);
    w.string(value);
  } else if (typeof value === 'boolean') {
    w.byte(tag(2, 0));
    w.byte(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
      w.byte(INT_VALUE);
      w.varint64(value);
    } else {
      w.byte(tag(4, 1));
      w.double(value);
    }
  }
  // null and undefined: an empty AnyValue, as the SDK writes them.
}

/** Resource.attributes, one KeyValue per attribute, in the object's own order. */
function resourceAttributes(w: Writer, values: Readonly<Record<string, FieldValue | undefined>>): void {
  for (const name in values) {
    if (!Object.prototype.hasOwnProperty.call(values, name)) continue;
    attribute(w, RESOURCE_ATTRIBUTES, name, values[name]);
  }
}

/** One KeyValue field (`field`): any key, any value. */
function attribute(w: Writer, field: number, name: string, value: FieldValue | undefined): void {
  w.byte(tag(field, LENGTH_DELIMITED));
  const keyValue = w.begin();
  w.raw(keyField(w, name));
  w.byte(KEY_VALUE_VALUE);
  const any = w.begin();
  anyValue(w, value);
  w.end(any);
  w.end(keyValue);
}

/** The keys recordAttributes wrote last, by their place in the record (see there). */
const lastNames: string[] = [];
const lastKeys: Buffer[] = [];
/**
 * Places remembered: a record of thousands of fields (a bpftrace map's keys) must not grow them for
 * good. A name held here stays until another takes its place (in `keys`, for the process's life).
 */
const PLACES_KEPT = 64;

/** The largest KeyValue whose length is one varint byte; every length inside it is then one byte too. */
const SHORT_KEY_VALUE = 127;
const LOG_ATTRIBUTE = tag(LOG_RECORD_ATTRIBUTES, LENGTH_DELIMITED);

/**
 * Reserves room for a short KeyValue of `anyValueLength` bytes of AnyValue and writes all but that
 * AnyValue (field tag and length, key field, value tag and length); returns where the AnyValue goes
 * in `w.buf`, which the caller writes and then moves `w.pos` past.
 */
function shortKeyValueHead(w: Writer, keyBytes: Buffer, anyValueLength: number): number {
  const keyValueLength = keyBytes.length + 2 + anyValueLength;
  w.reserve(keyValueLength + 2);
  const buf = w.buf;
  let pos = w.pos;
  buf[pos++] = LOG_ATTRIBUTE;
  buf[pos++] = keyValueLength;
  for (let i = 0; i < keyBytes.length; i++) buf[pos++] = keyBytes[i]!;
  buf[pos++] = KEY_VALUE_VALUE;
  buf[pos++] = anyValueLength;
  return pos;
}

/**
 * A record's fields as LogRecord.attributes, nulls left out, each as attribute() writes it. This is
 * the export's inner loop (a record's fields are most of its bytes): the common attribute, an ASCII
 * string or an integer in [0, 2^32) whose KeyValue fits in SHORT_KEY_VALUE bytes, is written with its
 * lengths known beforehand, in place. Any other goes through attribute(). (What that saved is in
 * docs/telemetry.md, Cost.)
 */
function recordAttributes(w: Writer, record: EventRecord): void {
  let ordinal = 0;
  for (const name in record) {
    if (!Object.prototype.hasOwnProperty.call(record, name)) continue;
    const value = record[name];
    if (value === null) continue;
    // The records of a message most often have the same fields in the same order: the field at
    // this place in the last record is most likely this one, and comparing names costs less than a lookup.
    let keyBytes: Buffer;
    if (lastNames[ordinal] === name) keyBytes = lastKeys[ordinal]!;
    else {
      keyBytes = keyField(w, name);
      if (ordinal < PLACES_KEPT) {
        lastNames[ordinal] = name;
        lastKeys[ordinal] = keyBytes;
      }
    }
    ordinal++;
    if (typeof value === 'string') {
      const length = value.length;
      // KeyValue: key, then AnyValue's tag and length, then string_value's tag, length and bytes.
      if (keyBytes.length + 4 + length <= SHORT_KEY_VALUE) {
        let pos = shortKeyValueHead(w, keyBytes, length + 2);
        const buf = w.buf;
        buf[pos++] = STRING_VALUE;
        buf[pos++] = length;
        let ascii = true;
        for (let i = 0; i < length; i++) {
          const code = value.charCodeAt(i);
          if (code > 0x7f) {
            ascii = false;
            break;
          }
          buf[pos++] = code;
        }
        // Not ASCII: its UTF-8 length is not its length; written again the general way.
        if (ascii) {
          w.pos = pos;
          continue;
        }
      }
    } else if (typeof value === 'number' && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) {
      const size = varintSize(value);
      if (keyBytes.length + 3 + size <= SHORT_KEY_VALUE) {
        const pos = shortKeyValueHead(w, keyBytes, size + 1);
        w.buf[pos] = INT_VALUE;
        w.pos = putVarint32(w.buf, pos + 1, value);
        continue;
      }
    }
    attribute(w, LOG_RECORD_ATTRIBUTES, name, value);
  }
}

/** [seconds, nanoseconds] as the two halves of a uint64 of nanoseconds, exactly (the SDK's writeHrTimeAsFixed64). */
function fixed64OfHrTime(w: Writer, [seconds, nanos]: HrTime): void {
  const lower16 = (seconds & 0xffff) * 1_000_000_000;
  const upper = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
  const low = (lower16 >>> 0) + ((((upper & 0xffff) * 0x10000) >>> 0) + nanos);
  const high = Math.floor(lower16 / 0x100000000) + ((upper / 0x10000) >>> 0) + Math.floor(low / 0x100000000);
  w.fixed64(low >>> 0, high >>> 0);
}

/** A record's time field as the fixed64 of time_unix_nano, read by nanosToHrTime; false when it is not a time. */
function timeAsFixed64(w: Writer, value: FieldValue | undefined): boolean {
  const hrTime = nanosToHrTime(value);
  if (hrTime) fixed64OfHrTime(w, hrTime);
  return hrTime !== undefined;
}

/** What every record of a stream shares, encoded once. */
export function logStreamEncoding(stream: EventStream): LogStreamEncoding {
  const w = writer;
  w.pos = 0;
  w.byte(tag(1, LENGTH_DELIMITED));
  const resource = w.begin();
  resourceAttributes(w, stream.resource as Record<string, FieldValue>);
  // dropped_attributes_count, which the SDK always writes.
  w.byte(tag(2, 0));
  w.byte(0);
  w.end(resource);
  const resourceField = w.cut(0);

  w.byte(tag(1, LENGTH_DELIMITED));
  const scope = w.begin();
  w.byte(tag(1, LENGTH_DELIMITED));
  w.string(INSTRUMENTATION_SCOPE.name);
  if (INSTRUMENTATION_SCOPE.version) {
    w.byte(tag(2, LENGTH_DELIMITED));
    w.string(INSTRUMENTATION_SCOPE.version);
  }
  w.end(scope);
  const scopeField = w.cut(0);

  if (stream.eventName) {
    w.byte(tag(12, LENGTH_DELIMITED));
    w.string(stream.eventName);
  }
  return { resource: resourceField, scope: scopeField, eventName: w.cut(0) };
}

/**
 * One ExportLogsServiceRequest of event records as log records: each record's fields its
 * attributes (nulls left out), its time field the timestamp (else the time it was observed), as
 * the SDK's log records would carry them. The records of a stream go under one ResourceLogs and ScopeLogs, streams
 * in the order they first come, as the SDK groups them. The bytes start at the beginning of an
 * ArrayBuffer of their own (`bytes.buffer`), which is the caller's: to transfer, and to hand back
 * with releaseLogsRequest once sent (or to drop).
 */
export function logsRequest(parts: readonly LogRecordsOfStream[]): Buffer {
  const w = idleWriters.pop() ?? new Writer();
  w.pos = 0;
  const byStream = new Map<LogStreamEncoding, LogRecordsOfStream[]>();
  for (const part of parts) {
    const list = byStream.get(part.stream);
    if (list) list.push(part);
    else byStream.set(part.stream, [part]);
  }
  for (const [stream, group] of byStream) {
    // ExportLogsServiceRequest.resource_logs (1); a stream's share of a request is kilobytes, so its lengths take more than a byte.
    w.byte(tag(1, LENGTH_DELIMITED));
    const resourceLogs = w.begin(3);
    w.raw(stream.resource);
    // ResourceLogs.scope_logs (2)
    w.byte(tag(2, LENGTH_DELIMITED));
    const scopeLogs = w.begin(3);
    w.raw(stream.scope);
    for (const part of group) logRecords(w, part);
    w.end(scopeLogs, 3);
    w.end(resourceLogs, 3);
  }
  return w.buf.subarray(0, w.pos);
}

/** ScopeLogs.log_records (2), one per record. */
function logRecords(w: Writer, { stream, timeField, records, observedAt }: LogRecordsOfStream): void {
  // Every record of the part has the same observed time: its field is written once, then copied.
  const mark = w.pos;
  w.byte(tag(11, 1));
  fixed64OfHrTime(w, [Math.floor(observedAt / 1000), (observedAt % 1000) * 1e6]);
  const observed = w.cut(mark);
  const observedTime = observed.subarray(1);
  for (const record of records) {
    w.byte(tag(2, LENGTH_DELIMITED));
    // An event's record is most often 128 bytes to 16 KiB: a length of two bytes.
    const logRecord = w.begin(2);
    // time_unix_nano (1, fixed64)
    w.byte(tag(1, 1));
    if (!timeAsFixed64(w, record[timeField])) w.raw(observedTime);
    // attributes (6)
    recordAttributes(w, record);
    // dropped_attributes_count (7), which the SDK always writes
    w.byte(tag(7, 0));
    w.byte(0);
    // observed_time_unix_nano (11, fixed64)
    w.raw(observed);
    w.raw(stream.eventName);
    w.end(logRecord, 2);
  }
}
