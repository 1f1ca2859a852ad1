import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getProgram, programNames } from '@fleettrace/programs';
import { eventStream, nanosToHrTime } from './event-log-records';
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
  it("names a stream's records as the catalog names the output, with the run's host and job as their resource", () => {
    const stream = eventStream(ctx, 'execs', catalog);
    expect(stream.eventName).toBe('fleettrace.execsnoop.exec');
    expect(stream.resource).toMatchObject({ 'host.name': 'web-1', 'os.kernel.release': '6.1.0', 'fleettrace.schedule.id': 's', 'fleettrace.job.id': 'j' });
  });

  it('names an inline program output after its kind', () => {
    expect(eventStream({ ...ctx, program: 'bpftrace' }, '@Lines[1]', catalog).eventName).toBe('fleettrace.bpftrace.lines_1');
  });

  it('reads epoch nanoseconds exactly, past 2^53 too', () => {
    expect(nanosToHrTime('9223372036854775807')).toEqual([9223372036, 854775807]);
    expect(nanosToHrTime(1_000_000_001)).toEqual([1, 1]);
    expect(nanosToHrTime('999999999')).toEqual([0, 999_999_999]);
    expect(nanosToHrTime('1000000000')).toEqual([1, 0]);
    expect(nanosToHrTime('0')).toEqual([0, 0]);
    expect(nanosToHrTime('-5')).toBeUndefined();
    expect(['12345678901234567890', '+5', ' 5', '5 ', '', '1.5', '1e9'].map(nanosToHrTime)).toEqual(Array(7).fill(undefined));
    expect(nanosToHrTime('0000000001')).toEqual([0, 1]);
    expect(nanosToHrTime(null)).toBeUndefined();
  });

  it('reads decimal text as 1-19 digits split at the ninth from the end, as a regular expression and slices would', () => {
    const byPattern = (text: string) => (/^\d{1,19}$/.test(text) ? (text.length <= 9 ? [0, Number(text)] : [Number(text.slice(0, -9)), Number(text.slice(-9))]) : undefined);
    const text = fc.oneof(fc.stringMatching(/^\d{0,21}$/), fc.string({ maxLength: 21 }), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String));
    fc.assert(
      fc.property(text, (value) => {
        expect(nanosToHrTime(value)).toEqual(byPattern(value));
      }),
      { numRuns: 2000 },
    );
  });
});
