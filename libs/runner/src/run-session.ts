import { MapMemoryLimitError, type ProgramStats } from '@fleettrace/bpf-loader';
import type { AggregateOutput, EventRecord, EventsSummary, LimitNotApplied, RunLimits, RunLimitsReport, RunOverhead } from '@fleettrace/contracts';
import { EventBuffer } from './event-buffer';
import { EventsRateLimiter } from './events-rate';
import { OverheadGuard } from './overhead-guard';
import { capOutputs } from './output-caps';
import { sendLiveSnapshots } from './live-snapshots';
import type { RunnerMessage, RunnerStart } from './protocol';

/** Records per IPC message: large enough to amortise, small enough to stream while the run goes on. */
const EVENTS_FLUSH_AT = 500;

export class UnsupportedProgramError extends Error {}
/** The run did not start (compile, load, attach) within its start allowance: it ends `timed_out`, saying which step overran. */
export class StartAllowanceError extends Error {}

/** A run that failed before load because of its limits (map memory); the summary reports them. */
export class RunLimitError extends Error {
  constructor(
    message: string,
    readonly limits: RunLimitsReport,
  ) {
    super(message);
  }
}

/** How the run's wait ended: its duration elapsed, a stop was asked, the overhead budget was exceeded, or the program ended by itself. */
export type RunEnd = 'elapsed' | 'stopped' | 'budget' | 'exited';

/** One events output of the run, as the session gives it to an adapter. */
export interface EventsSink {
  /**
   * How many of `count` records arriving now to decode and `add`, the first ones: the run's
   * events-per-second limit and the output's cap count the others without their being decoded.
   */
  admit(count: number): number;
  add(record: EventRecord): void;
}

/** What the session offers an adapter while it loads and runs. */
export interface SessionContext {
  readonly start: RunnerStart;
  readonly limits: RunLimits;
  /**
   * Opens an events output. `kernelRateLimited`: the program applies the run's events-per-second
   * limit itself, before the ring buffer (the catalog's common limiter), so the runner does not.
   */
  openEvents(name: string, timeField: string, options?: { kernelRateLimited?: boolean }): EventsSink;
  /** Sends the aggregate outputs as they stand (a program that prints its own, like bpftrace), capped as the final ones are. */
  sendSnapshot(outputs: AggregateOutput[]): void;
}

/** What loading found out about the limits the kind can apply before anything runs. */
export interface LoadResult {
  /** The map-memory limit: applied against this estimate, or not applicable to the kind, and why. */
  mapMemory: { estimateBytes: number } | { notApplied: string };
}

/** What a program kind ends with, once detached and drained. */
export interface AdapterResult {
  outputs: AggregateOutput[];
  lostEvents: number;
  /** Events the kernel dropped past the events-per-second limit (catalog objects with the common limiter). */
  droppedByRateInKernel?: number;
  scope?: 'cgroup' | 'host';
  warnings?: string[];
}

/**
 * What differs between program kinds (catalog, bpftrace, C); everything else about a run — states,
 * the limits, waiting, draining, the summary — is the session's (runSession).
 */
export interface RunAdapter {
  /** Compiles the program on the host when its kind needs it (state `compiling`). */
  compile?(): Promise<void>;
  /**
   * Loads the program (state `loading`) and opens its events outputs through the context. A load
   * over the map-memory limit throws the loader's MapMemoryLimitError.
   */
  load(context: SessionContext): Promise<LoadResult> | LoadResult;
  /** Attaches: 'attached', or 'ended' when the program ended before it attached (bpftrace exited). */
  attach(): Promise<'attached' | 'ended'> | 'attached';
  /** How long attaching may take before the run gives up on it (bpftrace compiles first); the duration runs from the attach. */
  readonly attachTimeoutMs?: number;
  /** The run time of the run's BPF programs so far, for the overhead guard. */
  programStats(): ProgramStats[];
  /** Resolves when the program ends by itself before its duration (bpftrace's exit()). */
  readonly ended?: Promise<void>;
  /** The aggregate outputs as they stand, for live snapshots; absent when the program sends its own. */
  readOutputs?(): AggregateOutput[];
  /** Stops new events and lets what was submitted arrive (links closed, ring buffers drained; bpftrace told to stop and print). */
  detach(how: RunEnd): Promise<void>;
  /** The outputs and the kind's own counters, after detach; throws when the run failed after all. */
  finish(how: RunEnd): Promise<AdapterResult> | AdapterResult;
  /** Frees everything; called on every path, once. */
  close(): Promise<void> | void;
}

