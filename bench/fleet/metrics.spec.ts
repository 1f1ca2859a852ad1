import { describe, expect, it } from 'vitest';
import type { ScheduleDetailView } from '@fleettrace/contracts';
import { percentile } from '../../libs/bpf-loader/bench/stats';
import { firingJitters, fleetArgs, latencyMetrics, ratesBetweenRises, ratesOf, requestLatencyMetric, stagesNote, storedRows, targetMs, throughputMetric, exportCostMetrics } from './metrics';

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
  it('defaults to 1, 10, 100 and 1,000 hosts, everything measured, ingest over 60 s, requests at 200/s for 20 s', () => {
    expect(fleetArgs([])).toEqual({
      hosts: [1, 10, 100, 1000],
      measure: new Set(['dispatch', 'jitter', 'requests', 'ingest', 'export', 'ssh']),
      reps: 20,
      firings: 15,
      everySeconds: 1,
      ingestSeconds: 60,
      ingestRecords: 500,
      exportPairs: 4,
      exportWindowSeconds: 20,
      requestRate: 200,
      requestSeconds: 20,
      resultsHosts: 100,
      sshHosts: 10,
    });
  });

  it('takes every option', () => {
    const args = ['--hosts', '1,10,100', '--reps', '5', '--firings', '8', '--every', '2', '--only', 'ingest,requests'];
    const more = ['--ingest-seconds', '30', '--ingest-records', '1000', '--export-pairs', '2', '--export-window-seconds', '10', '--rate', '100', '--request-seconds', '10', '--results-hosts', '50', '--ssh-hosts', '3', '--api-cpu-prof', '/tmp/prof'];
    expect(fleetArgs([...args, ...more])).toEqual({
      hosts: [1, 10, 100],
      measure: new Set(['ingest', 'requests']),
      reps: 5,
      firings: 8,
      everySeconds: 2,
      ingestSeconds: 30,
      ingestRecords: 1000,
      exportPairs: 2,
      exportWindowSeconds: 10,
      requestRate: 100,
      requestSeconds: 10,
      resultsHosts: 50,
      sshHosts: 3,
      apiCpuProfileDir: '/tmp/prof',
    });
  });

  it('measures ingest too when export is asked for: export is measured on ingest\'s stream', () => {
    expect(fleetArgs(['--only', 'export']).measure).toEqual(new Set(['export', 'ingest']));
    expect(fleetArgs(['--only', 'requests']).measure).toEqual(new Set(['requests']));
  });

  it('refuses a measurement it does not know, naming the choices', () => {
    expect(() => fleetArgs(['--only', 'dispatch,latency'])).toThrow('--only takes dispatch, jitter, requests, ingest, export, ssh, got "latency"');
    expect(() => fleetArgs(['--api-cpu-prof'])).toThrow('--api-cpu-prof needs a value');
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

describe('ratesOf', () => {
  it('is the rise over the whole span per second, and per window between samples', () => {
    const rates = ratesOf([
      { at: 1000, count: 0 },
      { at: 2000, count: 100 },
      { at: 2500, count: 100 },
      { at: 4000, count: 400 },
    ]);
    expect(rates).toEqual({ sustained: 400 / 3, windows: [100, 0, 200], seconds: 3, counted: 400 });
  });

  it('counts from the first sample, not from zero', () => {
    expect(ratesOf([{ at: 0, count: 5000 }, { at: 2000, count: 7000 }]).sustained).toBe(1000);
  });

  it('refuses fewer than two samples, and samples out of time order', () => {
    expect(() => ratesOf([{ at: 0, count: 1 }])).toThrow('a rate needs two samples at least, got 1');
    expect(() => ratesOf([{ at: 10, count: 1 }, { at: 10, count: 2 }])).toThrow('samples must be in time order: 10 then 10');
  });
});

describe('ratesBetweenRises', () => {
  it('is the rate from the first rise of the count to the last, not over the whole span', () => {
    // Commits of 50,000 at 0.95 s, 1.95 s and 2.95 s, sampled every 100 ms from 0.5 s to 3.5 s.
    const samples = Array.from({ length: 31 }, (_, i) => {
      const at = 500 + i * 100;
      return { at, count: 50_000 * [950, 1950, 2950].filter((c) => c <= at).length };
    });
    // The whole span says 150,000 in 3 s; between the commits seen (at 1.0 s and 3.0 s) it is 100,000 in 2 s.
    expect(ratesOf(samples).sustained).toBeCloseTo(50_000);
    const rates = ratesBetweenRises(samples);
    expect(rates.sustained).toBeCloseTo(50_000);
    expect([rates.counted, rates.seconds]).toEqual([100_000, 2]);
  });

  it('does not move with where the window starts among the steps', () => {
    // A commit of 50,000 every 0.75 s: 66,667 events/s.
    const commits = Array.from({ length: 40 }, (_, i) => 1000 + i * 750);
    const samples = (start: number) =>
      Array.from({ length: 201 }, (_, i) => {
        const t = start + i * 100;
        return { at: t, count: 50_000 * commits.filter((c) => c <= t).length };
      });
    const starts = [950, 1150, 1350, 1550];
    // Bounded by the clock, a 20 s window sees 26 or 27 commits by where it starts: 65,000/s or 67,500/s.
    expect(new Set(starts.map((start) => Math.round(ratesOf(samples(start)).sustained)))).toEqual(new Set([65_000, 67_500]));
    // Between rises, within what 100 ms at each end can make of ~19 s.
    for (const start of starts) expect(Math.abs(ratesBetweenRises(samples(start)).sustained / (50_000 / 0.75) - 1)).toBeLessThan(0.006);
  });

  it('refuses samples with fewer than two rises', () => {
    expect(() => ratesBetweenRises([{ at: 0, count: 0 }, { at: 100, count: 0 }, { at: 200, count: 5 }, { at: 300, count: 5 }])).toThrow('a rate between rises needs two rises at least, got 1 in 4 samples');
  });
});

describe('storedRows', () => {
  it("is each run's batches from the first seq to its highest, times the records a batch", () => {
    expect(storedRows([1_000_002, null, 1_000_000], 1_000_000, 500)).toBe((3 + 0 + 1) * 500);
  });

  it('is 0 before any batch is stored', () => {
    expect(storedRows([null, null], 7, 100)).toBe(0);
  });

  it('refuses a seq below the first one sent: the count would be wrong', () => {
    expect(() => storedRows([3], 10, 1)).toThrow('seq 3 is below the first one sent, 10');
  });
});

describe('throughputMetric', () => {
  it('puts the ceiling as the reference, the share of it as the ratio and the target on the value', () => {
    const ours = ratesOf([{ at: 0, count: 0 }, { at: 1000, count: 20_000 }, { at: 2000, count: 50_000 }]);
    const copy = ratesOf([{ at: 0, count: 0 }, { at: 1000, count: 100_000 }]);
    expect(throughputMetric('ingest', ours, { name: 'COPY', rates: copy }, 100_000, 'n')).toEqual({
      name: 'ingest',
      value: 25_000,
      unit: 'events/s',
      spread: { min: 20_000, max: 30_000, samples: [20_000, 30_000] },
      reference: { name: 'COPY', value: 100_000, spread: { min: 100_000, max: 100_000, samples: [100_000] } },
      ratio: 0.25,
      target: { op: '>=', value: 100_000 },
      note: 'n',
    });
  });
});

describe('requestLatencyMetric', () => {
  it("is the nearest-rank p99 of every request beside the reference's, with their ratio", () => {
    const ours = Array.from({ length: 200 }, (_, i) => i + 1);
    const reference = Array.from({ length: 100 }, (_, i) => (i + 1) / 10);
    const metric = requestLatencyMetric('GET job', { latencies: ours, achievedRate: 199.5, meanBytes: 12_345.4 }, { name: '404', latencies: reference, achievedRate: 200 }, 50, 'autocannon');
    expect(metric).toMatchObject({
      name: 'GET job, p99 over 200',
      value: 198,
      unit: 'ms',
      reference: { name: '404, p99 over 100', value: 9.9 },
      target: { op: '<=', value: 50 },
      note: 'p50 100 ms (reference 5 ms), max 200 ms; answered 199.5/s (reference 200/s) of 12,345 bytes each; autocannon',
    });
    expect(metric.ratio).toBeCloseTo(20, 10);
  });

  it('sets no target where none is given', () => {
    expect(requestLatencyMetric('x', { latencies: [1], achievedRate: 1, meanBytes: 1 }, { name: 'r', latencies: [1], achievedRate: 1 }, undefined, '').target).toBeUndefined();
  });
});

describe('exportCostMetrics', () => {
  const window = (exportOn: boolean, counted: number, seconds: number, cpu: Record<string, number>) => ({
    exportOn,
    rates: { sustained: counted / seconds, windows: [counted / seconds], seconds, counted },
    cpu,
  });

  it('sums each side over its windows, so a slower window weighs as long as it lasted, and sets the ratio against the 5 % budget', () => {
    const [rate, cpuUs] = exportCostMetrics(
      [window(false, 200_000, 10, { api: 50 }), window(true, 190_000, 10, { api: 60 }), window(true, 100_000, 5, { api: 60 }), window(false, 100_000, 10, { api: 30 })],
      'n',
    );
    // off: 300,000 events in 20 s; on: 290,000 in 15 s.
    expect(rate).toMatchObject({ value: 19_333, reference: { value: 15_000 }, target: { op: '>=', ratio: 0.95 } });
    expect(rate!.ratio).toBeCloseTo(19_333.33 / 15_000, 4);
    expect(rate!.note).toContain('off 20000, on 19000, on 20000, off 10000');
    // off: (0.5 * 10 + 0.3 * 10) CPU s over 300,000 events = 26.67 us; on: 0.6 * 15 over 290,000 = 31.03 us.
    expect(cpuUs).toMatchObject({ name: 'api CPU per event ingested with OTLP export on, beside off', value: 31.03, reference: { value: 26.67 }, unit: 'us/event' });
  });

  it('refuses a run that measured only one side', () => {
    expect(() => exportCostMetrics([window(false, 1, 1, {})], 'n')).toThrow('no window with export on');
  });
});
