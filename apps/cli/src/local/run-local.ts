import { randomUUID } from 'node:crypto';
import { defaultRunLimits, MAX_DURATION_SECONDS, programLabel } from '@fleettrace/contracts';
import { executeRun, useCoreBtfCache, type RunnerMessage, type RunnerStart } from '@fleettrace/runner';
import { CliError, ExitCode } from '../errors';
import type { Io } from '../io';
import { interruptOnce } from '../job/interrupt';
import { printOptions } from '../output/printer';
import { printResults } from '../output/results';
import { stacksFilesOf, writeStacksFiles } from '../output/stacks-files';
import { parseDuration } from '../program/duration';
import { programFromFlags } from '../program/program-flags';
import { checkStacksFiles } from '../program/stacks-check';
import type { CommandHandler } from '../spec';
import { eventStreamFor } from '../output/event-stream';
import { ProgressReporter } from '../views/progress';
import { snapshotLines } from '../views/snapshot';
import { LOCAL_HOST, LocalEvents, localResults, localSnapshot, type LocalEnding } from './local-results';

type Ending = Extract<RunnerMessage, { type: 'done' | 'failed' }>;

/** How often the live progress line is redrawn (its clock and spinner), as a fleet run's is. */
const REDRAW_MS = 250;

/**
 * With --interval, on a terminal: the runner's latest snapshot (histograms, top counts) redrawn
 * above a progress line, the region a fleet run draws for its job; events print above it. Without
 * a terminal nothing is drawn live (a log gets the result at the end), as for a fleet run.
 */
class LocalLiveView {
  private readonly reporter: ProgressReporter;
  private ticker: NodeJS.Timeout | undefined;
  private startedAtMs = 0;
  private events = 0;

  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly durationSeconds: number | undefined,
  ) {
    this.reporter = new ProgressReporter(io.stderr);
  }

  /** The probes are attached: from now on the region is drawn. */
  start(): void {
    this.startedAtMs = Date.now();
    if (this.io.stderr.isTTY) this.ticker = setInterval(() => this.draw(), REDRAW_MS);
    this.draw();
  }

  snapshot(outputs: Parameters<typeof localSnapshot>[0]): void {
    this.reporter.setView(snapshotLines(localSnapshot(outputs, new Date()), this.io.stderr.color));
  }

  counted(records: number): void {
    this.events += records;
  }

  /** Events printed on stdout: above the region, so neither garbles the other. */
  print(text: string): void {
    this.reporter.print(this.io.stdout, text);
  }

  finish(): void {
    clearInterval(this.ticker);
    this.reporter.finish();
  }

  private draw(): void {
    if (this.startedAtMs === 0) return;
    const elapsed = Math.floor((Date.now() - this.startedAtMs) / 1000);
    const clock = this.durationSeconds === undefined ? `${elapsed}s` : `${Math.min(elapsed, this.durationSeconds)}s/${this.durationSeconds}s`;
    // Not on a terminal: no line at all (the clock alone changes; the result comes at the end).
    this.reporter.update(`${this.label} on ${LOCAL_HOST}: events ${this.events.toLocaleString('en-US')} · ${clock}`, 'running');
  }
}

function endingOf(message: Ending, seconds: number): LocalEnding {
  if (message.type === 'failed') {
    return { state: message.unsupported ? 'unsupported' : 'failed', error: message.error, outputs: [], events: [], counters: null, seconds };
  }
  return {
    state: message.budgetExceeded ? 'budget_exceeded' : 'succeeded',
    error: message.budgetExceeded ?? null,
    outputs: message.outputs,
    events: message.events,
    counters: message.counters,
    seconds,
  };
}

/**
 * `fleettrace local run`: the daemons' runner (executeRun), in this process, on this whole host.
 * Events print as they arrive; at the end (the duration, or Ctrl-C, which ends a local run as it
 * ends bpftrace: normally) the aggregates print in the same views as a fleet job's.
 */
export const localRun: CommandHandler = async (input, io: Io) => {
  const { options } = input;
  const print = printOptions(options);
  const { program, params } = programFromFlags(input, io.cwd, true);
  const durationSeconds = options.duration === undefined ? MAX_DURATION_SECONDS : parseDuration(String(options.duration));
  const intervalSeconds = options.interval === undefined ? undefined : parseDuration(String(options.interval), '--interval');
  const files = stacksFilesOf(options, io.cwd);
  checkStacksFiles(program, files);

  const label = programLabel(program);
  const runId = randomUUID();
  const start: RunnerStart = {
    type: 'start',
    runId,
    program,
    params,
    durationSeconds,
    // The whole host: no daemon's cgroup scope.
    cgroupId: null,
    // No API to resolve them: the defaults, from the one place they are set.
    limits: defaultRunLimits(),
    // Someone is watching: each event prints as its ring-buffer batch arrives, not up to 250 ms later.
    eventsMaxDelayMs: 0,
    ...(intervalSeconds === undefined ? {} : { snapshotSeconds: intervalSeconds }),
  };
  const events = new LocalEvents();
  const live = intervalSeconds === undefined ? undefined : new LocalLiveView(io, label, options.duration === undefined ? undefined : durationSeconds);
  const stream = eventStreamFor(io.stdout, print, program, { hosts: false, ...(live ? { write: (text: string) => live.print(text) } : {}) });
  let ending: Ending | undefined;
  const startedAtMs = Date.now();
  const send = (message: RunnerMessage): void => {
    switch (message.type) {
      case 'state':
        if (message.state === 'running') {
          const until = options.duration === undefined ? 'Hit Ctrl-C to end.' : `for ${durationSeconds}s; Ctrl-C ends it sooner.`;
          io.stderr.write(`Tracing ${label} on ${LOCAL_HOST} ${until}\n`);
          live?.start();
        }
        return;
      case 'events': {
        const records = events.add(message.output, message.timeField, message.records);
        live?.counted(records.length);
        stream?.add(message.output, message.timeField, records);
        return;
      }
      case 'snapshot':
        // Asked for with --interval; the final outputs come with `done`.
        live?.snapshot(message.outputs);
        return;
      default:
        ending = message;
    }
  };

  const interrupt = interruptOnce(io);
  const stop = new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve()));
  try {
    useCoreBtfCache(io.env as NodeJS.ProcessEnv);
    await executeRun(start, send, stop);
  } finally {
    live?.finish();
    interrupt.release();
  }
  if (!ending) throw new CliError(`${label} ended without reporting a result`);
  const local = endingOf(ending, (Date.now() - startedAtMs) / 1000);
  if (ending.type === 'failed') throw new CliError(`${label} ${local.state === 'unsupported' ? 'cannot run on this host' : 'failed'}: ${local.error}`);

  const { results, summaries } = localResults(runId, local, events, start.limits.maxEventsPerOutput);
  await printResults(io.stdout, print, { results, summaries, program, eventsStreamed: stream !== undefined });
  for (const note of await writeStacksFiles(files, results, label, { startedAtMs, durationSeconds: Math.round(local.seconds) })) io.stderr.write(`${note}\n`);
  // What went wrong without ending the run (a probe bpftrace skipped, a helper error), once each, as a fleet run lists them.
  const warnings = ending.type === 'done' ? new Set(ending.warnings ?? []) : new Set<string>();
  for (const warning of warnings) io.stderr.write(/warning/i.test(warning) ? `${warning}\n` : `warning: ${warning}\n`);
  if (local.state === 'budget_exceeded') {
    io.stderr.write(`${label} stopped early: ${local.error}\n`);
    return ExitCode.someHostsFailed;
  }
  return ExitCode.ok;
};
