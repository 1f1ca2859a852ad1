import { describe, expect, it } from 'vitest';
import { getProgram, programNames } from '@fleettrace/programs';
import { eventLogRecords, nanosToHrTime } from './event-log-records';
import type { RunTelemetryContext } from './run-context';

const catalog = { get: getProgram, names: programNames };
const ctx: RunTelemetryContext = {
  runId: 'r',
  jobId: 'j',
  hostId: 'h1',
  hostName: 'web-1',
  kernelRelease: '6.1.0',
  program: 'execsnoop',
  scheduleId: 's',
  startedAt: new Date(0),
};

describe('events as log records', () => {
  it('names each record as the catalog names the output and takes its time field as the timestamp', () => {
    const [record] = eventLogRecords(ctx, { type: 'events', runId: 'r', seq: 0, output: 'execs', timeField: 'time_ns', records: [{ time_ns: '1700000000123456789', comm: 'sh', ret: null }] }, catalog, new Date(5000));
    expect(record!.eventName).toBe('fleettrace.execsnoop.exec');
    expect(record!.hrTime).toEqual([1700000000, 123456789]);
    expect(record!.hrTimeObserved).toEqual([5, 0]);
    expect(record!.attributes).toEqual({ time_ns: '1700000000123456789', comm: 'sh' });
    expect(record!.resource.attributes).toMatchObject({ 'host.name': 'web-1', 'fleettrace.schedule.id': 's', 'fleettrace.job.id': 'j' });
  });

  it('names an inline program output after its kind, and falls back to the observed time when there is no time', () => {
    const [record] = eventLogRecords({ ...ctx, program: 'bpftrace' }, { type: 'events', runId: 'r', seq: 0, output: '@Lines[1]', timeField: 't', records: [{ x: 1 }] }, catalog, new Date(1500));
    expect(record!.eventName).toBe('fleettrace.bpftrace.lines_1');
    expect(record!.hrTime).toEqual([1, 500_000_000]);
  });

  it('reads epoch nanoseconds exactly, past 2^53 too', () => {
    expect(nanosToHrTime('9223372036854775807')).toEqual([9223372036, 854775807]);
    expect(nanosToHrTime(1_000_000_001)).toEqual([1, 1]);
    expect(nanosToHrTime('999999999')).toEqual([0, 999_999_999]);
    expect(nanosToHrTime('1000000000')).toEqual([1, 0]);
    expect(nanosToHrTime('0')).toEqual([0, 0]);
    expect(nanosToHrTime('-5')).toBeUndefined();
    expect(nanosToHrTime(null)).toBeUndefined();
  });
});
