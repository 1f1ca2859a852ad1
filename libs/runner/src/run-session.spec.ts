import { describe, expect, it } from 'vitest';
import { MapMemoryLimitError, type ProgramStats, type ProgramStatsSwitch } from '@fleettrace/bpf-loader';
import { defaultRunLimits, type AggregateOutput, type RunLimits } from '@fleettrace/contracts';
import { OverheadGuard } from './overhead-guard';
import type { RunnerMessage, RunnerStart } from './protocol';
import { RunLimitError, runSession, type EventsSink, type LoadResult, type RunAdapter, type RunEnd, type SessionContext } from './run-session';

type Done = Extract<RunnerMessage, { type: 'done' }>;

function startOf(limits: Partial<RunLimits> = {}, durationSeconds = 0.05): RunnerStart {
  return { type: 'start', runId: 'r', program: 'x', params: {}, durationSeconds, cgroupId: null, eventsMaxDelayMs: 0, limits: { ...defaultRunLimits(), ...limits } };
}

/** A program kind played by the test: it records what the session asked of it, in order. */
class FakeAdapter implements RunAdapter {
  readonly calls: string[] = [];
  sink: EventsSink | undefined;
  runTimeNs = 0;
  ended?: Promise<void>;
  constructor(
    private readonly opts: {
      load?: LoadResult | (() => never);
      kernelRateLimited?: boolean;
      outputs?: AggregateOutput[];
      onAttach?: (sink: EventsSink) => void;
    } = {},
  ) {}
  load(context: SessionContext): LoadResult {
    this.calls.push('load');
    if (typeof this.opts.load === 'function') this.opts.load();
    this.sink = context.openEvents('ev', 't', { kernelRateLimited: this.opts.kernelRateLimited ?? false });
    return (this.opts.load as LoadResult | undefined) ?? { mapMemory: { estimateBytes: 4096 } };
  }
  attach(): 'attached' {
    this.calls.push('attach');
    this.opts.onAttach?.(this.sink!);
    return 'attached';
  }
  programStats(): ProgramStats[] {
    return [{ name: 'p', id: 1, runTimeNs: this.runTimeNs, runCount: 1, recursionMisses: 0 }];
  }
  async detach(how: RunEnd): Promise<void> {
    this.calls.push(`detach:${how}`);
  }
  finish(how: RunEnd) {
    this.calls.push(`finish:${how}`);
    return { outputs: this.opts.outputs ?? [], lostEvents: 0 };
  }
  close(): void {
    this.calls.push('close');
  }
}

/** A guard with stats faked: no kernel, time driven by the test. */
function fakeGuard(clock: { ns: number }) {
  const enable = async (): Promise<ProgramStatsSwitch> => {
    const stats = { closed: false, close: () => void (stats.closed = true) };
    return stats as unknown as ProgramStatsSwitch;
  };
  return (limits: RunLimits) => (stats: () => ProgramStats[], onExceeded: () => void) =>
    new OverheadGuard(stats, limits.overheadBudgetPercent, limits.overheadWindowMs, onExceeded, () => clock.ns, enable);
}

async function run(start: RunnerStart, adapter: RunAdapter, options: { stop?: Promise<void>; nowNs?: () => number; clock?: { ns: number } } = {}) {
  const messages: RunnerMessage[] = [];
  const clock = options.clock ?? { ns: 0 };
  await runSession(start, adapter, (m) => messages.push(m), options.stop ?? new Promise(() => {}), { nowNs: options.nowNs ?? (() => 0), guard: fakeGuard(clock)(start.limits) });
  return messages;
}

