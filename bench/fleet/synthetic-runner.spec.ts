import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AggregateOutput, EventsMessage, ResultMessage, type RunDispatch, defaultRunLimits } from '@fleettrace/contracts';
import { getProgram } from '@fleettrace/programs';
import { RunExecutor } from '../../libs/runner/src/run-executor';
import { syntheticLauncher, syntheticResults } from './synthetic-runner';

const NOW = Date.parse('2030-01-01T00:00:00Z');

function dispatchOf(program: string): RunDispatch {
  return {
    runId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c01',
    jobId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c02',
    hostId: 'sim-n1-0001',
    program,
    params: {},
    durationSeconds: 30,
    startDeadline: NOW + 30_000,
    endDeadline: NOW + 65_000,
    limits: { ...defaultRunLimits(), maxEventsPerOutput: 100 },
    // The executor runs what the host's DispatchVerifier already checked: these are not looked at.
    programSha256: '0'.repeat(64),
    signature: 'checked before the executor',
  };
}

/** A simulated host's executor, as the simulator builds it, publishing into a list. */
function host(cancelled: Record<string, string> = {}) {
  const messages: ResultMessage[] = [];
  const results = { publish: async (m: ResultMessage) => void messages.push(ResultMessage.parse(m)) };
  const executor = new RunExecutor(results, syntheticLauncher({ eventsPerOutput: 3 }), null, () => undefined, Date.now, {
    reasonFor: async (runId) => cancelled[runId],
  });
  const kinds = () => messages.map((m) => (m.type === 'state' || m.type === 'summary' ? `${m.type}:${m.state}` : m.type));
  return { executor, messages, kinds };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});
afterEach(() => vi.useRealTimers());

describe('a simulated host running a run through the daemon\'s RunExecutor', () => {
  it('reports dispatched and running at once, then events and a succeeded summary at the duration', async () => {
    const { executor, messages, kinds } = host();
    const done = executor.execute(dispatchOf('execsnoop'));
    await vi.advanceTimersByTimeAsync(0);
    expect(kinds()).toEqual(['state:dispatched', 'state:loading', 'state:running']);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(kinds()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toBe('succeeded');
    expect(kinds()).toEqual(['state:dispatched', 'state:loading', 'state:running', 'state:draining', 'events', 'summary:succeeded']);
    const summary = messages.at(-1)!;
    expect(summary).toMatchObject({ at: NOW + 30_000, events: [{ kind: 'events', name: 'execs', received: 3, dropped: 0 }], counters: { events: 3 } });
  });

  it('ends the run cancelled at once when the API cancels it mid-run, with the reason', async () => {
    const { executor, messages, kinds } = host();
    const done = executor.execute(dispatchOf('syscount'));
    await vi.advanceTimersByTimeAsync(1000);
    executor.cancel(dispatchOf('syscount').runId, 'cancelled by admin');
    expect(await done).toBe('cancelled');
    expect(kinds()).toEqual(['state:dispatched', 'state:loading', 'state:running', 'state:draining', 'summary:cancelled']);
    const summary = messages.at(-1) as Extract<ResultMessage, { type: 'summary' }>;
    expect(summary).toMatchObject({ at: NOW + 1000, error: 'cancelled by admin' });
    expect(summary.outputs.map((o) => `${o.kind} ${o.name}`)).toEqual(['counts syscalls', 'counts processes']);
  });

  it('ends a run cancelled before it took it without starting, as the daemon reads the cancel mark first', async () => {
    const { executor, kinds } = host({ [dispatchOf('execsnoop').runId]: 'cancelled by admin' });
    expect(await executor.execute(dispatchOf('execsnoop'))).toBe('cancelled');
    expect(kinds()).toEqual(['summary:cancelled']);
  });
});

describe('syntheticResults', () => {
  it.each(['runqlat', 'syscount', 'profile', 'execsnoop', 'tcpconnect'])("gives %s's outputs in the shapes the API stores", (name) => {
    const program = getProgram(name)!;
    const results = syntheticResults(program.outputs, 7, 2, NOW);
    for (const output of results.aggregates) AggregateOutput.parse(output);
    for (const batch of results.events) {
      EventsMessage.parse({ type: 'events', runId: 'r', seq: 0, ...batch });
      expect(batch.records).toHaveLength(2);
      expect(batch.records[1]![batch.timeField]).toBe(`${BigInt(NOW - 1) * 1_000_000n}`);
    }
    expect([...results.aggregates.map((o) => o.name), ...results.events.map((e) => e.output)].sort()).toEqual(program.outputs.map((o) => o.name).sort());
  });

  it('turns a counts output keyed by stacks into folded stacks, as the runner symbolizes them on the host', () => {
    const [stacks] = syntheticResults(getProgram('profile')!.outputs, 1, 0, NOW).aggregates;
    expect(stacks).toMatchObject({ kind: 'stacks', unsymbolized: 0, lost: 0 });
  });
});
