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
/** Stages 0..n released at these times, as their stage_released events say. */
const releasedAt = (...times: number[]) => new Map(times.map((t, stage) => [stage, t]));
const none = new Map<number, number>();

describe('rollout decide', () => {
  it('releases stage 0 at once, and every stage of a job without a rollout is stage 0', () => {
    const runs = [run(0, 'pending'), run(0, 'pending')];
    const decision = decide(job(null), runs, now, none);
    expect(hostsOf(decision.release)).toEqual(hostsOf(runs));
    expect(decision.events[0]).toMatchObject({ kind: 'stage_released', message: expect.stringMatching(/^dispatched the only batch to 2 hosts: /) });
    expect(decision.nextStepAt).toBeUndefined();
  });

  it('names at most ten hosts in a release\'s message, then how many more; its detail counts them', () => {
    const runs = Array.from({ length: 12 }, () => run(0, 'pending'));
    const [released] = decide(job(null), runs, now, none).events;
    const names = runs.slice(0, 10).map((r) => r.hostName).join(', ');
    expect(released).toMatchObject({ kind: 'stage_released', message: `dispatched the only batch to 12 hosts: ${names} and 2 more`, detail: { stage: 0, hostCount: 12 } });
    const [few] = decide(job(null), runs.slice(0, 10).map((r) => ({ ...r })), now, none).events;
    expect(few!.message).toBe(`dispatched the only batch to 10 hosts: ${names}`);
  });

  it('holds the batches until every canary is tracing, then releases the next one and times the one after', () => {
    const rollout = { canary: 2, batchSize: 1, batchIntervalSeconds: 5 };
    const canaries = [run(0, 'running'), run(0, 'loading')];
    const batches = [run(1, 'pending'), run(2, 'pending')];
    expect(decide(job(rollout), [...canaries, ...batches], now, releasedAt(now - 1000))).toEqual({ release: [], expire: [], events: [] });
    canaries[1] = { ...canaries[1]!, state: 'running', startedAt: new Date(now) };
    const decision = decide(job(rollout), [...canaries, ...batches], now, releasedAt(now - 1000));
    expect(hostsOf(decision.release)).toEqual([batches[0]!.hostId]);
    expect(decision.events.map((e) => e.kind)).toEqual(['canary_passed', 'stage_released']);
    expect(decision.nextStepAt).toBe(now + 5000);
  });

  it('releases a later batch only once its interval since the last release has passed', () => {
    const rollout = { batchSize: 1, batchIntervalSeconds: 10 };
    const runs = [run(0, 'running'), run(1, 'pending')];
    expect(decide(job(rollout), runs, now, releasedAt(now - 4000))).toEqual({ release: [], expire: [], events: [], nextStepAt: now + 6000 });
    expect(hostsOf(decide(job(rollout), runs, now, releasedAt(now - 10_000)).release)).toEqual([runs[1]!.hostId]);
  });

  it('stops on a canary that failed or ended without starting, naming its host and cause', () => {
    const failed = run(0, 'failed', { error: 'verifier rejected the program: R1 invalid mem access' });
    const decision = decide(job({ canary: 1 }), [failed, run(1, 'pending')], now, releasedAt(now));
    expect(decision.stop?.reason).toBe(`canary failed on ${failed.hostName}: verifier rejected the program: R1 invalid mem access`);
    expect(decision.stop?.event.kind).toBe('canary_failed');
    const cancelled = run(0, 'cancelled', { error: 'stopped' });
    expect(decide(job({ canary: 1 }), [cancelled, run(1, 'pending')], now, releasedAt(now)).stop?.reason).toMatch(/^canary failed on /);
  });

  it('stops once failures pass maxFailures, as a count or a percent of the runnable hosts', () => {
    const runs = [run(0, 'failed'), run(0, 'budget_exceeded'), run(0, 'running'), run(1, 'pending')];
    expect(decide(job({ batchSize: 3, maxFailures: 2 }), runs, now, releasedAt(now - 60_000)).stop).toBeUndefined();
    expect(decide(job({ batchSize: 3, maxFailures: 1 }), runs, now, releasedAt(now)).stop?.reason).toBe('rollout stopped: 2 failed runs exceed maxFailures 1');
    // 25% of 4 runnable hosts is 1.
    expect(decide(job({ batchSize: 3, maxFailures: '25%' }), runs, now, releasedAt(now)).stop?.event.kind).toBe('rollout_stopped');
    // Hosts that could never run it (unsupported when planned, never released) are no failures.
    const planned = [run(0, 'unsupported', { startDeadline: null }), run(0, 'running'), run(1, 'pending')];
    expect(decide(job({ batchSize: 1, maxFailures: 0 }), planned, now, releasedAt(now - 60_000)).stop).toBeUndefined();
  });

  it('does nothing once no run is pending', () => {
    expect(decide(job({ canary: 1 }), [run(0, 'succeeded'), run(1, 'running')], now, releasedAt(now))).toEqual({ release: [], expire: [], events: [] });
  });

  describe('with run slots', () => {
    const slots = (free: Record<string, number>, slotWaitMs = 600_000) => ({ freeSlots: new Map(Object.entries(free)), slotWaitMs });

    it('releases a stage only into free slots and holds the rest, saying so; a host without a slot count has no limit', () => {
      const runs = [run(0, 'pending'), run(0, 'pending'), run(0, 'pending')];
      const decision = decide(job(null), runs, now, none, slots({ [runs[0]!.hostId]: 1, [runs[1]!.hostId]: 0 }));
      expect(hostsOf(decision.release)).toEqual([runs[0]!.hostId, runs[2]!.hostId]);
      expect(decision.expire).toEqual([]);
      expect(decision.events).toEqual([
        expect.objectContaining({
          kind: 'stage_released',
          message: expect.stringMatching(/^released the only batch to 3 hosts: .*; 1 of them wait for a free run slot on their host$/),
          detail: { stage: 0, hostCount: 3, waiting: 1 },
        }),
      ]);
      // It looks again when the held run's wait ends, if no slot frees before.
      expect(decision.nextStepAt).toBe(now + 600_000);
    });

    it('releases a held run of a released stage when its host has a slot, with no second release event', () => {
      const runs = [run(0, 'succeeded'), run(0, 'pending')];
      const full = decide(job(null), runs, now + 1000, releasedAt(now), slots({ [runs[1]!.hostId]: 0 }));
      expect(full).toEqual({ release: [], expire: [], events: [], nextStepAt: now + 600_000 });
      const freed = decide(job(null), runs, now + 2000, releasedAt(now), slots({ [runs[1]!.hostId]: 1 }));
      expect(hostsOf(freed.release)).toEqual([runs[1]!.hostId]);
      expect(freed.events).toEqual([]);
    });

    it('gives one host slot to one run, the oldest stage first', () => {
      const rollout = { batchSize: 1, batchIntervalSeconds: 0 };
      const older = run(0, 'pending');
      const newer = run(1, 'pending', { hostId: older.hostId });
      const decision = decide(job(rollout), [older, newer], now, releasedAt(now - 5000), slots({ [older.hostId]: 1 }));
      expect(decision.release.map((r) => r.id)).toEqual([older.id]);
      expect(decision.events.map((e) => e.detail)).toEqual([{ stage: 1, hostCount: 1, waiting: 1 }]);
    });

    it('ends a run held past the slot wait missed, but releases it if a slot is free by then', () => {
      const runs = [run(0, 'running'), run(0, 'pending'), run(0, 'pending')];
      const full = slots({ [runs[1]!.hostId]: 0, [runs[2]!.hostId]: 1 }, 60_000);
      const decision = decide(job(null), runs, now + 60_000, releasedAt(now), full);
      expect(decision.expire.map((r) => r.id)).toEqual([runs[1]!.id]);
      expect(decision.release.map((r) => r.id)).toEqual([runs[2]!.id]);
      expect(decision.events).toEqual([
        expect.objectContaining({ kind: 'slot_wait_expired', message: `1 run waited over 60 s for a free run slot, and missed: ${runs[1]!.hostName}` }),
      ]);
      // Before the wait ends it stays held, and a step is due when it ends.
      expect(decide(job(null), runs, now + 59_999, releasedAt(now), full)).toMatchObject({ expire: [], nextStepAt: now + 60_000 });
    });

    it('holds the next batch while a canary waits for its slot', () => {
      const canary = run(0, 'pending');
      const decision = decide(job({ canary: 1, batchSize: 1 }), [canary, run(1, 'pending')], now, releasedAt(now), slots({ [canary.hostId]: 0 }));
      expect(decision).toEqual({ release: [], expire: [], events: [], nextStepAt: now + 600_000 });
    });
  });
});
