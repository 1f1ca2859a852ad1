import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { HrTime } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { EventRecord } from '@fleettrace/contracts';
import { nanosToHrTime, type EventStream } from './event-log-records';
import { INSTRUMENTATION_SCOPE } from './run-context';
import { logStreamEncoding, logsRequest, releaseLogsRequest } from './otlp-log-encoding';

// The opentelemetry-proto definitions as protobufjs compiled them (as test/support/otlp-receiver.ts loads them).
const root = createRequire(import.meta.url)('otlp-proto-generated/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: { decode(bytes: Uint8Array): unknown; toObject(message: unknown, options: object): unknown } } } } } };
};
const Request = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const decode = (bytes: Uint8Array) =>
  Request.toObject(Request.decode(bytes), { longs: String }) as {
    resourceLogs: Array<{
      resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
      scopeLogs: Array<{ scope: { name: string; version: string }; logRecords: Array<{ timeUnixNano: string; observedTimeUnixNano: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }> }>;
    }>;
  };

const streamA: EventStream = {
  eventName: 'fleettrace.execsnoop.exec',
  resource: { 'service.name': 'fleettrace', 'host.name': 'web-1', 'host.id': 'h1', 'os.kernel.release': '6.1.0-13-amd64', 'fleettrace.job.id': 'j1', 'fleettrace.program': 'execsnoop', 'fleettrace.schedule.id': 's1' },
};
const streamB: EventStream = { eventName: '', resource: { 'service.name': 'fleettrace', 'host.name': 'dß-ü-2', 'host.id': 'h2' } };
const observedAt = new Date(1_733_000_000_123);

/**
 * Event records as the SDK's log records (what the export built before it encoded them itself):
 * the fields the attributes, nulls left out, the time field the timestamp, else the observed time.
 */
function logRecordsOf(stream: { eventName: string; resource: Resource }, timeField: string, records: readonly EventRecord[], observedAt: Date): ReadableLogRecord[] {
  const observed: HrTime = [Math.floor(observedAt.getTime() / 1000), (observedAt.getTime() % 1000) * 1e6];
  return records.map((record) => {
    const attributes: LogAttributes = {};
    for (const [field, value] of Object.entries(record)) if (value !== null) attributes[field] = value;
    return {
      hrTime: nanosToHrTime(record[timeField]) ?? observed,
      hrTimeObserved: observed,
      eventName: stream.eventName,
      resource: stream.resource,
      instrumentationScope: INSTRUMENTATION_SCOPE,
      attributes,
      droppedAttributesCount: 0,
    };
  });
}

/** What the SDK's own serializer writes for the same records: the reference, byte for byte. */
function sdkBytes(parts: Array<[EventStream, string, EventRecord[]]>): Uint8Array {
  const resources = new Map<EventStream, ReturnType<typeof resourceFromAttributes>>();
  const records = parts.flatMap(([stream, timeField, batch]) => {
    let resource = resources.get(stream);
    if (!resource) resources.set(stream, (resource = resourceFromAttributes(stream.resource)));
    return logRecordsOf({ eventName: stream.eventName, resource }, timeField, batch, observedAt);
  });
  return ProtobufLogsSerializer.serializeRequest(records)!;
}

function ourBytes(parts: Array<[EventStream, string, EventRecord[]]>): Buffer {
  const encodings = new Map<EventStream, ReturnType<typeof logStreamEncoding>>();
  const encoded = parts.map(([stream, timeField, batch]) => {
    let encoding = encodings.get(stream);
    if (!encoding) encodings.set(stream, (encoding = logStreamEncoding(stream)));
    return { stream: encoding, timeField, records: batch, observedAt: observedAt.getTime() };
  });
  return logsRequest(encoded);
}

const varied: EventRecord[] = [
  { time_ns: '1733000000123456789', comm: 'sh', pid: 4242, ret: 0, args: '/bin/sh -c true', gone: null },
  { time_ns: 1_733_000_000_000, comm: 'naïve-ö', pid: -17, ratio: 0.25, big: 2 ** 60, small: -(2 ** 40), ok: true, no: false },
  { comm: 'x'.repeat(200), path: `/${'ü'.repeat(70)}`, huge: 'y'.repeat(20_000) },
  { time_ns: '9223372036854775807', '2': 'integer-like key', 'a b': 'spaced key', nan: Number.NaN, inf: Number.POSITIVE_INFINITY },
  { time_ns: 'not a time', n: Number.MAX_SAFE_INTEGER, m: -(2 ** 63), p: 2 ** 63 },
  // Times as nanosToHrTime reads them, and not: 20 digits, a sign, a space, empty, a fraction, negative, past 2^53.
  { time_ns: '12345678901234567890' },
  { time_ns: '+5' },
  { time_ns: ' 5' },
  { time_ns: '' },
  { time_ns: '000000000000000042' },
  { time_ns: 1.5e9 + 0.5 },
  { time_ns: -1 },
  { time_ns: 2 ** 60 },
];

