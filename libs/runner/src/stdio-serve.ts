import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setParentDeathSignal } from '@fleettrace/bpf-loader';
import type { RunnerMessage, RunnerStart } from './protocol';
import { heldKernelObjects } from './held-kernel-objects';
import { executeRun, useCoreBtfCache } from './serve';

/**
 * The runner's protocol over a byte stream, for a runner started over SSH (apps/ssh-gateway), where
 * there is no IPC channel: the same RunnerStart and RunnerMessages, one JSON document per line.
 * In: a start, then at most a `{"type":"stop"}` (detach now and report); after the run's `done` or
 * `failed` and a READY_LINE, the next start. Out: READY_LINE when it can take a start, and the
 * reports of each run.
 */
export const STOP_LINE = '{"type":"stop"}';
/**
 * Written when the runner is up (node started, the bundle and the addon loaded) and again after a
 * run that left nothing in the kernel: it takes its next start at once. The gateway starts no
 * runner for a run while one of the host's says this (apps/ssh-gateway runner-pool.ts): starting
 * node is most of a run's start over SSH.
 */
export const READY_LINE = '{"type":"ready"}';
/**
 * Runs one runner process serves before it exits: what a long-lived process may gather (heap, the
 * loader's caches) stays bounded, at the price of one node start per this many runs.
 */
export const MAX_RUNS_PER_RUNNER = 100;

/** The start line: the run, and the ms after which the runner exits whatever the run does (see exitAfterMs). */
export type StdioStart = RunnerStart & { exitAfterMs: number };

export function encodeLine(message: StdioStart | RunnerMessage | { type: 'stop' }): string {
  return `${JSON.stringify(message)}\n`;
}

export interface StdioRunnerOptions {
  input: Readable;
  output: Writable;
  /**
   * Ms a runner waits for a start, when it is up and after each run: the gateway starts runners
   * ahead of time and keeps them for the next runs, and one never used must not stay.
   */
  idleExitAfterMs: number;
  exit: (code: number) => void;
  resolveProgram?: Parameters<typeof executeRun>[3];
  /** The kernel objects the process holds after a run (heldKernelObjects); tests give their own. */
  heldObjects?: () => Record<string, number>;
}

/**
 * Runs, one at a time, served over `input`/`output`. The process must not outlive its SSH
 * session: the end of its input (sshd closes the pipes when the session ends, whichever way)
 * exits it at once, and its programs, links and maps go with its file descriptors. After a run it
 * takes another only when the run left no kernel object open (else it exits, and the kernel frees
 * them), so a program of one run can never stay attached into the next, nor past its limit.
 * Exit codes: 0 its runs reported (and no further one, or no start in time after one), 1 input ended
 * during a run or before any, 2 bad start, 3 a run's hard limit passed, 4 no start came.
 */
export function serveRunnerOverStdio(options: StdioRunnerOptions): void {
  const { input, output, exit } = options;
  const heldObjects = options.heldObjects ?? heldKernelObjects;
  let runs = 0;
  /** The run in progress: its stop. */
  let running: (() => void) | undefined;
  let timer = setTimeout(() => exit(runs === 0 ? 4 : 0), options.idleExitAfterMs);
  const write = (line: string): Promise<void> => new Promise((resolve) => output.write(line, () => resolve()));
  const report = (message: RunnerMessage): Promise<void> => write(encodeLine(message));

  const runEnded = (): void => {
    running = undefined;
    clearTimeout(timer);
    runs++;
    const held = Object.entries(heldObjects());
    if (held.length > 0) {
      // Not expected (a run closes what it loaded): exiting frees it, whatever it is.
      process.stderr.write(`fleettrace remote runner: exiting, the run left ${held.map(([kind, n]) => `${n} ${kind}`).join(', ')} open\n`);
      exit(0);
      return;
    }
    if (runs >= MAX_RUNS_PER_RUNNER) {
      exit(0);
      return;
    }
    timer = setTimeout(() => exit(0), options.idleExitAfterMs);
    void write(`${READY_LINE}\n`);
  };

  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (running) {
      if (line.trim() === STOP_LINE) running();
      return;
    }
    // A stop that crossed its run's end on the way is late, not a start.
    if (line.trim() === STOP_LINE || line.trim() === '') return;
    let start: RunnerStart;
    let exitAfterMs: number;
    try {
      ({ exitAfterMs, ...start } = JSON.parse(line) as StdioStart);
      if (start?.type !== 'start') throw new Error(`expected a start message, got ${line.slice(0, 100)}`);
      if (!Number.isInteger(exitAfterMs) || exitAfterMs < 1) throw new Error(`exitAfterMs must be a positive whole number of ms, got ${String(exitAfterMs)}`);
    } catch (error) {
      void report({ type: 'failed', error: `the runner's start message is not valid: ${error instanceof Error ? error.message : String(error)}` }).then(() => exit(2));
      return;
    }
    let requestStop: () => void = () => {};
    const stop = new Promise<void>((resolve) => (requestStop = resolve));
    running = requestStop;
    // The run's duration + grace, as the daemon's watchdog would kill it, but kept by the host
    // itself, so the limit holds when the connection to the gateway is gone.
    clearTimeout(timer);
    timer = setTimeout(() => exit(3), exitAfterMs);
    // killAt is the gateway's clock; this host's may differ: the same moment, by this host's clock.
    start = { ...start, killAt: Date.now() + exitAfterMs };
    let pending = Promise.resolve();
    const queue = (message: RunnerMessage): void => {
      pending = pending.then(() => report(message));
    };
    void executeRun(start, queue, stop, options.resolveProgram)
      .then(() => pending)
      .then(runEnded);
  });
  lines.once('close', () => exit(running || runs === 0 ? 1 : 0));
  void write(`${READY_LINE}\n`);
}

/** The remote runner process: dies with its parent (sshd's session, or sudo under it) and with its input. */
export function serveRemoteRunner(idleExitAfterMs: number): void {
  setParentDeathSignal('SIGKILL');
  useCoreBtfCache();
  const output = process.stdout;
  // The protocol owns stdout: anything printed by the way goes to stderr.
  console.log = console.info = (...args: unknown[]) => console.error(...args);
  serveRunnerOverStdio({ input: process.stdin, output, idleExitAfterMs, exit: (code) => process.exit(code) });
}
