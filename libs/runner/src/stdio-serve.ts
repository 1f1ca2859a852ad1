import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setParentDeathSignal } from '@fleettrace/bpf-loader';
import type { RunnerMessage, RunnerStart } from './protocol';
import { executeRun, useCoreBtfCache } from './serve';

/**
 * The runner's protocol over a byte stream, for a runner started over SSH (apps/ssh-gateway), where
 * there is no IPC channel: the same RunnerStart and RunnerMessages, one JSON document per line.
 * In: the start, then at most a `{"type":"stop"}` (detach now and report). Out: the run's reports.
 */
export const STOP_LINE = '{"type":"stop"}';

/** The start line: the run, and the ms after which the runner exits whatever the run does (see exitAfterMs). */
export type StdioStart = RunnerStart & { exitAfterMs: number };

export function encodeLine(message: StdioStart | RunnerMessage | { type: 'stop' }): string {
  return `${JSON.stringify(message)}\n`;
}

export interface StdioRunnerOptions {
  input: Readable;
  output: Writable;
  /**
   * Ms a runner waits for its start: the gateway starts the next run's runner ahead of time (node's
   * start is most of a run's start over SSH), and one never used must not stay.
   */
  idleExitAfterMs: number;
  exit: (code: number) => void;
  resolveProgram?: Parameters<typeof executeRun>[3];
}

/**
 * One run, served over `input`/`output`. The process must not outlive its SSH session: the end of
 * its input (sshd closes the pipes when the session ends, whichever way) exits it at once, and its
 * programs, links and maps go with its file descriptors. Exit codes: 0 reported, 1 input ended
 * before the run reported, 2 bad start, 3 the hard limit passed, 4 no start came.
 */
export function serveRunnerOverStdio(options: StdioRunnerOptions): void {
  const { input, output, exit } = options;
  let reported = false;
  let requestStop: () => void = () => {};
  const stop = new Promise<void>((resolve) => (requestStop = resolve));
  let hardLimit = setTimeout(() => exit(4), options.idleExitAfterMs);
  const write = (message: RunnerMessage): Promise<void> => new Promise((resolve) => output.write(encodeLine(message), () => resolve()));

  let started = false;
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (started) {
      if (line.trim() === STOP_LINE) requestStop();
      return;
    }
    started = true;
    let start: RunnerStart;
    let exitAfterMs: number;
    try {
      ({ exitAfterMs, ...start } = JSON.parse(line) as StdioStart);
      if (start?.type !== 'start') throw new Error(`expected a start message, got ${line.slice(0, 100)}`);
      if (!Number.isInteger(exitAfterMs) || exitAfterMs < 1) throw new Error(`exitAfterMs must be a positive whole number of ms, got ${String(exitAfterMs)}`);
    } catch (error) {
      void write({ type: 'failed', error: `the runner's start message is not valid: ${error instanceof Error ? error.message : String(error)}` }).then(() => exit(2));
      return;
    }
    // The run's duration + grace, as the daemon's watchdog would kill it, but kept by the host
    // itself, so the limit holds when the connection to the gateway is gone.
    clearTimeout(hardLimit);
    hardLimit = setTimeout(() => exit(3), exitAfterMs);
    // killAt is the gateway's clock; this host's may differ: the same moment, by this host's clock.
    start = { ...start, killAt: Date.now() + exitAfterMs };
    let pending = Promise.resolve();
    const queue = (message: RunnerMessage): void => {
      pending = pending.then(() => write(message));
    };
    void executeRun(start, queue, stop, options.resolveProgram)
      .then(() => pending)
      .then(() => {
        reported = true;
        clearTimeout(hardLimit);
        exit(0);
      });
  });
  lines.once('close', () => {
    if (!reported) exit(1);
  });
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
