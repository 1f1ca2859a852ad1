import type { ResultMessage, RunCounters, RunDispatch, RunLimits, RunState, SummaryMessage } from '@fleettrace/contracts';
import { getProgram } from '@fleettrace/programs';
import { capRunWarnings, programLabel, runAllowanceSeconds, startAllowanceSeconds } from '@fleettrace/contracts';
import type { RunnerHandle, RunnerOutcome } from './runner-process';
import type { RunnerMessage, RunnerStart } from './protocol';

export interface ResultsSink {
  publish(message: ResultMessage): Promise<void>;
}

/** Where a host learns that the API cancelled a run it has not started yet (cancels may beat the run to the host). */
export interface CancelledRuns {
  /** The reason the run was cancelled, or undefined if it was not. */
  reasonFor(runId: string): Promise<string | undefined>;
}

export type RunnerLauncher = (start: RunnerStart, killAfterMs: number, onMessage: (message: RunnerMessage) => void) => RunnerHandle;

/** Long past any run's start: a cancel for a run this host never took is dropped then. */
const FORGET_CANCELS_AFTER_MS = 3600_000;
const NO_COUNTERS: RunCounters = { events: 0, lostEvents: 0, droppedEvents: 0 };

/** The cgroup-v2 subtree a daemon traces: its id for the kernel-side filters, its path for listing it. */
export interface CgroupScope {
  id: bigint;
  path: string;
}

/**
 * Carries one run from dispatch to its final summary on this host: the start deadline, the runner
 * process and its watchdog, and the translation of however the runner ended into a run state.
 */
/** Where a host notes the runs it has in progress (RunJournal); none by default. */
export interface RunsInProgress {
  started(runId: string): void;
  finished(runId: string): void;
}

export class RunExecutor {
  private readonly active = new Map<string, RunnerHandle>();
  /** Why each run was cancelled while this host had it, so its summary says so. */
  private readonly cancelled = new Map<string, string>();
  private readonly cancelledAt = new Map<string, number>();

  constructor(
    private readonly results: ResultsSink,
    private readonly launch: RunnerLauncher,
    private readonly scope: CgroupScope | null,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
    private readonly cancels: CancelledRuns = { reasonFor: async () => undefined },
    private readonly journal: RunsInProgress = { started: () => {}, finished: () => {} },
  ) {}

  /** Ends `failed` the runs a previous daemon of this host left unfinished (it died, and its runners with it). */
  async failLeftovers(runIds: readonly string[], reason: string): Promise<void> {
    for (const runId of runIds) {
      await this.finish(runId, 'failed', reason);
      this.journal.finished(runId);
    }
  }

  /** Ends `failed`, without starting it, a run whose dispatch this daemon cannot run as sent (see runJobProcessor). */
  refuse(runId: string, reason: string): Promise<RunState> {
    return this.finish(runId, 'failed', reason);
  }

  /** Runner PIDs by run id, for shutdown and for tests that kill a runner mid-run. */
  get runnerPids(): Map<string, number> {
    return new Map([...this.active].map(([runId, handle]) => [runId, handle.pid]));
  }

  stopAll(): void {
    for (const handle of this.active.values()) handle.stop();
  }

  /**
   * Stops a run: at once if its runner is up (it detaches and reports `cancelled` with what it saw),
   * else as soon as it starts. A cancel for a run this host never starts is forgotten after a while.
   */
  cancel(runId: string, reason: string): void {
    if (this.cancelled.has(runId)) return;
    for (const [id, at] of this.cancelledAt) if (this.now() - at > FORGET_CANCELS_AFTER_MS && !this.active.has(id)) this.forget(id);
    this.cancelled.set(runId, reason);
    this.cancelledAt.set(runId, this.now());
    const handle = this.active.get(runId);
    if (handle) {
      this.log(`run ${runId}: cancelling (${reason})`);
      handle.stop();
    }
  }

  private forget(runId: string): void {
    this.cancelled.delete(runId);
    this.cancelledAt.delete(runId);
  }

