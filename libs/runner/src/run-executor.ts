import type { ResultMessage, RunCounters, RunDispatch, RunState, SummaryMessage } from '@fleettrace/contracts';
import { getProgram } from '@fleettrace/programs';
import { capRunWarnings, programLabel, runPhases, traceContextOf, traceLogFields, watchdogCause, watchdogDeadline, type StartStep, type WatchdogDeadline } from '@fleettrace/contracts';
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
      await this.finish(runId, 'failed', reason, undefined);
      this.journal.finished(runId);
    }
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
    // The run's work continues the trace context the API sent: its log lines name the run's span,
    // and the context goes back with the run's state and summary, so the API (and a test) can tell
    // which span this host worked under.
    const { traceparent } = dispatch;
    const traced = traceparent ? { traceparent } : {};
    const fields = traceLogFields(traceContextOf(traceparent));
    const log = (line: string) => this.log(`${line}${fields}`);
    if (this.now() > dispatch.startDeadline) {
      const late = Math.round((this.now() - dispatch.startDeadline) / 1000);
      return this.finish(runId, 'missed', `start deadline passed ${late} s before this host took the run`, traceparent);
    }
    if (typeof dispatch.program === 'string' && !getProgram(dispatch.program)) {
      return this.finish(runId, 'unsupported', `program "${dispatch.program}" is not in this daemon's catalog`, traceparent);
    }
    const cancelledBefore = await this.cancels.reasonFor(runId);
    if (cancelledBefore !== undefined) return this.finish(runId, 'cancelled', cancelledBefore, traceparent);
    await this.results.publish({ type: 'state', runId, at: this.now(), state: 'dispatched', ...traced });

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
      chain = chain.then(() => this.results.publish(report)).catch((error) => log(`run ${runId}: report lost: ${String(error)}`));
    };
    // The watchdog goes by the run's deadlines as the API stored them (contracts' run-deadline.ts):
    // start allowance + grace until the program attached, then duration + grace from the attach,
    // then, once detached, the end deadline, which the launcher's own watchdog keeps as the outer limit.
    const phases = runPhases(dispatch);
    const startedAt = this.now();
    let step: StartStep = 'starting';
    let deadline = watchdogDeadline(phases, startedAt, undefined, dispatch.endDeadline);
    let killedFor: { deadline: WatchdogDeadline; step: StartStep } | undefined;
    // Set once the runner is launched (its first messages may come before).
    let killRunner: () => void = () => {};
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        killedFor = { deadline, step };
        log(`run ${runId}: ${watchdogCause(deadline, phases, step)}`);
        killRunner();
      }, Math.max(0, deadline.at - this.now()));
    };
    const observe = (message: RunnerMessage): void => {
      if (message.type === 'state' && (message.state === 'compiling' || message.state === 'loading')) step = message.state;
      if (message.type === 'state' && message.state === 'running' && deadline.phase === 'start' && !killedFor) {
        deadline = watchdogDeadline(phases, startedAt, this.now(), dispatch.endDeadline);
        arm();
      }
      // Detached: the rest of the run is reading and reporting, which may take until the end deadline.
      if (message.type === 'state' && message.state === 'draining' && deadline.phase !== 'drain' && !killedFor) {
        deadline = watchdogDeadline(phases, startedAt, undefined, dispatch.endDeadline, true);
        arm();
      }
      onMessage(message);
    };
    const killAfterMs = Math.max(0, dispatch.endDeadline - startedAt);
    const start: RunnerStart = {
      type: 'start',
      runId,
      program: dispatch.program,
      params: dispatch.params,
      durationSeconds: dispatch.durationSeconds,
      cgroupId: this.scope === null ? null : this.scope.id.toString(),
      ...(this.scope ? { cgroupPath: this.scope.path } : {}),
      // The earliest the watchdog kills once attached (watchdogDeadline): what the runner reports at
      // the end (bpftrace printing its maps) comes before it.
      killAt: startedAt + Math.min(killAfterMs, phases.startAllowanceMs + phases.durationMs + phases.graceMs),
      startAllowanceMs: phases.startAllowanceMs,
      ...(dispatch.snapshotSeconds ? { snapshotSeconds: dispatch.snapshotSeconds } : {}),
      limits: dispatch.limits,
      ...(dispatch.policy ? { policy: dispatch.policy } : {}),
    };
    this.journal.started(runId);
    const handle = this.launch(start, killAfterMs, observe);
    killRunner = () => handle.kill();
    arm();
    this.active.set(runId, handle);
    // A cancel that came while the runner was being started.
    if (this.cancelled.has(runId)) handle.stop();
    log(`run ${runId}: ${programLabel(dispatch.program)} for ${dispatch.durationSeconds} s in runner pid ${handle.pid}`);
    const outcome = await handle.outcome.finally(() => {
      clearTimeout(watchdog);
      this.active.delete(runId);
    });
    await chain;
    const cancelReason = this.cancelled.get(runId);
    this.forget(runId);
    // The launcher's outer watchdog is the end deadline, in the phase the run was in.
    const timedOut = killedFor ?? (outcome.killedByWatchdog ? { deadline: { ...deadline, endDeadline: true }, step } : undefined);
    const cause = timedOut ? watchdogCause(timedOut.deadline, phases, timedOut.step) : undefined;
    const summary = { ...summarize(runId, this.now(), { ...outcome, killedByWatchdog: cause !== undefined }, ending, cause, cancelReason), ...traced };
    await this.results.publish(summary);
    this.journal.finished(runId);
    log(`run ${runId}: ${summary.state}${summary.error ? ` (${summary.error})` : ''}`);
    return summary.state;
  }

  private async finish(runId: string, state: RunState, error: string, traceparent: string | undefined): Promise<RunState> {
    const traced = traceparent ? { traceparent } : {};
    await this.results.publish({ type: 'summary', runId, at: this.now(), state, error, outputs: [], events: [], counters: NO_COUNTERS, ...traced });
    this.log(`run ${runId}: ${state} (${error})${traceLogFields(traceContextOf(traceparent))}`);
    return state;
  }
}

/** The run's final state from how its runner ended: its own report first, then the way it died. */
export function summarize(
  runId: string,
  at: number,
  outcome: RunnerOutcome,
  ending: Extract<RunnerMessage, { type: 'done' | 'failed' }> | undefined,
  /** Why the watchdog killed the runner (contracts' watchdogCause), when it did. */
  timedOutCause: string | undefined,
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
      state: ending.unsupported ? 'unsupported' : ending.timedOut ? 'timed_out' : 'failed',
      error: ending.error,
      ...(ending.verifierLog ? { verifierLog: ending.verifierLog } : {}),
      ...(ending.limits ? { limits: ending.limits } : {}),
    };
  }
  if (outcome.killedByWatchdog) {
    return { ...base, state: 'timed_out', error: timedOutCause ?? 'runner did not detach by its end deadline and was killed' };
  }
  if (outcome.signal) {
    return { ...base, state: 'failed', error: `runner was killed by ${outcome.signal} before reporting results` };
  }
  const tail = outcome.stderrTail ? `: ${outcome.stderrTail.split('\n').slice(-3).join(' | ')}` : '';
  return { ...base, state: 'failed', error: `runner exited with code ${outcome.exitCode} before reporting results${tail}` };
}
