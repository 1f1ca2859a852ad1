import { describe, expect, it } from 'vitest';
import type { RunState } from '@fleettrace/contracts';
import type { JobRecord } from '../repositories/job.repository';
import type { RunRecord } from '../repositories/run.repository';
import { decide } from './rollout.service';

const now = 1_700_000_000_000;
const job = (rollout: JobRecord['rollout']): JobRecord =>
  ({ id: 'j', rollout, program: 'syscount', durationSeconds: 10, limits: { graceSeconds: 5, maxEventsPerOutput: 10 } }) as JobRecord;
let n = 0;
const run = (stage: number, state: RunState, extra: Partial<RunRecord> = {}): RunRecord =>
  ({
    id: `r${++n}`,
    jobId: 'j',
    hostId: `h${n}`,
    hostName: `host-${n}`,
    stage,
    state,
    error: null,
    startDeadline: state === 'pending' ? null : new Date(now),
    startedAt: ['running', 'draining', 'succeeded'].includes(state) ? new Date(now) : null,
    ...extra,
  }) as RunRecord;
const hostsOf = (runs: RunRecord[]) => runs.map((r) => r.hostId);

describe('rollout decide', () => {
  it('releases stage 0 at once, and every stage of a job without a rollout is stage 0', () => {
    const runs = [run(0, 'pending'), run(0, 'pending')];
    const decision = decide(job(null), runs, now, undefined);
    expect(hostsOf(decision.release)).toEqual(hostsOf(runs));
    expect(decision.events[0]).toMatchObject({ kind: 'stage_released', message: expect.stringMatching(/^dispatched the only batch to 2 hosts: /) });
    expect(decision.nextStepAt).toBeUndefined();
  });

  it('names at most ten hosts in a release\'s message, then how many more; its detail counts them', () => {
    const runs = Array.from({ length: 12 }, () => run(0, 'pending'));
    const [released] = decide(job(null), runs, now, undefined).events;
    const names = runs.slice(0, 10).map((r) => r.hostName).join(', ');
    expect(released).toMatchObject({ kind: 'stage_released', message: `dispatched the only batch to 12 hosts: ${names} and 2 more`, detail: { stage: 0, hostCount: 12 } });
    const [few] = decide(job(null), runs.slice(0, 10).map((r) => ({ ...r })), now, undefined).events;
    expect(few!.message).toBe(`dispatched the only batch to 10 hosts: ${names}`);
  });

  it('holds the batches until every canary is tracing, then releases the next one and times the one after', () => {
    const rollout = { canary: 2, batchSize: 1, batchIntervalSeconds: 5 };
    const canaries = [run(0, 'running'), run(0, 'loading')];
    const batches = [run(1, 'pending'), run(2, 'pending')];
    expect(decide(job(rollout), [...canaries, ...batches], now, now - 1000)).toEqual({ release: [], events: [] });
    canaries[1] = { ...canaries[1]!, state: 'running', startedAt: new Date(now) };
    const decision = decide(job(rollout), [...canaries, ...batches], now, now - 1000);
    expect(hostsOf(decision.release)).toEqual([batches[0]!.hostId]);
    expect(decision.events.map((e) => e.kind)).toEqual(['canary_passed', 'stage_released']);
    expect(decision.nextStepAt).toBe(now + 5000);
  });

  it('releases a later batch only once its interval since the last release has passed', () => {
    const rollout = { batchSize: 1, batchIntervalSeconds: 10 };
    const runs = [run(0, 'running'), run(1, 'pending')];
    expect(decide(job(rollout), runs, now, now - 4000)).toEqual({ release: [], events: [], nextStepAt: now + 6000 });
    expect(hostsOf(decide(job(rollout), runs, now, now - 10_000).release)).toEqual([runs[1]!.hostId]);
  });

  it('stops on a canary that failed or ended without starting, naming its host and cause', () => {
    const failed = run(0, 'failed', { error: 'verifier rejected the program: R1 invalid mem access' });
    const decision = decide(job({ canary: 1 }), [failed, run(1, 'pending')], now, now);
    expect(decision.stop?.reason).toBe(`canary failed on ${failed.hostName}: verifier rejected the program: R1 invalid mem access`);
    expect(decision.stop?.event.kind).toBe('canary_failed');
    const cancelled = run(0, 'cancelled', { error: 'stopped' });
    expect(decide(job({ canary: 1 }), [cancelled, run(1, 'pending')], now, now).stop?.reason).toMatch(/^canary failed on /);
  });

  it('stops once failures pass maxFailures, as a count or a percent of the runnable hosts', () => {
    const runs = [run(0, 'failed'), run(0, 'budget_exceeded'), run(0, 'running'), run(1, 'pending')];
    expect(decide(job({ batchSize: 3, maxFailures: 2 }), runs, now, now - 60_000).stop).toBeUndefined();
    expect(decide(job({ batchSize: 3, maxFailures: 1 }), runs, now, now).stop?.reason).toBe('rollout stopped: 2 failed runs exceed maxFailures 1');
    // 25% of 4 runnable hosts is 1.
    expect(decide(job({ batchSize: 3, maxFailures: '25%' }), runs, now, now).stop?.event.kind).toBe('rollout_stopped');
    // Hosts that could never run it (unsupported when planned, never released) are no failures.
    const planned = [run(0, 'unsupported', { startDeadline: null }), run(0, 'running'), run(1, 'pending')];
    expect(decide(job({ batchSize: 1, maxFailures: 0 }), planned, now, now - 60_000).stop).toBeUndefined();
  });

  it('does nothing once no run is pending', () => {
    expect(decide(job({ canary: 1 }), [run(0, 'succeeded'), run(1, 'running')], now, now)).toEqual({ release: [], events: [] });
  });
});