  async execute(dispatch: RunDispatch): Promise<RunState> {
    const { runId } = dispatch;
    if (this.now() > dispatch.startDeadline) {
      const late = Math.round((this.now() - dispatch.startDeadline) / 1000);
      return this.finish(runId, 'missed', `start deadline passed ${late} s before this host took the run`);
    }
    if (typeof dispatch.program === 'string' && !getProgram(dispatch.program)) {
      return this.finish(runId, 'unsupported', `program "${dispatch.program}" is not in this daemon's catalog`);
    }
    const cancelledBefore = await this.cancels.reasonFor(runId);
    if (cancelledBefore !== undefined) return this.finish(runId, 'cancelled', cancelledBefore);
    await this.publishState(runId, 'dispatched');

    // Reports are published strictly in the order the runner sent them.
    let chain = Promise.resolve();
    let seq = 0;
    let snapshots = 0;
    let ending: Extract<RunnerMessage, { type: 'done' | 'failed' }> | undefined;
    const onMessage = (message: RunnerMessage): void => {
      if (message.type === 'done' || message.type === 'failed') {
        ending = message;
        return;
      }
      const report: ResultMessage =
        message.type === 'state'
          ? { type: 'state', runId, at: this.now(), state: message.state }
          : message.type === 'snapshot'
            ? { type: 'snapshot', runId, at: this.now(), seq: snapshots++, outputs: message.outputs }
            : { type: 'events', runId, seq: seq++, output: message.output, timeField: message.timeField, records: message.records };
      chain = chain.then(() => this.results.publish(report)).catch((error) => this.log(`run ${runId}: report lost: ${String(error)}`));
    };
    // The run's allowance once started (contracts' runAllowanceSeconds, as the API computed its end
    // deadline with), never past that end deadline: the reaper gives up on the run after it.
    const allowanceMs = runAllowanceSeconds(dispatch.program, dispatch.durationSeconds, dispatch.limits) * 1000;
    const killAfterMs = Math.max(0, Math.min(allowanceMs, dispatch.endDeadline - this.now()));
    const start: RunnerStart = {
      type: 'start',
      runId,
      program: dispatch.program,
      params: dispatch.params,
      durationSeconds: dispatch.durationSeconds,
      cgroupId: this.scope === null ? null : this.scope.id.toString(),
      ...(this.scope ? { cgroupPath: this.scope.path } : {}),
      killAt: this.now() + killAfterMs,
      ...(dispatch.snapshotSeconds ? { snapshotSeconds: dispatch.snapshotSeconds } : {}),
      limits: dispatch.limits,
    };
    this.journal.started(runId);
    const handle = this.launch(start, killAfterMs, onMessage);
    this.active.set(runId, handle);
    // A cancel that came while the runner was being started.
    if (this.cancelled.has(runId)) handle.stop();
    this.log(`run ${runId}: ${programLabel(dispatch.program)} for ${dispatch.durationSeconds} s in runner pid ${handle.pid}`);
    const outcome = await handle.outcome.finally(() => this.active.delete(runId));
    await chain;
    const cancelReason = this.cancelled.get(runId);
    this.forget(runId);
    const summary = summarize(runId, this.now(), outcome, ending, dispatch, cancelReason);
    await this.results.publish(summary);
    this.journal.finished(runId);
    this.log(`run ${runId}: ${summary.state}${summary.error ? ` (${summary.error})` : ''}`);
    return summary.state;
  }

  private publishState(runId: string, state: RunState): Promise<void> {
    return this.results.publish({ type: 'state', runId, at: this.now(), state });
  }

  private async finish(runId: string, state: RunState, error: string): Promise<RunState> {
    await this.results.publish({ type: 'summary', runId, at: this.now(), state, error, outputs: [], events: [], counters: NO_COUNTERS });
    this.log(`run ${runId}: ${state} (${error})`);
    return state;
  }
}

/** The run's final state from how its runner ended: its own report first, then the way it died. */
export function summarize(
  runId: string,
  at: number,
  outcome: RunnerOutcome,
  ending: Extract<RunnerMessage, { type: 'done' | 'failed' }> | undefined,
  dispatch: Pick<RunDispatch, 'program' | 'durationSeconds'> & { limits: Pick<RunLimits, 'graceSeconds'> },
  /** Set when the API cancelled the run and this host stopped it for that. */
  cancelReason?: string,
): SummaryMessage {
  const base = { type: 'summary' as const, runId, at, outputs: [], events: [], counters: NO_COUNTERS };
  if (ending?.type === 'done' && outcome.exitCode === 0) {
    const warnings = capRunWarnings(ending.warnings);
    const measured = {
      ...(ending.limits ? { limits: ending.limits } : {}),
      ...(ending.overhead ? { overhead: ending.overhead } : {}),
      ...(warnings ? { warnings } : {}),
    };
    const results = { outputs: ending.outputs, events: ending.events, counters: ending.counters, ...measured };
    if (ending.budgetExceeded) return { ...base, state: 'budget_exceeded', error: ending.budgetExceeded, ...results };
    return {
      ...base,
      state: ending.stoppedEarly ? 'cancelled' : 'succeeded',
      ...(ending.stoppedEarly ? { error: cancelReason ?? 'stopped before its duration: the daemon is shutting down' } : {}),
      ...results,
    };
  }
  if (ending?.type === 'failed') {
    return {
      ...base,
      state: ending.unsupported ? 'unsupported' : 'failed',
      error: ending.error,
      ...(ending.verifierLog ? { verifierLog: ending.verifierLog } : {}),
      ...(ending.limits ? { limits: ending.limits } : {}),
    };
  }
  if (outcome.killedByWatchdog) {
    const limit = runAllowanceSeconds(dispatch.program, dispatch.durationSeconds, dispatch.limits);
    const within = startAllowanceSeconds(dispatch.program) > 0 ? 'start allowance + duration + grace' : 'duration + grace';
    return { ...base, state: 'timed_out', error: `runner did not detach within ${within} (${limit} s) and was killed` };
  }
  if (outcome.signal) {
    return { ...base, state: 'failed', error: `runner was killed by ${outcome.signal} before reporting results` };
  }
  const tail = outcome.stderrTail ? `: ${outcome.stderrTail.split('\n').slice(-3).join(' | ')}` : '';
  return { ...base, state: 'failed', error: `runner exited with code ${outcome.exitCode} before reporting results${tail}` };
}
