import { describe, expect, it } from 'vitest';
import { defaultRunLimits, type ResultMessage, type RunDispatch } from '@fleettrace/contracts';
import { RunExecutor, summarize, type RunnerLauncher } from './run-executor';
import type { RunnerOutcome } from './runner-process';
import type { RunnerMessage, RunnerStart } from './protocol';

const dispatch: RunDispatch = {
  runId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c01',
  jobId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c02',
  hostId: 'h1',
  program: 'syscount',
  params: {},
  durationSeconds: 2,
  startDeadline: 10_000,
  endDeadline: 17_000,
  limits: { ...defaultRunLimits(), maxEventsPerOutput: 100 },
  // The executor runs what the host's DispatchVerifier already checked: these are not looked at.
  programSha256: '0'.repeat(64),
  signature: 'checked before the executor',
};
const ok: RunnerOutcome = { exitCode: 0, signal: null, killedByWatchdog: false, stderrTail: '' };

function fakeLauncher(script: RunnerMessage[], outcome: RunnerOutcome, seen: { killAfterMs?: number; cgroupId?: string | null; cgroupPath?: string }): RunnerLauncher {
  return (start, killAfterMs, onMessage) => {
    seen.killAfterMs = killAfterMs;
    seen.cgroupId = start.cgroupId;
    seen.cgroupPath = start.cgroupPath;
    return {
      pid: 4242,
      stop: () => {},
      kill: () => {},
      outcome: (async () => {
        for (const message of script) onMessage(message);
        return outcome;
      })(),
    };
  };
}

function recorder(): { messages: ResultMessage[]; publish: (m: ResultMessage) => Promise<void> } {
  const messages: ResultMessage[] = [];
  return { messages, publish: async (m) => void messages.push(m) };
}

