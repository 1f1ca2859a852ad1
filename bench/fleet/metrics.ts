// The fleet benchmark's arithmetic, apart from the services it measures: its arguments, the
// targets, latencies into metrics, a schedule's firings into jitters.
import type { ScheduleDetailView } from '@fleettrace/contracts';
import { listOption, option } from '../../libs/bpf-loader/bench/loader.bench';
import { median, percentile, spreadOf } from '../../libs/bpf-loader/bench/stats';
import type { Metric } from '../suite';

export interface FleetArgs {
  /** Fleet sizes, each measured on a fleet of its own. */
  hosts: number[];
  /** Jobs dispatched and cancelled per fleet size. */
  reps: number;
  /** Schedule firings per fleet size; at most 20, as many as GET /v1/schedules/:id lists. */
  firings: number;
  everySeconds: number;
}

export const MAX_FIRINGS = 20;

/** `--hosts 1,10,100 --reps N --firings N --every S`. */
export function fleetArgs(args: readonly string[]): FleetArgs {
  const hosts = listOption(args, 'hosts', ['1', '10', '100', '1000']).map((text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--hosts needs whole numbers ≥ 1, got "${text}"`);
    return n;
  });
  const firings = option(args, 'firings', 15);
  if (firings > MAX_FIRINGS) throw new RangeError(`--firings must be at most ${MAX_FIRINGS}`);
  return { hosts, reps: option(args, 'reps', 20), firings, everySeconds: option(args, 'every', 1) };
}

export type Measured = 'dispatch' | 'cancel' | 'jitter';

const WHAT: Record<Measured, string> = {
  dispatch: 'dispatch: POST /v1/jobs until every run is running',
  cancel: 'cancel: POST /v1/jobs/:id/cancel until every run is cancelled',
  jitter: 'schedule firing jitter: job created minus due time',
};

/** The p99 targets of issue #8 on this machine, in ms, by fleet size; none where it sets none. */
export function targetMs(measured: Measured, hosts: number): number | undefined {
  if (measured === 'jitter') return 1000;
  if (measured === 'dispatch') return hosts === 100 ? 1000 : hosts === 1000 ? 3000 : undefined;
  return hosts === 100 ? 1000 : undefined;
}

/** The p50 and the p99 (nearest rank) of one quantity at one fleet size; the p99 carries the target. */
export function latencyMetrics(measured: Measured, hosts: number, samples: readonly number[], note?: string): Metric[] {
  const spread = samples.length > 0 ? { spread: spreadOf(samples) } : {};
  const target = targetMs(measured, hosts);
  const name = (p: string) => `${WHAT[measured]}, ${p} over ${samples.length}, ${hosts} ${hosts === 1 ? 'host' : 'hosts'}`;
  return [
    { name: name('p50'), value: percentile(samples, 50), unit: 'ms', ...spread, ...(note ? { note } : {}) },
    { name: name('p99'), value: percentile(samples, 99), unit: 'ms', ...spread, ...(target !== undefined ? { target: { op: '<=', value: target } } : {}) },
  ];
}

/** Medians of the stages of many samples, as "label 12 ms, label 30 ms". */
export function stagesNote(stages: ReadonlyArray<{ label: string; samples: readonly number[] }>): string {
  return `medians: ${stages.map((s) => `${s.label} ${Math.round(median(s.samples))} ms`).join(', ')}`;
}

/**
 * How late each started firing made its job (its createdAt minus the time it was due), and why
 * any firing was skipped. Firings whose job is not listed are left out.
 */
export function firingJitters(schedule: Pick<ScheduleDetailView, 'firings' | 'jobs'>): { jitters: number[]; skipped: string[] } {
  const createdAt = new Map(schedule.jobs.map((job) => [job.id, Date.parse(job.createdAt)]));
  const jitters: number[] = [];
  const skipped: string[] = [];
  for (const firing of [...schedule.firings].reverse()) {
    if (firing.outcome === 'skipped') skipped.push(firing.reason ?? 'no reason given');
    const created = firing.jobId === null ? undefined : createdAt.get(firing.jobId);
    if (created !== undefined) jitters.push(created - Date.parse(firing.at));
  }
  return { jitters, skipped };
}
