import { describe, expect, it } from 'vitest';
import type { ScheduleDetailView } from '@fleettrace/contracts';
import { percentile } from '../../libs/bpf-loader/bench/stats';
import { firingJitters, fleetArgs, latencyMetrics, stagesNote, targetMs } from './metrics';

describe('percentile', () => {
  it('is the nearest-rank sample, never an interpolation', () => {
    const samples = [40, 10, 30, 20];
    expect(percentile(samples, 50)).toBe(20);
    expect(percentile(samples, 75)).toBe(30);
    expect(percentile(samples, 99)).toBe(40);
    expect(percentile(samples, 100)).toBe(40);
  });

  it('is the largest sample for p99 under 100 samples, and the 99th of 100', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred.slice(0, 20), 99)).toBe(20);
  });

  it('is NaN without samples and refuses a percentile outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('fleetArgs', () => {
  it('defaults to 1, 10, 100 and 1,000 hosts', () => {
    expect(fleetArgs([])).toEqual({ hosts: [1, 10, 100, 1000], reps: 20, firings: 15, everySeconds: 1 });
  });

  it('takes --hosts, --reps, --firings and --every', () => {
    expect(fleetArgs(['--hosts', '1,10,100', '--reps', '5', '--firings', '8', '--every', '2'])).toEqual({ hosts: [1, 10, 100], reps: 5, firings: 8, everySeconds: 2 });
  });

  it('refuses host counts that are no whole number, and more firings than a schedule lists', () => {
    expect(() => fleetArgs(['--hosts', '10,ten'])).toThrow('--hosts needs whole numbers ≥ 1, got "ten"');
    expect(() => fleetArgs(['--hosts', '0'])).toThrow(RangeError);
    expect(() => fleetArgs(['--firings', '21'])).toThrow('--firings must be at most 20');
  });
});

describe('latencyMetrics', () => {
  it('gives the p50 with the note and the p99 with the target of its fleet size', () => {
    const [p50, p99] = latencyMetrics('dispatch', 1000, [900, 1200, 2500, 1000], 'medians: ...');
    expect(p50).toMatchObject({ name: 'dispatch: POST /v1/jobs until every run is running, p50 over 4, 1000 hosts', value: 1000, unit: 'ms', note: 'medians: ...' });
    expect(p99).toMatchObject({ value: 2500, target: { op: '<=', value: 3000 } });
    expect(p99!.spread).toEqual({ min: 900, max: 2500, samples: [900, 1200, 2500, 1000] });
  });

  it('shows a quantity that could not be measured as NaN, with why', () => {
    const [p50, p99] = latencyMetrics('jitter', 10, [], 'not measured: no firing');
    expect(p50).toEqual({ name: 'schedule firing jitter: job created minus due time, p50 over 0, 10 hosts', value: Number.NaN, unit: 'ms', note: 'not measured: no firing' });
    expect(p99!.value).toBeNaN();
  });

  it('sets no target where issue #8 sets none', () => {
    expect(latencyMetrics('cancel', 10, [5])[1]!.target).toBeUndefined();
    expect(latencyMetrics('jitter', 1, [5])[1]!.target).toEqual({ op: '<=', value: 1000 });
    expect([targetMs('dispatch', 100), targetMs('cancel', 100), targetMs('cancel', 1000), targetMs('dispatch', 10)]).toEqual([1000, 1000, undefined, undefined]);
  });
});

describe('stagesNote', () => {
  it('names the median of each stage', () => {
    expect(stagesNote([{ label: 'answered', samples: [10, 30, 20] }, { label: 'all running', samples: [100.4, 300] }])).toBe('medians: answered 20 ms, all running 200 ms');
  });
});

describe('firingJitters', () => {
  const job = (id: string, createdAt: string) => ({ id, createdAt }) as ScheduleDetailView['jobs'][number];

  it("is each started firing's job createdAt minus its due time, oldest first; skipped firings say why", () => {
    const schedule = {
      firings: [
        { at: '2030-01-01T00:00:03.000Z', outcome: 'started', jobId: 'j3', reason: null },
        { at: '2030-01-01T00:00:02.000Z', outcome: 'skipped', jobId: null, reason: 'the previous job j1 is still running' },
        { at: '2030-01-01T00:00:01.000Z', outcome: 'started', jobId: 'j1', reason: null },
      ],
      jobs: [job('j3', '2030-01-01T00:00:03.250Z'), job('j1', '2030-01-01T00:00:01.040Z')],
    } satisfies Pick<ScheduleDetailView, 'firings' | 'jobs'>;
    expect(firingJitters(schedule)).toEqual({ jitters: [40, 250], skipped: ['the previous job j1 is still running'] });
  });

  it('leaves out a firing whose job is not listed', () => {
    const schedule = { firings: [{ at: '2030-01-01T00:00:01.000Z', outcome: 'started' as const, jobId: 'gone', reason: null }], jobs: [] };
    expect(firingJitters(schedule)).toEqual({ jitters: [], skipped: [] });
  });
});