describe('OTLP logs encoded from event records', () => {
  it('writes the bytes the SDK writes for the same records: every value kind, long strings, two streams interleaved', () => {
    const parts: Array<[EventStream, string, EventRecord[]]> = [
      [streamA, 'time_ns', varied.slice(0, 2)],
      [streamB, 'time_ns', varied.slice(2)],
      [streamA, 'time_ns', varied.slice(2, 4)],
    ];
    expect(ourBytes(parts)).toEqual(Buffer.from(sdkBytes(parts)));
  });

  it('is read by the official definitions: resource, scope, times and attributes as stored', () => {
    const [resourceLogs] = decode(ourBytes([[streamA, 'time_ns', varied.slice(0, 2)]])).resourceLogs;
    expect(resourceLogs!.resource.attributes).toContainEqual({ key: 'os.kernel.release', value: { stringValue: '6.1.0-13-amd64' } });
    const [scopeLogs] = resourceLogs!.scopeLogs;
    expect(scopeLogs!.scope).toEqual({ name: '@fleettrace/api', version: '0.1.0' });
    const [first, second] = scopeLogs!.logRecords;
    expect(first!.timeUnixNano).toBe('1733000000123456789');
    expect(first!.observedTimeUnixNano).toBe('1733000000123000000');
    expect(first!.attributes.map((a) => a.key)).toEqual(['time_ns', 'comm', 'pid', 'ret', 'args']);
    expect(first!.attributes[2]).toEqual({ key: 'pid', value: { intValue: '4242' } });
    expect(second!.timeUnixNano).toBe('1733000000000');
    expect(second!.attributes).toEqual(
      expect.arrayContaining([
        { key: 'pid', value: { intValue: '-17' } },
        { key: 'ratio', value: { doubleValue: 0.25 } },
        { key: 'big', value: { intValue: String(2n ** 60n) } },
        { key: 'ok', value: { boolValue: true } },
        { key: 'comm', value: { stringValue: 'naïve-ö' } },
      ]),
    );
  });

  it('writes a stream with megabytes of records: lengths of three bytes and of four, every record decoded', () => {
    const records = Array.from({ length: 4000 }, (_, i) => ({ time_ns: String(1_733_000_000_000_000_000n + BigInt(i)), i, pad: 'z'.repeat(i % 1200) }));
    const parts: Array<[EventStream, string, EventRecord[]]> = [[streamA, 'time_ns', records]];
    const bytes = ourBytes(parts);
    // Past 2^21 bytes a length needs four bytes: more than the three reserved for a stream's.
    expect(bytes.length).toBeGreaterThan(2 ** 21);
    // equals(), not toEqual: vitest compares megabytes element by element for seconds.
    expect(bytes.equals(sdkBytes(parts))).toBe(true);
    expect(decode(bytes).resourceLogs[0]!.scopeLogs[0]!.logRecords.map((log) => log.timeUnixNano)).toEqual(records.map((r) => r.time_ns));
  });

  it('writes what the SDK writes for any records', () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(Number);
    const fieldValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ minLength: 100, maxLength: 140 }), fc.integer(), int64, fc.double(), fc.boolean(), fc.constant(null), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String));
    // Times as they come, and text that only looks like one: digits of any length, signs, spaces, numbers.
    const time = fc.oneof(fc.stringMatching(/^[+ -]?\d{0,21} ?$/), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.double(), int64, fc.constant(null));
    // A field named __proto__ is the one difference, by design: see the next test.
    const fields = fc.dictionary(fc.string({ maxLength: 12 }).filter((name) => name !== '__proto__'), fieldValue, { maxKeys: 8 });
    const record = fc.tuple(fields, fc.option(time, { nil: undefined })).map(([rest, t]) => (t === undefined ? rest : { time_ns: t, ...rest }));
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), fc.boolean(), (records, second) => {
        const parts: Array<[EventStream, string, EventRecord[]]> = [[streamA, 'time_ns', records.slice(0, 10)]];
        if (records.length > 10) parts.push([second ? streamB : streamA, 'time_ns', records.slice(10)]);
        expect(ourBytes(parts)).toEqual(Buffer.from(sdkBytes(parts)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes what the SDK writes at the edges of the short path: every length around a one-byte KeyValue, integers around 2^32, fields that change places', () => {
    // With key "comm" (6 bytes as a field), a string of 117 ASCII bytes makes a KeyValue of 127 bytes, the last whose length is one byte.
    // The second field only changes the key at the second place (its KeyValue is 8-29 bytes).
    const lengths = Array.from({ length: 20 }, (_, i) => 108 + i);
    const records: EventRecord[] = [
      ...lengths.map((n) => ({ comm: 'a'.repeat(n), [`k${'e'.repeat(n % 7)}`]: 'b'.repeat(127 - n) })),
      // 117 characters of which the last takes two bytes: 127 by its length, 128 by its bytes.
      ...lengths.map((n) => ({ comm: `${'a'.repeat(n - 1)}é` })),
      // Long keys: a key of 120 bytes is a field of 122, and with "x" a KeyValue of 122 + 4 + 1 = 127; of 121 with 7, 123 + 3 + 1 = 127.
      // One byte longer each, 128; a key of 130 bytes takes two for its own length.
      { [`${'n'.repeat(120)}`]: 'x', [`${'o'.repeat(121)}`]: 7, [`${'p'.repeat(121)}`]: 'x', [`${'q'.repeat(122)}`]: 7, [`${'m'.repeat(130)}`]: '' },
      { a: 0, b: 127, c: 128, d: 2 ** 31, e: 2 ** 32 - 1, f: 2 ** 32, g: -1, h: 0.5, i: -0 },
      // The same fields in another order, fewer, and more: the places remembered from one record are wrong for the next.
      { b: 1, a: 'x' },
      { a: 'y' },
      Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}`, i % 2 ? i : `v${i}`])),
      Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${79 - i}`, i])),
    ];
    const parts: Array<[EventStream, string, EventRecord[]]> = [[streamA, 'time_ns', records]];
    expect(ourBytes(parts)).toEqual(Buffer.from(sdkBytes(parts)));
  });

  it('keeps a field named __proto__, which the SDK path lost (assigned to an object, it set the prototype)', () => {
    const record = JSON.parse('{"__proto__":"x","comm":"sh"}') as EventRecord;
    const [log] = decode(ourBytes([[streamA, 'time_ns', [record]]])).resourceLogs[0]!.scopeLogs[0]!.logRecords;
    expect(log!.attributes).toEqual([
      { key: '__proto__', value: { stringValue: 'x' } },
      { key: 'comm', value: { stringValue: 'sh' } },
    ]);
  });

  it('writes a request into a buffer an earlier, larger request released, and it still equals the SDK', () => {
    const large: Array<[EventStream, string, EventRecord[]]> = [[streamA, 'time_ns', Array.from({ length: 500 }, (_, i) => ({ time_ns: String(i), pad: 'q'.repeat(300) }))]];
    const small: Array<[EventStream, string, EventRecord[]]> = [[streamB, 'time_ns', varied.slice(0, 2)]];
    const first = ourBytes(large);
    const backing = first.buffer;
    releaseLogsRequest(first.buffer as ArrayBuffer);
    const second = ourBytes(small);
    expect(second.buffer).toBe(backing);
    expect(second.equals(sdkBytes(small))).toBe(true);
  });

  it('hands out each request as the start of an ArrayBuffer of its own, which transfers away without harm', () => {
    const small: Array<[EventStream, string, EventRecord[]]> = [[streamA, 'time_ns', varied.slice(0, 2)]];
    const first = ourBytes(small);
    const length = first.length;
    expect(first.byteOffset).toBe(0);
    // As the queue transfers it to the worker: detached here, whole there.
    const moved = structuredClone(first.buffer as ArrayBuffer, { transfer: [first.buffer as ArrayBuffer] });
    expect(first.buffer.byteLength).toBe(0);
    expect(Buffer.from(moved, 0, length).equals(sdkBytes(small))).toBe(true);
    // Nothing the encoder still uses (its shared writer, its cached keys) was in it.
    expect(ourBytes(small).equals(sdkBytes(small))).toBe(true);
    // Handed back as the worker hands it back, it holds the next request.
    releaseLogsRequest(moved);
    const next = ourBytes(small);
    expect(next.buffer).toBe(moved);
    expect(next.equals(sdkBytes(small))).toBe(true);
  });
});