/**
 * One run, whatever its kind: compile → load → attach → stream → wait → drain → summary, with the
 * run's limits applied the same way to every kind (issue 14, item 2): map memory at load where the
 * kind can, events per second and the per-output caps on what the runner keeps, the overhead
 * budget through the programs' BPF run time. The summary's limits report says which applied.
 * Sends states, events and snapshots through `send`, and ends with `done`; throws when the run failed.
 */
export async function runSession(
  start: RunnerStart,
  adapter: RunAdapter,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  options: { nowNs?: () => number; guard?: (stats: () => ProgramStats[], onExceeded: () => void) => OverheadGuard } = {},
): Promise<void> {
  const { limits } = start;
  const events = new SessionEvents(start, send, new EventsRateLimiter(limits.eventsPerSecond, options.nowNs));
  const context: SessionContext = {
    start,
    limits,
    openEvents: (name, timeField, o) => events.open(name, timeField, o?.kernelRateLimited ?? false),
    sendSnapshot: (outputs) => send({ type: 'snapshot', outputs: capOutputs(outputs, limits.maxEntriesPerOutput) }),
  };
  const timers: NodeJS.Timeout[] = [];
  const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => timers.push(setTimeout(() => resolve(value), ms)));
  let guard: OverheadGuard | undefined;
  try {
    if (adapter.compile) {
      send({ type: 'state', state: 'compiling' });
      await adapter.compile();
    }
    send({ type: 'state', state: 'loading' });
    let load: LoadResult;
    try {
      load = await adapter.load(context);
    } catch (error) {
      // Refused before anything reaches the kernel, naming the largest map and the numbers.
      if (error instanceof MapMemoryLimitError) throw new RunLimitError(error.message, limitsReport(limits, { mapMemory: { estimateBytes: error.estimate.totalBytes } }));
      throw error;
    }

    let overBudget: () => void = () => {};
    const budget = new Promise<'budget'>((resolve) => (overBudget = () => resolve('budget')));
    guard = (options.guard ?? ((stats, onExceeded) => new OverheadGuard(stats, limits.overheadBudgetPercent, limits.overheadWindowMs, onExceeded)))(
      () => adapter.programStats(),
      () => overBudget(),
    );
    const stopped = stop.then(() => 'stopped' as const);
    const exited = adapter.ended ? adapter.ended.then(() => 'exited' as const) : new Promise<never>(() => {});
    const durationMs = start.durationSeconds * 1000;

    const attached = await Promise.race([Promise.resolve(adapter.attach()), stopped, after(adapter.attachTimeoutMs ?? durationMs, 'elapsed' as const)]);
    let how: RunEnd;
    if (attached === 'attached') {
      send({ type: 'state', state: 'running' });
      // The guard turns BPF stats on only now, once the run is reported running, and off the JS
      // thread: the kernel's switch for them is a static key, and flipping it patches every BPF
      // dispatch site and waits for each CPU (3-50 ms on this 2-CPU machine), which delayed the
      // first event by as much. What it misses is the programs' run time of those few ms, far less
      // than the window the budget is judged over.
      void guard.start();
      const stopLiveSnapshots = adapter.readOutputs
        ? sendLiveSnapshots(start.snapshotSeconds, () => capOutputs(adapter.readOutputs!(), limits.maxEntriesPerOutput), send)
        : () => {};
      how = await Promise.race([stopped, budget, exited, after(durationMs, 'elapsed' as const)]);
      stopLiveSnapshots();
    } else how = attached === 'ended' ? 'exited' : attached;

    // Last reading before detaching: what the programs cost while attached.
    const overhead = guard.stop();
    await adapter.detach(how);
    // Only now, as the state means: nothing of the run is attached any more. The host's watchdog
    // then gives the rest (the last events, maps, stacks to symbolize) until the run's end deadline.
    if (how !== 'exited') send({ type: 'state', state: 'draining' });
    events.flush();
    const result = await adapter.finish(how);
    const summaries = events.summaries();
    send({
      type: 'done',
      outputs: capOutputs(result.outputs, limits.maxEntriesPerOutput),
      events: summaries,
      counters: {
        events: summaries.reduce((sum, e) => sum + e.received, 0),
        lostEvents: result.lostEvents,
        droppedEvents: summaries.reduce((sum, e) => sum + e.dropped, 0),
        droppedByRate: (result.droppedByRateInKernel ?? 0) + events.droppedByRate,
      },
      stoppedEarly: how === 'stopped',
      ...(result.scope ? { scope: result.scope } : {}),
      limits: limitsReport(limits, load, events.rateLimitedIn, overhead),
      overhead,
      ...(guard.exceeded ? { budgetExceeded: guard.exceeded } : {}),
      ...(result.warnings && result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    guard?.stop();
    events.flush();
    await adapter.close();
  }
}

/** The run's events outputs: one buffer each (cap, batching), one rate limiter for all those the kernel does not limit. */
class SessionEvents {
  readonly #buffers: EventBuffer[] = [];
  #runnerLimited = 0;

  constructor(
    private readonly start: RunnerStart,
    private readonly send: (message: RunnerMessage) => void,
    private readonly rate: EventsRateLimiter,
  ) {}

  open(name: string, timeField: string, kernelRateLimited: boolean): EventsSink {
    const buffer = new EventBuffer(
      name,
      this.start.limits.maxEventsPerOutput,
      EVENTS_FLUSH_AT,
      (records) => this.send({ type: 'events', output: name, timeField, records }),
      this.start.eventsMaxDelayMs,
    );
    this.#buffers.push(buffer);
    if (!kernelRateLimited) this.#runnerLimited++;
    const rate = kernelRateLimited ? undefined : this.rate;
    return {
      admit: (count) => {
        const allowed = rate ? rate.take(count) : count;
        if (!buffer.full) return allowed;
        buffer.countDropped(allowed);
        return 0;
      },
      add: (record) => buffer.add(record),
    };
  }

  /** Where the events-per-second limit was applied: in the kernel only when every events output is limited there. */
  get rateLimitedIn(): 'kernel' | 'runner' {
    return this.#buffers.length > 0 && this.#runnerLimited === 0 ? 'kernel' : 'runner';
  }

  get droppedByRate(): number {
    return this.rate.dropped;
  }

  flush(): void {
    for (const buffer of this.#buffers) buffer.flush();
  }

  summaries(): EventsSummary[] {
    return this.#buffers.map((buffer) => buffer.summary());
  }
}

/**
 * The limits report of the summary: each limit with its value where it was applied, and in
 * `notApplied` each one that was not, with why (never a limit reported as applied that was not).
 */
export function limitsReport(limits: RunLimits, load: LoadResult, rateLimitedIn: 'kernel' | 'runner' = 'runner', overhead?: RunOverhead): RunLimitsReport {
  const notApplied: LimitNotApplied[] = [];
  const mapMemory = 'estimateBytes' in load.mapMemory ? load.mapMemory.estimateBytes : undefined;
  if ('notApplied' in load.mapMemory) notApplied.push({ limit: 'mapMemoryBytes', reason: load.mapMemory.notApplied });
  const budgetApplied = overhead === undefined || overhead.measured;
  if (!budgetApplied) notApplied.push({ limit: 'overheadBudgetPercent', reason: overhead!.note ?? 'program stats unavailable' });
  return {
    ...(mapMemory !== undefined ? { mapMemoryBytes: limits.mapMemoryBytes } : {}),
    mapMemoryEstimateBytes: mapMemory ?? null,
    eventsPerSecond: limits.eventsPerSecond,
    eventsPerSecondAppliedIn: rateLimitedIn,
    ...(budgetApplied ? { overheadBudgetPercent: limits.overheadBudgetPercent, overheadWindowMs: limits.overheadWindowMs } : {}),
    maxEventsPerOutput: limits.maxEventsPerOutput,
    maxEntriesPerOutput: limits.maxEntriesPerOutput,
    ...(notApplied.length > 0 ? { notApplied } : {}),
  };
}