describe('RunExecutor', () => {
  it('reports dispatched, the runner states, numbered event batches, then the summary, in order', async () => {
    const sink = recorder();
    const seen: { killAfterMs?: number; cgroupId?: string | null; cgroupPath?: string } = {};
    const script: RunnerMessage[] = [
      { type: 'state', state: 'loading' },
      { type: 'state', state: 'running' },
      { type: 'events', output: 'exec', timeField: 't', records: [{ a: 1 }] },
      { type: 'events', output: 'exec', timeField: 't', records: [{ a: 2 }] },
      { type: 'state', state: 'draining' },
      { type: 'done', outputs: [], events: [{ kind: 'events', name: 'exec', received: 2, dropped: 0 }], counters: { events: 2, lostEvents: 0, droppedEvents: 0 }, stoppedEarly: false },
    ];
    const executor = new RunExecutor(sink, fakeLauncher(script, ok, seen), { id: 77n, path: '/sys/fs/cgroup/unified/host-a' }, () => {}, () => 1000);
    expect(await executor.execute(dispatch)).toBe('succeeded');
    expect(seen).toEqual({ killAfterMs: 16_000, cgroupId: '77', cgroupPath: '/sys/fs/cgroup/unified/host-a' });
    expect(sink.messages.map((m) => (m.type === 'state' || m.type === 'summary' ? `${m.type}:${m.state}` : m.type === 'events' ? `events:${m.seq}` : m.type))).toEqual([
      'state:dispatched',
      'state:loading',
      'state:running',
      'events:0',
      'events:1',
      'state:draining',
      'summary:succeeded',
    ]);
  });

  it('continues the dispatch\'s trace context: its log lines name the run span, and it goes back with the results', async () => {
    const traceparent = '00-5b0f8e554c664e0b9d430d7d9e0a1c02-8a3c60f7d188f8fa-01';
    const sink = recorder();
    const lines: string[] = [];
    const script: RunnerMessage[] = [
      { type: 'state', state: 'running' },
      { type: 'done', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 }, stoppedEarly: false },
    ];
    const executor = new RunExecutor(sink, fakeLauncher(script, ok, {}), null, (line) => lines.push(line), () => 1000);
    expect(await executor.execute({ ...dispatch, traceparent })).toBe('succeeded');
    const returned = sink.messages.map((m) => [m.type === 'state' || m.type === 'summary' ? m.state : m.type, 'traceparent' in m ? m.traceparent : undefined]);
    expect(returned).toEqual([
      ['dispatched', traceparent],
      ['running', undefined],
      ['succeeded', traceparent],
    ]);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/ trace_id=5b0f8e554c664e0b9d430d7d9e0a1c02 span_id=8a3c60f7d188f8fa$/);

    // A run that never starts returns it too; a dispatch without one (an older API) gets none.
    const missed = recorder();
    await new RunExecutor(missed, fakeLauncher([], ok, {}), null, (line) => lines.push(line), () => 13_000).execute({ ...dispatch, traceparent });
    expect(missed.messages).toEqual([expect.objectContaining({ state: 'missed', traceparent })]);
    const untraced = recorder();
    await new RunExecutor(untraced, fakeLauncher(script, ok, {}), null, () => {}, () => 1000).execute(dispatch);
    expect(untraced.messages.filter((m) => 'traceparent' in m)).toEqual([]);
  });

  it('marks a run missed, without starting a runner, when its start deadline has passed', async () => {
    const sink = recorder();
    const launcher: RunnerLauncher = () => {
      throw new Error('must not launch');
    };
    const executor = new RunExecutor(sink, launcher, null, () => {}, () => 13_000);
    expect(await executor.execute(dispatch)).toBe('missed');
    expect(sink.messages).toEqual([expect.objectContaining({ type: 'summary', state: 'missed', error: 'start deadline passed 3 s before this host took the run' })]);
  });

  it('passes the dispatch\'s limits to the runner whole, as the API resolved them', async () => {
    let seen: RunnerStart | undefined;
    const launcher: RunnerLauncher = (start, _kill, _onMessage) => {
      seen = start;
      return { pid: 1, stop: () => {}, kill: () => {}, outcome: Promise.resolve(ok) };
    };
    const executor = new RunExecutor(recorder(), launcher, null, () => {}, () => 0);
    await executor.execute({ ...dispatch, limits: { ...dispatch.limits, eventsPerSecond: 50, overheadBudgetPercent: 5 } });
    expect(seen?.limits).toEqual({ ...dispatch.limits, eventsPerSecond: 50, overheadBudgetPercent: 5 });
  });

  it('gives the launcher the end deadline as the outer limit, and the runner its start allowance read from the deadlines', async () => {
    let seen: { killAfterMs?: number; start?: RunnerStart } = {};
    const launcher: RunnerLauncher = (start, killAfterMs) => {
      seen = { killAfterMs, start };
      return { pid: 1, stop: () => {}, kill: () => {}, outcome: Promise.resolve(ok) };
    };
    // 17 s − 10 s between the deadlines, less duration 2 s and grace 5 s: no start allowance (a catalog program, a host that measured nothing).
    await new RunExecutor(recorder(), launcher, null, () => {}, () => 9_000).execute(dispatch);
    expect(seen.killAfterMs).toBe(17_000 - 9_000);
    expect(seen.start?.startAllowanceMs).toBe(0);
    await new RunExecutor(recorder(), launcher, null, () => {}, () => 0).execute({ ...dispatch, program: { kind: 'bpftrace', script: 'BEGIN {}' }, endDeadline: 56_000 });
    expect(seen.start?.startAllowanceMs).toBe(39_000);
  });

  /** A runner that reports `script` and then neither detaches nor ends, until it is killed. */
  function stuckRunner(script: RunnerMessage[], killed: { count: number }): RunnerLauncher {
    return (_start, _killAfterMs, onMessage) => {
      let die: () => void = () => {};
      const dead = new Promise<void>((resolve) => (die = resolve));
      for (const message of script) onMessage(message);
      return {
        pid: 1,
        stop: () => {},
        kill: () => {
          killed.count++;
          die();
        },
        outcome: dead.then(() => ({ exitCode: null, signal: 'SIGKILL' as const, killedByWatchdog: false, stderrTail: '' })),
      };
    };
  }
  const quick = (startAllowanceMs: number): RunDispatch => {
    const now = Date.now();
    const limits = { ...dispatch.limits, graceSeconds: 0.05 };
    return { ...dispatch, durationSeconds: 1, limits, startDeadline: now + 10_000, endDeadline: now + 10_000 + startAllowanceMs + 1000 + 50 };
  };

  it('kills a run that did not attach within start allowance + duration + grace, saying which step overran', async () => {
    const sink = recorder();
    const killed = { count: 0 };
    const state = await new RunExecutor(sink, stuckRunner([{ type: 'state', state: 'loading' }], killed), null, () => {}).execute(quick(100));
    expect(state).toBe('timed_out');
    expect(killed.count).toBe(1);
    expect(sink.messages.at(-1)).toMatchObject({
      type: 'summary',
      state: 'timed_out',
      error: 'the run did not start within its start allowance + duration + grace (1.2 s): its host was still loading and attaching, and the runner was killed',
    });
  });

  it('once attached, kills at duration + grace from the attach, not at the start allowance', async () => {
    const sink = recorder();
    const killed = { count: 0 };
    const script: RunnerMessage[] = [{ type: 'state', state: 'loading' }, { type: 'state', state: 'running' }];
    // Attached at once: killed by the run phase's rule, which names the attach.
    const state = await new RunExecutor(sink, stuckRunner(script, killed), null, () => {}).execute(quick(100));
    expect(state).toBe('timed_out');
    expect(sink.messages.at(-1)).toMatchObject({ state: 'timed_out', error: 'runner did not detach within duration + grace (1.1 s) after it attached, and was killed' });
  });

  it('once detached (draining), gives the runner until the end deadline to report, past duration + grace', async () => {
    const sink = recorder();
    // Symbolizing stacks on a slow host: the report comes 1.5 s after the start, past duration + grace (1.05 s).
    const slowReport: RunnerLauncher = (_start, _killAfterMs, onMessage) => {
      for (const state of ['loading', 'running', 'draining'] as const) onMessage({ type: 'state', state });
      const outcome = new Promise<typeof ok>((resolve) =>
        setTimeout(() => {
          onMessage({ type: 'done', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 }, stoppedEarly: false });
          resolve(ok);
        }, 1_500),
      );
      return { pid: 1, stop: () => {}, kill: () => {}, outcome };
    };
    expect(await new RunExecutor(sink, slowReport, null, () => {}).execute(quick(0))).toBe('succeeded');
    expect(sink.messages.at(-1)).toMatchObject({ type: 'summary', state: 'succeeded' });
  });

  it('marks a program this daemon does not know unsupported', async () => {
    const sink = recorder();
    const executor = new RunExecutor(sink, fakeLauncher([], ok, {}), null, () => {}, () => 0);
    expect(await executor.execute({ ...dispatch, program: 'nosuch' })).toBe('unsupported');
  });
});