describe('runSession', () => {
  it('goes load → attach → running → detach → draining → finish → done, and closes the adapter', async () => {
    const adapter = new FakeAdapter();
    const messages = await run(startOf(), adapter);
    expect(messages.filter((m) => m.type === 'state').map((m) => (m as { state: string }).state)).toEqual(['loading', 'running', 'draining']);
    expect(adapter.calls).toEqual(['load', 'attach', 'detach:elapsed', 'finish:elapsed', 'close']);
    expect(messages.at(-1)).toMatchObject({ type: 'done', stoppedEarly: false });
  });

  it('reports draining only once the adapter detached: the watchdog then gives the rest until the end deadline', async () => {
    const adapter = new FakeAdapter();
    const order: string[] = [];
    const detach = adapter.detach.bind(adapter);
    adapter.detach = async (how) => {
      order.push('detach begins');
      await detach(how);
      order.push('detach done');
    };
    const start = startOf();
    await runSession(start, adapter, (m) => void (m.type === 'state' && order.push(m.state)), new Promise(() => {}), { nowNs: () => 0, guard: fakeGuard({ ns: 0 })(start.limits) });
    expect(order).toEqual(['loading', 'running', 'detach begins', 'detach done', 'draining']);
  });

  it('turns BPF stats on only once the run is reported running: flipping them on costs the kernel tens of ms that would delay the first event', async () => {
    const adapter = new FakeAdapter();
    const messages: RunnerMessage[] = [];
    const seenAtEnable: string[] = [];
    const enable = async (): Promise<ProgramStatsSwitch> => {
      seenAtEnable.push(...adapter.calls, ...messages.map((m) => (m.type === 'state' ? m.state : m.type)));
      const stats = { closed: false, close: () => void (stats.closed = true) };
      return stats as unknown as ProgramStatsSwitch;
    };
    const start = startOf();
    await runSession(start, adapter, (m) => messages.push(m), new Promise(() => {}), {
      guard: (stats, onExceeded) => new OverheadGuard(stats, start.limits.overheadBudgetPercent, start.limits.overheadWindowMs, onExceeded, () => 0, enable),
    });
    expect(seenAtEnable).toEqual(['load', 'attach', 'loading', 'running']);
    expect(messages.at(-1)).toMatchObject({ type: 'done', overhead: { measured: true } });
  });

  it('applies the events-per-second limit in the runner when the kernel does not, counting the excess as droppedByRate', async () => {
    const records = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    const adapter = new FakeAdapter({
      onAttach: (sink) => {
        // 250 records in one window, under a limit of 100 per second: 100 pass, 150 are dropped by rate.
        const admitted = sink.admit(250);
        for (const record of records(admitted)) sink.add(record);
      },
    });
    const messages = await run(startOf({ eventsPerSecond: 100, maxEventsPerOutput: 60 }), adapter);
    const done = messages.at(-1) as Done;
    expect(done.counters).toEqual({ events: 100, lostEvents: 0, droppedEvents: 40, droppedByRate: 150 });
    expect(done.events).toEqual([{ kind: 'events', name: 'ev', received: 100, dropped: 40 }]);
    expect(messages.flatMap((m) => (m.type === 'events' ? m.records : []))).toHaveLength(60);
    expect(done.limits).toMatchObject({ eventsPerSecond: 100, eventsPerSecondAppliedIn: 'runner', maxEventsPerOutput: 60 });
  });

  it('leaves the events-per-second limit to the kernel when the program applies it', async () => {
    const adapter = new FakeAdapter({ kernelRateLimited: true, onAttach: (sink) => expect(sink.admit(500)).toBe(500) });
    const done = (await run(startOf({ eventsPerSecond: 100 }), adapter)).at(-1) as Done;
    expect(done.limits).toMatchObject({ eventsPerSecondAppliedIn: 'kernel' });
    expect(done.counters.droppedByRate).toBe(0);
  });

  it('caps counts and stacks entries per output, keeping the largest and counting the rest as dropped', async () => {
    const counts: AggregateOutput = {
      kind: 'counts',
      name: 'c',
      unit: 'calls',
      keyFields: ['k'],
      entries: [1, 5, 3, 9, 2].map((value) => ({ key: { k: `k${value}` }, value })),
    };
    const stacks: AggregateOutput = { kind: 'stacks', name: 's', unit: 'samples', entries: [{ stack: 'a', value: 1 }, { stack: 'b', value: 7 }, { stack: 'c', value: 4 }], unsymbolized: 0, lost: 0 };
    const small: AggregateOutput = { ...stacks, name: 'small', entries: [{ stack: 'a', value: 1 }] };
    const done = (await run(startOf({ maxEntriesPerOutput: 2 }), new FakeAdapter({ outputs: [counts, stacks, small] }))).at(-1) as Done;
    expect(done.outputs[0]).toMatchObject({ entries: [{ value: 9 }, { value: 5 }], dropped: 3 });
    expect(done.outputs[1]).toMatchObject({ entries: [{ stack: 'b' }, { stack: 'c' }], dropped: 1 });
    expect(done.outputs[2]).not.toHaveProperty('dropped');
    expect(done.limits).toMatchObject({ maxEntriesPerOutput: 2 });
  });

  it('detaches at the overhead budget and reports budget_exceeded, not a stop', async () => {
    const clock = { ns: 0 };
    const adapter = new FakeAdapter();
    const limits = { overheadBudgetPercent: 2, overheadWindowMs: 1000 };
    const messages: RunnerMessage[] = [];
    let guard: OverheadGuard | undefined;
    const session = runSession(startOf(limits, 30), adapter, (m) => messages.push(m), new Promise(() => {}), {
      guard: (stats, onExceeded) => (guard = fakeGuard(clock)({ ...defaultRunLimits(), ...limits })(stats, onExceeded)),
    });
    await new Promise((resolve) => setImmediate(resolve));
    // 100 ms of BPF time in one second: 10 % of a CPU, over the 2 % budget.
    clock.ns = 1e9;
    adapter.runTimeNs = 1e8;
    guard!.sample();
    await session;
    const done = messages.at(-1) as Done;
    expect(done.budgetExceeded).toMatch(/over the run's overhead budget of 2 %/);
    expect(done).toMatchObject({ stoppedEarly: false, overhead: { budgetExceeded: true, measured: true } });
    expect(adapter.calls).toContain('detach:budget');
  });

  it('reports a stop as stoppedEarly', async () => {
    const adapter = new FakeAdapter();
    const done = (await run(startOf({}, 30), adapter, { stop: Promise.resolve() })).at(-1) as Done;
    expect(done.stoppedEarly).toBe(true);
    expect(adapter.calls).toContain('detach:stopped');
  });

  it('lets a program that ends by itself end the run without a draining state', async () => {
    const adapter = new FakeAdapter();
    adapter.ended = Promise.resolve();
    const messages = await run(startOf({}, 30), adapter);
    expect(messages.filter((m) => m.type === 'state').map((m) => (m as { state: string }).state)).toEqual(['loading', 'running']);
    expect(adapter.calls).toContain('finish:exited');
  });

  it('reports a limit the kind could not apply as not applied, never as applied', async () => {
    const adapter = new FakeAdapter({ load: { mapMemory: { notApplied: 'bpftrace sizes its own maps' } } });
    const done = (await run(startOf(), adapter)).at(-1) as Done;
    expect(done.limits).not.toHaveProperty('mapMemoryBytes');
    expect(done.limits).toMatchObject({ mapMemoryEstimateBytes: null, notApplied: [{ limit: 'mapMemoryBytes', reason: 'bpftrace sizes its own maps' }] });
  });

  it('turns a load over the map-memory limit into a RunLimitError carrying the estimate, and still closes the adapter', async () => {
    const estimate = { totalBytes: 1 << 20, maps: [], possibleCpus: 2 };
    const adapter = new FakeAdapter({
      load: () => {
        throw new MapMemoryLimitError('obj', 4096, estimate as never);
      },
    });
    const error = await run(startOf({ mapMemoryBytes: 4096 }), adapter).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunLimitError);
    expect((error as RunLimitError).limits).toMatchObject({ mapMemoryBytes: 4096, mapMemoryEstimateBytes: 1 << 20 });
    expect(adapter.calls).toEqual(['load', 'close']);
  });
});