describe('summarize', () => {
  it.each([
    [{ ...ok, exitCode: null, signal: 'SIGKILL' as const }, undefined, 'failed', 'runner was killed by SIGKILL before reporting results'],
    [{ ...ok, exitCode: null, signal: 'SIGKILL' as const, killedByWatchdog: true }, undefined, 'timed_out', 'runner did not detach by its end deadline and was killed'],
    [{ ...ok, exitCode: 3, stderrTail: 'a\nb\nc\nboom' }, undefined, 'failed', 'runner exited with code 3 before reporting results: b | c | boom'],
    [ok, { type: 'failed' as const, error: 'verifier rejected the program: R1 !read_ok', verifierLog: 'log' }, 'failed', 'verifier rejected the program: R1 !read_ok'],
    [ok, { type: 'failed' as const, error: 'needs fentry', unsupported: true }, 'unsupported', 'needs fentry'],
  ])('%j + %j → %s', (outcome, ending, state, error) => {
    const summary = summarize('r', 1, outcome, ending, undefined);
    expect(summary.state).toBe(state);
    expect(summary.error).toBe(error);
  });

  it('ends timed_out with the watchdog\'s cause, and a runner that gave up on its start allowance timed_out too', () => {
    const killed = { ...ok, exitCode: null, signal: 'SIGKILL' as const, killedByWatchdog: true };
    expect(summarize('r', 1, killed, undefined, 'the cause')).toMatchObject({ state: 'timed_out', error: 'the cause' });
    const gaveUp = { type: 'failed' as const, error: 'bpftrace did not compile and attach its probes within its start allowance (39 s)', timedOut: true };
    expect(summarize('r', 1, ok, gaveUp, undefined)).toMatchObject({ state: 'timed_out', error: gaveUp.error });
  });

  it('ends a run that exceeded its overhead budget budget_exceeded, with its results, limits and measured overhead', () => {
    const limitsReport = { mapMemoryBytes: 1 << 26, mapMemoryEstimateBytes: 8192, eventsPerSecond: 10_000, overheadBudgetPercent: 2, overheadWindowMs: 1000, maxEventsPerOutput: 100 };
    const overhead = { measured: true, peakCpuPercent: 12.5, meanCpuPercent: 11, bpfRunTimeNs: 1.1e8, bpfRunCount: 900, windowMs: 1000, samples: 5, budgetExceeded: true };
    const ending: RunnerMessage = {
      type: 'done',
      outputs: [],
      events: [],
      counters: { events: 3, lostEvents: 0, droppedEvents: 0, droppedByRate: 7 },
      stoppedEarly: false,
      limits: limitsReport,
      overhead,
      budgetExceeded: 'BPF programs used 12.5 % of one CPU over 1 s, over the run\'s overhead budget of 2 %; the runner detached after 1.0 s',
    };
    expect(summarize('r', 1, ok, ending, undefined)).toEqual({
      type: 'summary',
      runId: 'r',
      at: 1,
      state: 'budget_exceeded',
      error: ending.budgetExceeded,
      outputs: [],
      events: [],
      counters: { events: 3, lostEvents: 0, droppedEvents: 0, droppedByRate: 7 },
      limits: limitsReport,
      overhead,
    });
    const within = summarize('r', 1, ok, { ...ending, budgetExceeded: undefined, overhead: { ...overhead, budgetExceeded: false } }, undefined);
    expect(within).toMatchObject({ state: 'succeeded', overhead: { budgetExceeded: false }, limits: limitsReport });
    expect(within.error).toBeUndefined();
  });

  it('reports the limits of a run that failed on them', () => {
    const limitsReport = { mapMemoryBytes: 4096, mapMemoryEstimateBytes: 1 << 20, eventsPerSecond: 10, overheadBudgetPercent: 2, overheadWindowMs: 1000, maxEventsPerOutput: 100 };
    expect(summarize('r', 1, ok, { type: 'failed', error: 'maps of ...', limits: limitsReport }, undefined)).toMatchObject({ state: 'failed', limits: limitsReport });
  });

  it('carries the warnings of a run that ended well, capped as a summary carries them', () => {
    const done: RunnerMessage = { type: 'done', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 }, stoppedEarly: false };
    const warnings = Array.from({ length: 25 }, (_, i) => `WARNING: could not attach probe kprobe:f${i}, skipping.`);
    expect(summarize('r', 1, ok, { ...done, warnings }, undefined).warnings).toEqual({ first: warnings.slice(0, 20), distinct: 25 });
    expect(summarize('r', 1, ok, done, undefined)).not.toHaveProperty('warnings');
  });

  it('carries the verifier log of a rejected program', () => {
    expect(summarize('r', 1, ok, { type: 'failed', error: 'x', verifierLog: 'the log' }, undefined).verifierLog).toBe('the log');
  });
});
